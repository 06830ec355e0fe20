import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi, type ApiHandler } from '../../lambdas/api/api';
import { DeliveriesStore } from '../../lambdas/shared/deliveries-store';
import { DeliveryLog } from '../../lambdas/shared/delivery-log';
import { EventLog } from '../../lambdas/shared/event-log';
import { EventsStore } from '../../lambdas/shared/events-store';
import { ENV } from '../../lambdas/shared/environment';
import { SubscriptionsStore } from '../../lambdas/shared/subscriptions-store';
import { TokensStore } from '../../lambdas/shared/tokens-store';
import { testSigningSecrets } from '../support/sealing-key';
import { startPipeline, type Pipeline } from '../../local/pipeline';
import { proxyEvent, startApiStack, type ApiAnswer, type ApiStack } from './support/api-stack';
import { FaultReceiver } from './support/fault-receiver';
import { captureOutput, type OutputCapture } from './support/log-capture';
import { awsError, handlerClients, injectFaults, quietLogger, type HandlerClients } from './support/handlers';
import { tableResolver } from './support/resolver';
import { waitFor } from './support/subscriptions';

/**
 * AWS faults behind the API: a failed DynamoDB, Secrets Manager or SQS call is a bare 500 (no
 * internals), leaves nothing half-made that matters (no subscription without a secret, no secret
 * outside its subscription, no rotated secret the subscription does not hold), and the client's retry of the same
 * request completes it, with the event delivered once under one delivery id.
 */

let stack: ApiStack;
let pipeline: Pipeline;
let receiver: FaultReceiver;
let clients: HandlerClients;
let api: ApiHandler;
let token: string;
let output: OutputCapture;
/** Set by a test: the next matching call fails. */
let failNext: { command: string; when?: (input: Record<string, unknown>) => boolean; error: Error } | undefined;

beforeAll(async () => {
  output = captureOutput();
  receiver = new FaultReceiver();
  await receiver.start();
  const resolver = tableResolver({ localhost: ['127.0.0.1'] });
  stack = await startApiStack({ settings: { allowPrivateTargets: ['127.0.0.0/8'], retryDelaysSeconds: [1], retryJitter: 0 }, resolve: resolver, logLevel: 'WARN' });
  pipeline = startPipeline(stack.runtime, { resolver, waitTimeSeconds: 1 });
  token = (await stack.issueToken(['*'])).token;
  clients = handlerClients();
  const inject = (command: string, input: Record<string, unknown>) => {
    if (failNext === undefined || failNext.command !== command || (failNext.when !== undefined && !failNext.when(input))) return undefined;
    const { error } = failNext;
    failNext = undefined;
    return error;
  };
  injectFaults(clients.dynamodb, inject);
  injectFaults(clients.secrets, inject);
  injectFaults(clients.sqs, inject);
  const { runtime } = stack;
  api = createApi({
    settings: runtime.settings,
    subscriptions: new SubscriptionsStore(clients.doc, runtime.tables.subscriptions),
    events: new EventsStore(clients.doc, runtime.tables.events),
    deliveries: new DeliveriesStore(clients.doc, runtime.tables.deliveries),
    eventLog: new EventLog(clients.doc, runtime.tables.events),
    deliveryLog: new DeliveryLog(clients.doc, runtime.tables.deliveries),
    tokens: new TokensStore(clients.doc, runtime.tables.tokens),
    secrets: testSigningSecrets(clients.secrets, runtime.env[ENV.sealingKeySecret]),
    sqs: clients.sqs,
    queues: { eventsUrl: runtime.queues.eventsUrl, deliveriesUrl: runtime.queues.deliveriesUrl },
    logger: quietLogger('hookline-api'),
    resolve: resolver,
  });
}, 60_000);

