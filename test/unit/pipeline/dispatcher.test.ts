import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { Webhook } from 'standardwebhooks';
import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDispatcher } from '../../../lambdas/dispatcher/dispatcher';
import { deliveryIdFor } from '../../../lambdas/core/ids';
import type { DeliveryMessage, SigningSecretValue, SubscriptionRecord } from '../../../lambdas/core/records';
import { generateSigningSecret } from '../../../lambdas/core/secrets';
import type { DeploymentSettingsInput } from '../../../lambdas/core/settings';
import { DeliveriesStore } from '../../../lambdas/shared/deliveries-store';
import type { HttpAttemptResult, HttpDelivery, HttpPostRequest } from '../../../lambdas/shared/http-delivery';
import { addKeyVersion } from '../../../lambdas/core/sealed-secrets';
import { sealedSecrets, testSigningSecrets, TEST_KEY_RING, TEST_KEY_RING_JSON } from '../../support/signing-key';
import { SubscriptionsStore } from '../../../lambdas/shared/subscriptions-store';
import {
  captureOutput,
  QUEUES,
  sqsEvent,
  sqsRecord,
  subscription,
  TABLES,
  testObservability,
  testSettings,
} from './harness';

const ddb = mockClient(DynamoDBDocumentClient);
const sqsMock = mockClient(SQSClient);
const secretsMock = mockClient(SecretsManagerClient);

type Responder = (request: HttpPostRequest) => HttpAttemptResult | Promise<HttpAttemptResult>;

class FakeHttp implements HttpDelivery {
  readonly requests: HttpPostRequest[] = [];
  constructor(private readonly respond: Responder) {}
  async post(request: HttpPostRequest): Promise<HttpAttemptResult> {
    this.requests.push(request);
    return this.respond(request);
  }
  async close(): Promise<void> {}
}

const answer = (statusCode: number, extra: Partial<HttpAttemptResult> = {}): HttpAttemptResult => ({
  statusCode,
  latencyMs: 12,
  responseHeaders: { 'content-type': 'text/plain' },
  responseBodyExcerpt: 'body',
  responseContentLength: 4,
  ...(statusCode >= 200 && statusCode < 300 ? {} : { errorKind: 'http', errorMessage: `endpoint answered HTTP ${statusCode}` }),
  ...extra,
});

const EVENT = { id: 'evt_1', type: 'thread.completed', timestamp: '2025-03-01T10:00:00.000Z', data: { n: 1, text: 'hé' } };

function messageFor(sub: SubscriptionRecord, overrides: Partial<DeliveryMessage> = {}): DeliveryMessage {
  return {
    v: 1,
    deliveryId: deliveryIdFor(sub.fleetId, EVENT.id, sub.id, EVENT.timestamp),
    fleetId: sub.fleetId,
    subscriptionId: sub.id,
    event: EVENT,
    reason: 'fanout',
    ...overrides,
  };
}

let secretValue: SigningSecretValue;
let output: ReturnType<typeof captureOutput>;
let clock: Date;
let order: string[];

/** The sealed value with the first ciphertext character changed. */
function alterCiphertext(sealed: string): string {
  const parts = sealed.split('.');
  parts[3] = (parts[3]!.startsWith('A') ? 'B' : 'A') + parts[3]!.slice(1);
  return parts.join('.');
}

/** Answers the subscription read with `sub`, its secrets sealed from `secretValue` at read time. */
function mockSubscription(sub: SubscriptionRecord | undefined, seal: (record: SubscriptionRecord) => SubscriptionRecord = (record) => ({ ...record, ...sealedSecrets(record.fleetId, record.id, secretValue) })): void {
  ddb.on(GetCommand, { TableName: TABLES.subscriptions }).callsFake(() => ({ Item: sub === undefined ? undefined : seal(sub) }));
}

function build(respond: Responder, settings: DeploymentSettingsInput = {}) {
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  const http = new FakeHttp(respond);
  const observability = testObservability();
  const handler = createDispatcher({
    subscriptions: new SubscriptionsStore(doc, TABLES.subscriptions),
    deliveries: new DeliveriesStore(doc, TABLES.deliveries),
    secrets: testSigningSecrets(new SecretsManagerClient({ region: 'us-east-1' })),
    sqs: new SQSClient({ region: 'us-east-1' }),
    deliveriesQueueUrl: QUEUES.deliveries,
    settings: testSettings(settings),
    http,
    userAgent: 'Hookline/9.9.9',
    ...observability,
    now: () => clock,
    random: () => 0.5,
  });
  return { handler, http, metrics: observability.metrics };
}

