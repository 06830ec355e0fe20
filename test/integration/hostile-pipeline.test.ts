import { PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wireApi } from '../../lambdas/api/wiring';
import { newTokenId } from '../../lambdas/core/ids';
import { formatApiToken, generateApiTokenSecret, hashTokenSecret } from '../../lambdas/core/secrets';
import { createDocumentClient } from '../../lambdas/shared/clients';
import { TokensStore } from '../../lambdas/shared/tokens-store';
import { createLambdaContext } from '../../local/lambda-context';
import { proxyEvent } from '../support/proxy-event';
import { createSubscription, queueDepth, startHarness, waitFor, type PipelineHarness } from './pipeline-helpers';

/**
 * Hostile event data end to end, on the local runtime: what the producer published reaches the
 * receiver byte for byte as signed, whichever path it came by, and an event whose numbers
 * JavaScript would change is set aside with its reason instead of being stored changed.
 */

let harness: PipelineHarness;
let api: ReturnType<typeof wireApi>;
let token: string;

/** Every kind of string SQS or a stand-in refuses, or that JSON escapes itself. */
const DATA = {
  nonCharacters: 'x\ufffe\uffffy',
  emoji: '🙂 𝄞 \u{10ffff}',
  loneSurrogates: ['\ud800', '\udfff', 'a\udbffb'],
  controls: '\u0000\u0008\u001f\u007f',
  separators: '\u2028\u2029',
  [`key \uffff 🙂`]: { nested: '\ufffe' },
  number: 12345.678,
};