afterAll(async () => {
  await pipeline?.stop();
  clients?.destroy();
  await stack?.stop();
  await receiver?.stop();
  output?.restore();
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
  const result = await api(proxyEvent(method, path, { ...(body === undefined ? {} : { body }), headers, authorization: `Bearer ${token}` }));
  return { status: result.statusCode, headers: {}, body: result.body === '' ? undefined : JSON.parse(result.body), raw: result.body };
}

/** The caller learns nothing but a request id; the log line with that id names the cause. */
function expectBare500(answer: ApiAnswer, injected: string): void {
  expect(answer.status).toBe(500);
  expect(answer.body).toEqual({ error: { code: 'internal', message: 'Internal error', requestId: expect.any(String) } });
  expect(answer.raw).not.toContain(injected);
  const logged = output.logLines().find((line) => line.message === 'request failed' && line.requestId === answer.body.error.requestId);
  expect(JSON.stringify(logged?.error)).toContain(injected);
}

const isPut = (table: () => string, idPrefix?: string) => (input: Record<string, unknown>) => {
  // Plain or already marshalled, depending on where in the stack the document client converts it.
  const id = (input.Item as { id?: string | { S?: string } } | undefined)?.id;
  const text = typeof id === 'string' ? id : (id?.S ?? '');
  return input.TableName === table() && (idPrefix === undefined || text.startsWith(idPrefix));
};

describe('AWS faults behind the API', () => {
  it('publish: a failed event write or queue send is a 500; the retried request delivers the event once', { timeout: 30_000 }, async () => {
    const fleet = 'api-faults-publish';
    const created = await call('POST', `/fleets/${fleet}/webhooks`, { url: receiver.endpoint('/publish-faults', () => ({ status: 200 })) });
    expect(created.status).toBe(201);
    const headers = { 'idempotency-key': 'order-42' };
    const body = { type: 'thread.completed', data: { order: 42 } };

    failNext = { command: 'PutItemCommand', when: isPut(() => stack.runtime.tables.events, 'evt_'), error: awsError('ProvisionedThroughputExceededException', 'injected-ddb') };
    expectBare500(await call('POST', `/fleets/${fleet}/events`, body, headers), 'injected-ddb');
    failNext = { command: 'SendMessageCommand', error: awsError('ServiceUnavailable', 'injected-sqs') };
    expectBare500(await call('POST', `/fleets/${fleet}/events`, body, headers), 'injected-sqs');
    const accepted = await call('POST', `/fleets/${fleet}/events`, body, headers);
    expect(accepted.status).toBe(202);
    // A repeat after success is a no-op with the same id.
    expect((await call('POST', `/fleets/${fleet}/events`, body, headers)).body.id).toBe(accepted.body.id);

    await waitFor('the delivery', () => (receiver.at('/publish-faults').length > 0 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const posts = receiver.at('/publish-faults');
    expect(posts).toHaveLength(1);
    expect(JSON.parse(posts[0]?.body ?? '{}')).toMatchObject({ id: accepted.body.id, data: { order: 42 } });
  });

  it('create: a failed record write stores nothing and leaves no secret behind; the retry works', async () => {
    const fleet = 'api-faults-create';
    failNext = { command: 'PutItemCommand', when: isPut(() => stack.runtime.tables.subscriptions), error: awsError('InternalServerError', 'injected-ddb') };
    expectBare500(await call('POST', `/fleets/${fleet}/webhooks`, { url: 'http://127.0.0.1:9/b' }), 'injected-ddb');
    expect((await stack.subscriptions.list(fleet, { limit: 10 })).items).toEqual([]);
    // The secret lives only on the record that was never written: Secrets Manager holds the key ring alone.
    const secrets = new SecretsManagerClient({});
    try {
      const listed = await secrets.send(new ListSecretsCommand({}));
      expect(listed.SecretList?.map((secret) => secret.Name)).toEqual([stack.runtime.env[ENV.sealingKeySecret]]);
    } finally {
      secrets.destroy();
    }
    const created = await call('POST', `/fleets/${fleet}/webhooks`, { url: 'http://127.0.0.1:9/c' });
    expect(created.status).toBe(201);
    expect((await stack.subscriptions.list(fleet, { limit: 10 })).items.map((item) => item.id)).toEqual([created.body.id]);
  });

  it('rotate: a failed record write keeps the old secret signing; the retry rotates', { timeout: 20_000 }, async () => {
    const fleet = 'api-faults-rotate';
    const created = await call('POST', `/fleets/${fleet}/webhooks`, { url: receiver.endpoint('/rotate-faults', () => ({ status: 200 })) });
    const before = await stack.subscriptions.get(fleet, created.body.id, true);
    failNext = { command: 'UpdateItemCommand', error: awsError('ThrottlingException', 'injected-ddb') };
    expectBare500(await call('POST', `/fleets/${fleet}/webhooks/${created.body.id}/rotate`), 'injected-ddb');
    expect((await stack.subscriptions.get(fleet, created.body.id, true))?.sealedSecret).toBe(before?.sealedSecret);

    const rotated = await call('POST', `/fleets/${fleet}/webhooks/${created.body.id}/rotate`);
    expect(rotated.status).toBe(200);
    const tested = await call('POST', `/fleets/${fleet}/webhooks/${created.body.id}/test`);
    expect(tested.status).toBe(202);
    const [post] = await waitFor('the test delivery', () => (receiver.at('/rotate-faults').length > 0 ? receiver.at('/rotate-faults') : undefined));
    for (const secret of [rotated.body.secret, created.body.secret]) {
      expect(() => new Webhook(secret).verify(post?.body ?? '', post?.headers as Record<string, string>)).not.toThrow();
    }
  });
});