function deliveryUpdates() {
  return ddb.commandCalls(UpdateCommand, { TableName: TABLES.deliveries }).map((call) => call.args[0].input);
}

function subscriptionUpdates() {
  return ddb.commandCalls(UpdateCommand, { TableName: TABLES.subscriptions }).map((call) => call.args[0].input);
}

function visibilityChanges() {
  return sqsMock.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input);
}

beforeEach(() => {
  ddb.reset();
  sqsMock.reset();
  secretsMock.reset();
  order = [];
  clock = new Date();
  secretValue = { current: generateSigningSecret() };
  secretsMock.on(GetSecretValueCommand).resolves({ SecretString: TEST_KEY_RING_JSON, VersionId: 'kv-1' });
  ddb.on(UpdateCommand, { TableName: TABLES.deliveries }).callsFake(() => {
    order.push('record');
    return {};
  });
  ddb.on(UpdateCommand, { TableName: TABLES.subscriptions }).resolves({});
  ddb.on(QueryCommand).resolves({ Items: [] });
  sqsMock.on(ChangeMessageVisibilityCommand).callsFake(() => {
    order.push('visibility');
    return {};
  });
  output = captureOutput();
});

afterEach(() => {
  output.restore();
});

describe('dispatcher: a successful attempt', () => {
  it('POSTs the signed envelope, records one attempt and lets the message be deleted', async () => {
    const sub = subscription({ headers: { 'x-tenant': 't-1', 'webhook-id': 'spoofed' }, timeoutSeconds: 7 });
    mockSubscription(sub);
    const { handler, http } = build(() => answer(200));
    const record = sqsRecord(messageFor(sub), { messageId: 'm-1' });

    const response = await handler(sqsEvent(record));

    expect(response.batchItemFailures).toEqual([]);
    expect(http.requests).toHaveLength(1);
    const [request] = http.requests as [HttpPostRequest];
    const message = messageFor(sub);
    expect(request.url).toBe(sub.url);
    expect(request.timeoutMs).toBe(7_000);
    expect(request.body).toBe(
      JSON.stringify({ id: EVENT.id, type: EVENT.type, timestamp: EVENT.timestamp, fleetId: sub.fleetId, data: EVENT.data }),
    );
    expect(request.headers['webhook-id']).toBe(message.deliveryId);
    expect(request.headers['x-tenant']).toBe('t-1');
    expect(request.headers['user-agent']).toBe('Hookline/9.9.9');
    // Verified by the unmodified standardwebhooks package: the custom header did not replace webhook-id.
    expect(new Webhook(secretValue.current).verify(request.body, request.headers)).toEqual(JSON.parse(request.body));
    const timestamp = request.headers['webhook-timestamp'];
    const seed = createHmac('sha256', secretValue.current).update(`${timestamp}.${request.body}`).digest('hex');
    expect(request.headers['x-webhook-signature']).toBe(`sha256=${seed}`);

    const updates = deliveryUpdates();
    expect(updates).toHaveLength(1);
    const values = updates[0]?.ExpressionAttributeValues ?? {};
    expect(values[':status']).toBe('succeeded');
    expect(values[':key']).toBe('m-1:1');
    expect(values[':attempt']).toEqual([
      expect.objectContaining({ key: 'm-1:1', attempt: 1, statusCode: 200, latencyMs: 12, responseContentLength: 4 }),
    ]);
    expect(values[':webhookUrl']).toBe(sub.url);
    expect(visibilityChanges()).toEqual([]);
  });

  it('signs with both secrets during a rotation grace period', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const previous = generateSigningSecret();
    secretValue = {
      current: generateSigningSecret(),
      previous,
      previousExpiresAt: new Date(clock.getTime() + 3_600_000).toISOString(),
    };
    const { handler, http } = build(() => answer(204));
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    const [request] = http.requests as [HttpPostRequest];
    expect(request.headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(() => new Webhook(previous).verify(request.body, request.headers)).not.toThrow();
    expect(() => new Webhook(secretValue.current).verify(request.body, request.headers)).not.toThrow();
  });

  it('clears the failing clock when the subscription had one', async () => {
    const sub = subscription({ failingSince: new Date(clock.getTime() - 86_400_000).toISOString() });
    mockSubscription(sub);
    const { handler } = build(() => answer(200));
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    const updates = subscriptionUpdates();
    expect(updates).toHaveLength(1);
    expect(updates[0]?.UpdateExpression).toBe('REMOVE failingSince');
  });

  it('treats a duplicate attempt write as done', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const conditional = Object.assign(new Error('conditional'), { name: 'ConditionalCheckFailedException' });
    ddb.on(UpdateCommand, { TableName: TABLES.deliveries }).rejects(conditional);
    const { handler } = build(() => answer(200));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(response.batchItemFailures).toEqual([]);
    expect(visibilityChanges()).toEqual([]);
  });
});