beforeAll(async () => {
  harness = await startHarness();
  api = wireApi(harness.runtime.env, { resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
  const doc = createDocumentClient();
  const id = newTokenId();
  const secret = generateApiTokenSecret();
  await new TokensStore(doc, harness.runtime.tables.tokens).create({ id, secretHash: hashTokenSecret(secret), fleets: ['*'], createdAt: new Date().toISOString() });
  doc.destroy();
  token = formatApiToken(id, secret);
}, 60_000);

afterAll(async () => {
  await harness?.stop();
});

async function call(method: string, path: string, rawBody?: string) {
  const result = await api(
    proxyEvent(method, path, { authorization: `Bearer ${token}`, ...(rawBody === undefined ? {} : { rawBody }) }),
    createLambdaContext('hookline-api', 29_000),
  );
  return { status: result.statusCode, body: result.body === '' ? undefined : (JSON.parse(result.body) as any), raw: result.body };
}

async function putEntries(entries: PutEventsRequestEntry[]): Promise<void> {
  const result = await harness.eventBridge.send(new PutEventsCommand({ Entries: entries }));
  expect(result.FailedEntryCount ?? 0, JSON.stringify(result.Entries)).toBe(0);
}

describe('hostile event data through the whole pipeline', { timeout: 40_000 }, () => {
  it('API publish: the receiver gets the envelope with exactly the producer data, signed over those bytes', async () => {
    const fleetId = 'fleet-unicode-api';
    const { secret } = await createSubscription(harness, { fleetId, url: harness.receiver.endpoint('/unicode-api') });
    const published = await call('POST', `/fleets/${fleetId}/events`, JSON.stringify({ type: 'thread.completed', data: DATA, id: 'evt-u1' }));
    expect(published.status, published.raw).toBe(202);

    const [request] = await waitFor('the POST', () => (harness.receiver.at('/unicode-api').length > 0 ? harness.receiver.at('/unicode-api') : undefined));
    if (request === undefined) throw new Error('unreachable');
    const payload = new Webhook(secret.current).verify(request.body, request.headers as Record<string, string>) as { data: unknown; timestamp: string };
    expect(payload.data).toEqual(DATA);
    // Byte for byte: the envelope a receiver would build from the producer's own data.
    expect(request.body).toBe(JSON.stringify({ id: 'evt-u1', type: 'thread.completed', timestamp: payload.timestamp, fleetId, data: DATA }));
  });

  it('EventBridge publish: the same, and a replay of the range delivers it again unchanged', async () => {
    const fleetId = 'fleet-unicode-bus';
    const { subscription, secret } = await createSubscription(harness, { fleetId, url: harness.receiver.endpoint('/unicode-bus') });
    await putEntries([
      {
        EventBusName: harness.runtime.eventBus.name,
        Source: harness.runtime.settings.eventSource,
        DetailType: 'approval.requested',
        Detail: JSON.stringify({ fleetId, id: 'evt-u2', data: DATA }),
      },
    ]);
    const [request] = await waitFor('the POST', () => (harness.receiver.at('/unicode-bus').length > 0 ? harness.receiver.at('/unicode-bus') : undefined));
    if (request === undefined) throw new Error('unreachable');
    const payload = new Webhook(secret.current).verify(request.body, request.headers as Record<string, string>) as { data: unknown; timestamp: string };
    expect(request.body).toBe(JSON.stringify({ id: 'evt-u2', type: 'approval.requested', timestamp: payload.timestamp, fleetId, data: DATA }));

    const replayed = await call(
      'POST',
      `/fleets/${fleetId}/webhooks/${subscription.id}/replay`,
      JSON.stringify({ since: new Date(Date.now() - 3_600_000).toISOString(), until: new Date().toISOString() }),
    );
    expect(replayed.status, replayed.raw).toBe(202);
    const again = await waitFor('the replayed POST', () => (harness.receiver.at('/unicode-bus').length > 1 ? harness.receiver.at('/unicode-bus') : undefined));
    expect(again[1]?.body).toBe(request.body);
  });

  it('a retried attempt carries the same bytes: the message of the next attempt is escaped too', async () => {
    const fleetId = 'fleet-unicode-retry';
    const url = harness.receiver.endpoint('/unicode-retry', (index) => (index === 0 ? 503 : 204));
    await createSubscription(harness, { fleetId, url });
    const published = await call('POST', `/fleets/${fleetId}/events`, JSON.stringify({ type: 'thread.completed', data: DATA, id: 'evt-u3' }));
    expect(published.status, published.raw).toBe(202);
    const posts = await waitFor('two attempts', () => (harness.receiver.at('/unicode-retry').length >= 2 ? harness.receiver.at('/unicode-retry') : undefined), 20_000);
    const first = JSON.parse(posts[0]?.body ?? '') as { timestamp: string };
    const expected = JSON.stringify({ id: 'evt-u3', type: 'thread.completed', timestamp: first.timestamp, fleetId, data: DATA });
    expect(posts.map((post) => post.body)).toEqual([expected, expected]);
  });

  it('a bus event whose numbers JavaScript would change is dead-lettered with its reason and never stored', async () => {
    const fleetId = 'fleet-numbers-bus';
    await createSubscription(harness, { fleetId, url: harness.receiver.endpoint('/numbers-bus') });
    const dlqBefore = await queueDepth(harness.sqs, harness.runtime.queues.eventsDlqUrl);
    await putEntries([
      {
        EventBusName: harness.runtime.eventBus.name,
        Source: harness.runtime.settings.eventSource,
        DetailType: 'thread.completed',
        Detail: `{"fleetId":"${fleetId}","id":"evt-big","data":{"amount":123456789012345678901234567890,"huge":1e400}}`,
      },
    ]);
    await waitFor('the event in the events DLQ', async () =>
      (await queueDepth(harness.sqs, harness.runtime.queues.eventsDlqUrl)) > dlqBefore ? true : undefined, 20_000);
    const parked = await harness.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: harness.runtime.queues.eventsDlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 30 }),
    );
    // The producer's text is what was parked: nothing rounded on the way.
    expect((parked.Messages ?? []).some((message) => message.Body?.includes('"amount":123456789012345678901234567890'))).toBe(true);
    expect(await harness.events.get(fleetId, 'evt-big')).toBeUndefined();
    expect(harness.receiver.at('/numbers-bus')).toEqual([]);
  });
});