describe('dispatcher: retries ride on SQS', () => {
  it('records pending, then sets the visibility to the next delay and reports the item', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const { handler } = build(() => answer(500));
    const record = sqsRecord(messageFor(sub), { receiveCount: 2 });
    const response = await handler(sqsEvent(record));

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(order).toEqual(['record', 'visibility']);
    const values = deliveryUpdates()[0]?.ExpressionAttributeValues ?? {};
    expect(values[':status']).toBe('pending');
    expect(values[':nextAttemptAt']).toBe(new Date(clock.getTime() + 30_000).toISOString());
    expect(values[':attempt']).toEqual([expect.objectContaining({ attempt: 2, statusCode: 500, retryInSeconds: 30 })]);
    expect(visibilityChanges()).toEqual([
      { QueueUrl: QUEUES.deliveries, ReceiptHandle: record.receiptHandle, VisibilityTimeout: 30 },
    ]);
  });

  it('honours Retry-After as a minimum, within retryAfterMaxSeconds', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const { handler } = build(() => answer(429, { retryAfterSeconds: 10_000 }), { retryAfterMaxSeconds: 600 });
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(visibilityChanges()[0]?.VisibilityTimeout).toBe(600);
  });

  it('retries network errors and timeouts', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const { handler } = build(() => ({ latencyMs: 3, responseHeaders: {}, errorKind: 'timeout', errorMessage: 'timeout: …' }));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(response.batchItemFailures).toHaveLength(1);
    expect(visibilityChanges()[0]?.VisibilityTimeout).toBe(5);
    const values = deliveryUpdates()[0]?.ExpressionAttributeValues ?? {};
    expect(values[':errorKind']).toBe('timeout');
  });

  it('at the last attempt records failed and leaves the message visible for the redrive policy', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const { handler } = build(() => answer(503));
    const record = sqsRecord(messageFor(sub), { receiveCount: 4 });
    const response = await handler(sqsEvent(record));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(deliveryUpdates()[0]?.ExpressionAttributeValues?.[':status']).toBe('failed');
    expect(visibilityChanges()[0]?.VisibilityTimeout).toBe(0);
    expect(order).toEqual(['record', 'visibility']);
  });

  it("fast-forwards past a subscription's lower maxAttempts without a POST or a write", async () => {
    const sub = subscription({ maxAttempts: 2 });
    mockSubscription(sub);
    const { handler, http } = build(() => answer(200));
    const record = sqsRecord(messageFor(sub), { receiveCount: 3 });
    const response = await handler(sqsEvent(record));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(http.requests).toHaveLength(0);
    expect(deliveryUpdates()).toHaveLength(0);
    expect(visibilityChanges()[0]?.VisibilityTimeout).toBe(0);
  });

  it("ends the round at the subscription's own last attempt", async () => {
    const sub = subscription({ maxAttempts: 2 });
    mockSubscription(sub);
    const { handler } = build(() => answer(500));
    await handler(sqsEvent(sqsRecord(messageFor(sub), { receiveCount: 2 })));
    expect(deliveryUpdates()[0]?.ExpressionAttributeValues?.[':status']).toBe('failed');
    expect(visibilityChanges()[0]?.VisibilityTimeout).toBe(0);
  });
});

describe('dispatcher: final outcomes', () => {
  it('410 disables the subscription, ends its pending deliveries and deletes the message', async () => {
    const sub = subscription();
    mockSubscription(sub);
    ddb.on(QueryCommand).resolves({ Items: [{ id: 'dlv_other' }] });
    const { handler } = build(() => answer(410));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(response.batchItemFailures).toEqual([]);
    expect(visibilityChanges()).toEqual([]);
    const updates = deliveryUpdates();
    expect(updates[0]?.ExpressionAttributeValues?.[':status']).toBe('disabled');
    // The pending one found on the status index is ended as disabled too.
    expect(updates.map((update) => update.Key)).toContainEqual({ id: 'dlv_other' });
    const disable = subscriptionUpdates().find((update) => update.UpdateExpression?.includes('enabled = :false'));
    expect(disable?.ExpressionAttributeValues?.[':reason']).toMatch(/410/);
  });

  it.each([400, 301, 404])('%i fails without retry', async (status) => {
    const sub = subscription();
    mockSubscription(sub);
    const { handler } = build(() => answer(status));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(response.batchItemFailures).toEqual([]);
    expect(deliveryUpdates()[0]?.ExpressionAttributeValues?.[':status']).toBe('failed');
    expect(visibilityChanges()).toEqual([]);
  });

  it('a blocked address fails without retry', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const { handler } = build(() => ({ latencyMs: 0, responseHeaders: {}, errorKind: 'blocked', errorMessage: 'blocked: 10.0.0.1 is private' }));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(response.batchItemFailures).toEqual([]);
    const values = deliveryUpdates()[0]?.ExpressionAttributeValues ?? {};
    expect(values[':status']).toBe('failed');
    expect(values[':errorKind']).toBe('blocked');
  });

  it('a disabled subscription ends the delivery as disabled without a POST', async () => {
    const sub = subscription({ enabled: false });
    mockSubscription(sub);
    const { handler, http } = build(() => answer(200));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(response.batchItemFailures).toEqual([]);
    expect(http.requests).toHaveLength(0);
    const values = deliveryUpdates()[0]?.ExpressionAttributeValues ?? {};
    expect(values[':status']).toBe('disabled');
    expect(values[':webhookUrl']).toBe(sub.url);
  });

  it('a deleted subscription ends the delivery as disabled, keeping the URL an earlier record had', async () => {
    mockSubscription(undefined);
    const { handler, http } = build(() => answer(200));
    const response = await handler(sqsEvent(sqsRecord(messageFor(subscription()))));
    expect(response.batchItemFailures).toEqual([]);
    expect(http.requests).toHaveLength(0);
    const update = deliveryUpdates()[0];
    expect(update?.ExpressionAttributeValues?.[':status']).toBe('disabled');
    expect(update?.UpdateExpression).toContain('webhookUrl = if_not_exists(webhookUrl, :webhookUrl)');
    expect(update?.ExpressionAttributeValues?.[':reason']).toMatch(/deleted/);
  });
});

describe('dispatcher: auto-disable', () => {
  it('starts the failing clock once, then trusts the stored start', async () => {
    const sub = subscription();
    mockSubscription(sub);
    ddb.on(UpdateCommand, { TableName: TABLES.subscriptions }).resolves({ Attributes: { failingSince: clock.toISOString() } });
    const { handler } = build(() => answer(500));
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    // The next attempt reads the subscription again, now with the clock it started.
    mockSubscription({ ...sub, failingSince: clock.toISOString() });
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    const updates = subscriptionUpdates();
    expect(updates).toHaveLength(1);
    expect(updates[0]?.UpdateExpression).toContain('failingSince = if_not_exists');
  });

  it('disables a subscription failing for longer than autoDisableAfterDays and ends the delivery', async () => {
    const since = new Date(clock.getTime() - 6 * 86_400_000).toISOString();
    const sub = subscription({ failingSince: since });
    mockSubscription(sub);
    ddb.on(UpdateCommand, { TableName: TABLES.subscriptions }).resolves({ Attributes: { failingSince: since } });
    const { handler } = build(() => answer(500), { autoDisableAfterDays: 5 });
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(response.batchItemFailures).toEqual([]);
    expect(visibilityChanges()).toEqual([]);
    expect(deliveryUpdates()[0]?.ExpressionAttributeValues?.[':status']).toBe('disabled');
    const expressions = subscriptionUpdates().map((update) => update.UpdateExpression);
    expect(expressions.some((expression) => expression?.includes('enabled = :false'))).toBe(true);
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(1);
  });

  it('does not disable when a success elsewhere restarted the clock', async () => {
    const sub = subscription({ failingSince: new Date(clock.getTime() - 6 * 86_400_000).toISOString() });
    mockSubscription(sub);
    // The stored clock was reset by another dispatcher's success: markFailing starts it now.
    ddb.on(UpdateCommand, { TableName: TABLES.subscriptions }).resolves({ Attributes: { failingSince: clock.toISOString() } });
    const { handler } = build(() => answer(500), { autoDisableAfterDays: 5 });
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(response.batchItemFailures).toHaveLength(1);
    expect(deliveryUpdates()[0]?.ExpressionAttributeValues?.[':status']).toBe('pending');
  });
});

describe('dispatcher: poison and transient failures', () => {
  it('sets a malformed message aside for the DLQ (visibility 0) without a POST', async () => {
    const { handler, http } = build(() => answer(200));
    const bad = sqsRecord('{"v":1,"deliveryId":"nope"}');
    const notJson = sqsRecord('not json');
    const response = await handler(sqsEvent(bad, notJson));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: bad.messageId }, { itemIdentifier: notJson.messageId }]);
    expect(http.requests).toHaveLength(0);
    expect(visibilityChanges().map((change) => change.VisibilityTimeout)).toEqual([0, 0]);
    const errors = output.logs().filter((line) => line.level === 'ERROR');
    expect(errors).toHaveLength(2);
    expect(String(errors[0]?.reason)).toMatch(/deliveryId/);
  });

  it.each([
    ['an altered', (sub: SubscriptionRecord) => ({ ...sub, sealedSecret: alterCiphertext(sealedSecrets(sub.fleetId, sub.id, secretValue).sealedSecret) })],
    ["another subscription's", (sub: SubscriptionRecord) => ({ ...sub, ...sealedSecrets(sub.fleetId, 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7ZZ', secretValue) })],
    ['an unknown key version of a', (sub: SubscriptionRecord) => ({ ...sub, ...sealedSecrets(sub.fleetId, sub.id, secretValue, addKeyVersion(TEST_KEY_RING)) })],
    ['an undecodable', (sub: SubscriptionRecord) => ({ ...sub, ...sealedSecrets(sub.fleetId, sub.id, { current: 'whsec_!!!' }) })],
  ])('%s signing secret records failed and sets the message aside (no retry loop)', async (_name, seal) => {
    const sub = subscription();
    mockSubscription(sub, seal);
    const { handler, http } = build(() => answer(200));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(response.batchItemFailures).toHaveLength(1);
    expect(http.requests).toHaveLength(0);
    expect(visibilityChanges()[0]?.VisibilityTimeout).toBe(0);
    const values = deliveryUpdates()[0]?.ExpressionAttributeValues ?? {};
    expect(values[':status']).toBe('failed');
    expect(output.raw()).not.toContain('whsec_!!!');
  });

  it('a failed visibility change still reports the item (it returns after the queue timeout instead)', async () => {
    const sub = subscription();
    mockSubscription(sub);
    sqsMock.on(ChangeMessageVisibilityCommand).rejects(Object.assign(new Error('expired'), { name: 'ReceiptHandleIsInvalid' }));
    const { handler } = build(() => answer(500));
    const record = sqsRecord(messageFor(sub));
    const response = await handler(sqsEvent(record));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(output.logs().some((line) => line.level === 'WARN' && String(line.message).includes('visibility'))).toBe(true);
  });

  it('a Secrets Manager outage brings the message back later, untouched', async () => {
    const sub = subscription();
    mockSubscription(sub);
    secretsMock.on(GetSecretValueCommand).rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    const { handler, http } = build(() => answer(200));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(response.batchItemFailures).toHaveLength(1);
    expect(http.requests).toHaveLength(0);
    expect(deliveryUpdates()).toHaveLength(0);
    expect(visibilityChanges()).toEqual([]);
  });

  it('a DynamoDB failure reading the subscription brings the message back later', async () => {
    ddb.on(GetCommand, { TableName: TABLES.subscriptions }).rejects(Object.assign(new Error('boom'), { name: 'InternalServerError' }));
    const { handler, http } = build(() => answer(200));
    const response = await handler(sqsEvent(sqsRecord(messageFor(subscription()))));
    expect(response.batchItemFailures).toHaveLength(1);
    expect(http.requests).toHaveLength(0);
    expect(visibilityChanges()).toEqual([]);
  });

  it('a failed attempt write after the POST brings the message back (the crash counts as an attempt)', async () => {
    const sub = subscription();
    mockSubscription(sub);
    ddb.on(UpdateCommand, { TableName: TABLES.deliveries }).rejects(Object.assign(new Error('boom'), { name: 'InternalServerError' }));
    const { handler, http } = build(() => answer(500));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(http.requests).toHaveLength(1);
    expect(response.batchItemFailures).toHaveLength(1);
    expect(visibilityChanges()).toEqual([]);
  });
});

describe('dispatcher: batches', () => {
  it('emits EMF metrics: attempts, successes, latency, and failures by error kind', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const { handler, metrics } = build((request) =>
      request.body.includes('"n":2') ? { latencyMs: 5, responseHeaders: {}, errorKind: 'connection', errorMessage: 'connection: reset' } : answer(200),
    );
    await handler(sqsEvent(sqsRecord(messageFor(sub)), sqsRecord(messageFor(sub, { event: { ...EVENT, data: { n: 2 } } }))));
    const emf = metrics.serializeMetrics() as unknown as Record<string, unknown>;
    // Repeated values of one metric are serialised as a list.
    const total = (value: unknown) => ([] as number[]).concat(value as number | number[]).reduce((sum, item) => sum + item, 0);
    expect(total(emf.attempts)).toBe(2);
    expect(total(emf.succeeded)).toBe(1);
    expect(emf.latency).toEqual(expect.arrayContaining([12, 5]));
    const byKind = output
      .raw()
      .split('\n')
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.errorKind !== undefined);
    expect(byKind).toMatchObject({ errorKind: 'connection', failed: 1 });
  });

  it('shares one GetSecretValue among the records of a batch that miss the cache', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const { handler } = build(() => answer(200));
    await handler(sqsEvent(...Array.from({ length: 6 }, () => sqsRecord(messageFor(sub)))));
    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('processes the records of a batch concurrently, with one subscription read', async () => {
    const sub = subscription();
    mockSubscription(sub);
    let inFlight = 0;
    let peak = 0;
    const { handler, http } = build(async () => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 30));
      inFlight -= 1;
      return answer(200);
    });
    const records = Array.from({ length: 5 }, () => sqsRecord(messageFor(sub)));
    const response = await handler(sqsEvent(...records));
    expect(response.batchItemFailures).toEqual([]);
    expect(http.requests).toHaveLength(5);
    expect(peak).toBe(5);
    expect(ddb.commandCalls(GetCommand, { TableName: TABLES.subscriptions })).toHaveLength(1);
  });

  it('fails only the records that failed', async () => {
    const good = subscription();
    const bad = subscription({ id: 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CE', url: 'http://hook.test/bad' });
    ddb.on(GetCommand, { TableName: TABLES.subscriptions, Key: { fleetId: good.fleetId, id: good.id } }).resolves({ Item: good });
    ddb.on(GetCommand, { TableName: TABLES.subscriptions, Key: { fleetId: bad.fleetId, id: bad.id } }).resolves({ Item: bad });
    const { handler } = build((request) => answer(request.url.endsWith('/bad') ? 500 : 200));
    const goodRecord = sqsRecord(messageFor(good));
    const badRecord = sqsRecord(messageFor(bad, { deliveryId: deliveryIdFor(bad.fleetId, EVENT.id, bad.id, EVENT.timestamp) }));
    const response = await handler(sqsEvent(goodRecord, badRecord));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: badRecord.messageId }]);
  });

  it('logs every line with the delivery, subscription and fleet ids and never a secret or signature', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const { handler, http } = build(() => answer(500));
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    const logs = output.logs();
    expect(logs.length).toBeGreaterThan(0);
    for (const line of logs) {
      expect(line).toMatchObject({ deliveryId: messageFor(sub).deliveryId, subscriptionId: sub.id, fleetId: sub.fleetId });
    }
    const raw = output.raw();
    expect(raw).not.toContain(secretValue.current.slice(6));
    const signature = http.requests[0]?.headers['webhook-signature'] ?? '';
    expect(raw).not.toContain(signature.slice(3));
  });
});
