import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockAwsClient } from '../../support/aws-mock';
import { ulid } from 'ulid';
import { Webhook } from 'standardwebhooks';
import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDispatcher } from '../../../lambdas/dispatcher/dispatcher';
import type { OperatorEventDetail, OperatorEventType } from '../../../lambdas/core/operator-events';
import { deliveryIdFor } from '../../../lambdas/core/ids';
import { deliveryMessage } from '../../../lambdas/core/delivery-message';
import type { DeliveryMessage, DeliveryProgress, SigningSecretValue, SubscriptionRecord } from '../../../lambdas/core/records';
import { generateSigningSecret } from '../../../lambdas/core/secrets';
import type { DeploymentSettingsInput } from '../../../lambdas/core/settings';
import { DeliveriesStore } from '../../../lambdas/shared/deliveries-store';
import type { HttpAttemptResult, HttpDelivery, HttpPostRequest } from '../../../lambdas/shared/http-delivery';
import { addKeyVersion } from '../../../lambdas/core/sealed-secrets';
import { sealedSecrets, TEST_KEY_RING, TEST_KEY_RING_JSON, testSigningSecrets } from '../../support/sealing-key';
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
} from '../../support/handler-harness';
import { EndpointGates } from '../../../lambdas/shared/endpoint-gates';

const ddb = mockAwsClient(DynamoDBDocumentClient);
const sqsMock = mockAwsClient(SQSClient);
const secretsMock = mockAwsClient(SecretsManagerClient);

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

/** Nonces of the messages the test itself built: a message the dispatcher sends must carry none of them. */
const builtNonces = new Set<string>();

function messageFor(sub: SubscriptionRecord, overrides: Partial<DeliveryMessage> = {}): DeliveryMessage {
  const message = {
    ...deliveryMessage({
      deliveryId: deliveryIdFor(sub.fleetId, EVENT.id, sub.id, EVENT.timestamp),
      fleetId: sub.fleetId,
      subscriptionId: sub.id,
      event: EVENT,
      reason: 'fanout',
    }),
    ...overrides,
  };
  if (message.nonce !== undefined) builtNonces.add(message.nonce);
  return message;
}

/** A message body without its nonce: what a re-sent message must keep of the one it follows. */
function bare(message: DeliveryMessage): Omit<DeliveryMessage, 'nonce'> {
  const { nonce: _nonce, ...rest } = message;
  return rest;
}

let secretValue: SigningSecretValue;
let output: ReturnType<typeof captureOutput>;
let clock: Date;
let order: string[];

/** Serves `sub` with `secretValue` sealed on it as it is when read, so a test may change the secret after this. */
function mockSubscription(sub: SubscriptionRecord | undefined): void {
  ddb
    .on(GetCommand, { TableName: TABLES.subscriptions })
    .callsFake(() => ({ Item: sub === undefined ? undefined : { ...sub, ...sealedSecrets(sub.fleetId, sub.id, secretValue) } }));
}

/** Operator events the dispatcher published, in order. */
let published: { type: OperatorEventType; detail: OperatorEventDetail }[];

function build(respond: Responder, settings: DeploymentSettingsInput = {}) {
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  const http = new FakeHttp(respond);
  const observability = testObservability();
  const handler = createDispatcher({
    operatorEvents: {
      publish: async (type, detail) => {
        published.push({ type, detail });
      },
    },
    subscriptions: new SubscriptionsStore(doc, TABLES.subscriptions),
    deliveries: new DeliveriesStore(doc, TABLES.deliveries),
    gates: new EndpointGates(doc, TABLES.deliveries),
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

/** Which store call a deliveries-table UpdateItem is (they differ in what they set). */
type DeliveryWrite = 'claim' | 'record' | 'end' | 'end-pending' | 'rate' | 'slot-take' | 'slot-release';
function kindOf(input: { Key?: Record<string, unknown>; UpdateExpression?: string; ConditionExpression?: string }): DeliveryWrite {
  const expression = input.UpdateExpression ?? '';
  // The endpoint gates' items share the deliveries table under ids no delivery has.
  const id = String(input.Key?.id ?? '');
  if (id.startsWith('rate#')) return 'rate';
  if (id.startsWith('slot#')) return expression.startsWith('REMOVE') ? 'slot-release' : 'slot-take';
  if (expression.includes('leaseUntil = :lease')) return 'claim';
  if (expression.includes('lastAttemptAt = :at')) return 'record';
  return input.ConditionExpression === '#status = :pending' ? 'end-pending' : 'end';
}

function deliveryUpdates() {
  return ddb.commandCalls(UpdateCommand, { TableName: TABLES.deliveries }).map((call) => call.args[0].input);
}

function writes(kind: DeliveryWrite) {
  return deliveryUpdates().filter((input) => kindOf(input) === kind);
}

function subscriptionUpdates() {
  return ddb.commandCalls(UpdateCommand, { TableName: TABLES.subscriptions }).map((call) => call.args[0].input);
}

/** The `lastTriggeredAt` write (at most one a minute per subscription). */
function isTouch(update: { UpdateExpression?: string }): boolean {
  return update.UpdateExpression === 'SET lastTriggeredAt = :at';
}

function visibilityChanges() {
  return sqsMock.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input);
}

/** Bodies of every message the dispatcher sent, parsed, nonce included. */
function sentBodies(): DeliveryMessage[] {
  return sqsMock.commandCalls(SendMessageCommand).map((call) => JSON.parse(call.args[0].input.MessageBody ?? '') as DeliveryMessage);
}

/**
 * Next-attempt messages the dispatcher sent, with their bodies parsed and compared without the
 * nonce, after checking it: every sent message is a new message, so it carries a nonce of its own
 * (none of the received messages', none of another send's).
 */
function sent() {
  const nonces = sentBodies().map((body) => body.nonce);
  for (const nonce of nonces) {
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(builtNonces.has(nonce as string)).toBe(false);
  }
  expect(new Set(nonces).size).toBe(nonces.length);
  return sqsMock.commandCalls(SendMessageCommand).map((call) => {
    const input = call.args[0].input;
    return { queueUrl: input.QueueUrl, delaySeconds: input.DelaySeconds, body: bare(JSON.parse(input.MessageBody ?? '') as DeliveryMessage) };
  });
}

const conditionalFailure = () => Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });

/** Rounds the store reports after a successful claim (1 for the fan-out's round). */
let claimedRounds: number;
/** Claims still to refuse, and the progress the store then reads back. */
let refusals: number;

/** The next `times` claims are refused, the delivery's stored progress being `progress`. */
function refuseClaims(progress: DeliveryProgress | undefined, times = 1): void {
  refusals = times;
  ddb.on(GetCommand, { TableName: TABLES.deliveries }).resolves({ Item: progress });
}

/** Whether this second's rate tokens are left, and whether a concurrency slot is free. */
let rateTokens: boolean;
let slotsFree: boolean;
/** An error the next claim writes throw (DynamoDB trouble). */
let claimError: Error | undefined;

/** A Lambda context whose invocation has `remainingMs` left. */
function contextWith(remainingMs: number): Context {
  return { getRemainingTimeInMillis: () => remainingMs, awsRequestId: 'req-1', functionName: 'dispatcher' } as unknown as Context;
}

beforeEach(() => {
  ddb.reset();
  sqsMock.reset();
  secretsMock.reset();
  order = [];
  claimedRounds = 1;
  refusals = 0;
  rateTokens = true;
  slotsFree = true;
  claimError = undefined;
  published = [];
  clock = new Date();
  secretValue = { current: generateSigningSecret() };
  secretsMock.on(GetSecretValueCommand).resolves({ SecretString: TEST_KEY_RING_JSON, VersionId: 'kv-1' });
  ddb.on(UpdateCommand, { TableName: TABLES.deliveries }).callsFake((input) => {
    const kind = kindOf(input);
    if ((kind === 'rate' && !rateTokens) || (kind === 'slot-take' && !slotsFree)) {
      order.push(`${kind} refused`);
      throw conditionalFailure();
    }
    if (kind === 'claim' && claimError !== undefined) {
      order.push('claim failed');
      throw claimError;
    }
    if (kind === 'claim' && refusals > 0) {
      refusals -= 1;
      order.push('claim refused');
      throw conditionalFailure();
    }
    order.push(kind);
    return kind === 'claim' ? { Attributes: { rounds: claimedRounds } } : {};
  });
  ddb.on(UpdateCommand, { TableName: TABLES.subscriptions }).resolves({});
  ddb.on(QueryCommand).resolves({ Items: [] });
  sqsMock.on(ChangeMessageVisibilityCommand).callsFake(() => {
    order.push('visibility');
    return {};
  });
  sqsMock.on(SendMessageCommand).callsFake(() => {
    order.push('send');
    return { MessageId: `next-${order.length}` };
  });
  output = captureOutput();
});

afterEach(() => {
  output.restore();
});

describe('dispatcher: a successful attempt', () => {
  it('claims the attempt, POSTs the signed envelope, records it (releasing the claim) and lets the message be deleted', async () => {
    const sub = subscription({ headers: { 'x-tenant': 't-1', 'webhook-id': 'spoofed' }, timeoutSeconds: 7 });
    mockSubscription(sub);
    const { handler, http } = build(() => answer(200));
    // SQS's receive count is no longer the attempt number: the message's own (absent: 1) is.
    const record = sqsRecord(messageFor(sub), { messageId: 'm-1', receiveCount: 3 });

    const response = await handler(sqsEvent(record), contextWith(30_000));

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

    // Two writes: the claim before the POST, the record after it.
    expect(order).toEqual(['claim', 'record']);
    const [claim, written] = deliveryUpdates();
    expect(claim).toMatchObject({
      Key: { id: message.deliveryId },
      ExpressionAttributeValues: expect.objectContaining({
        ':r': '0',
        ':a': 1,
        ':h': 'm-1',
        // The invocation's deadline plus a margin for clock differences between dispatchers.
        ':lease': clock.getTime() + 30_000 + 5_000,
        ':now': clock.getTime(),
      }),
    });
    // Attempt 1 begins the round: the item may be new, or hold only earlier rounds.
    expect(claim?.ConditionExpression).toContain('#round < :r');
    const values = written?.ExpressionAttributeValues ?? {};
    expect(values[':status']).toBe('succeeded');
    expect(values[':r']).toBe('0');
    expect(values[':h']).toBe('m-1');
    expect(values[':attempt']).toEqual([
      expect.objectContaining({ round: 1, attempt: 1, code: 200, ms: 12, size: 4 }),
    ]);
    expect(values[':webhookUrl']).toBe(sub.url);
    // Only the claim's holder records, and the record releases the claim and leaves the by-status index.
    expect(written?.ConditionExpression).toContain('leaseHolder = :h');
    expect(written?.UpdateExpression).toMatch(/REMOVE .*leaseUntil, leaseHolder/);
    expect(written?.UpdateExpression).toMatch(/REMOVE .*subscriptionStatus/);
    expect(visibilityChanges()).toEqual([]);
    expect(sent()).toEqual([]);
  });

  it('without an invocation deadline, leases the claim for the default 60 s (plus the margin)', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const { handler } = build(() => answer(200));
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(writes('claim')[0]?.ExpressionAttributeValues?.[':lease']).toBe(clock.getTime() + 65_000);
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
    const updates = subscriptionUpdates().filter((update) => !isTouch(update));
    expect(updates).toHaveLength(1);
    // The streak, its error and the circuit end together.
    expect(updates[0]?.UpdateExpression).toBe('REMOVE failingSince, consecutiveFailures, lastError, circuit');
  });

  it('a success with nothing to clear writes no clearFailing', async () => {
    const sub = subscription({ lastTriggeredAt: clock.toISOString() });
    mockSubscription(sub);
    const { handler } = build(() => answer(200));
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(subscriptionUpdates()).toEqual([]);
  });

  it('a stale record (its claim ran out and another dispatcher recorded the attempt as interrupted) is left standing', async () => {
    const sub = subscription();
    mockSubscription(sub);
    ddb.on(UpdateCommand, { TableName: TABLES.deliveries }).callsFake((input) => {
      if (kindOf(input) === 'record') throw conditionalFailure();
      return { Attributes: { rounds: 1 } };
    });
    const { handler, http } = build(() => answer(500));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(http.requests).toHaveLength(1);
    expect(response.batchItemFailures).toEqual([]);
    // With and without appending to the history: both refused by the claim condition.
    expect(writes('record')).toHaveLength(2);
    // The interrupted record already went on by the schedule: no second next-attempt message.
    expect(sent()).toEqual([]);
    expect(visibilityChanges()).toEqual([]);
    expect(output.logs().some((line) => line.level === 'WARN' && String(line.message).includes('not recorded'))).toBe(true);
  });
});

describe('dispatcher: retries are delayed messages, never messages held in flight', () => {
  it('records pending, sends the next attempt with its delay and lets this message be deleted', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const { handler } = build(() => answer(500));
    const message = messageFor(sub, { attempt: 2 });
    // A high receive count (throttles, crashed batches) changes nothing: the attempt number travels in the message.
    const record = sqsRecord(message, { receiveCount: 7 });
    const response = await handler(sqsEvent(record));

    expect(response.batchItemFailures).toEqual([]);
    expect(order).toEqual(['claim', 'record', 'send']);
    // Attempt 2 follows attempt 1 of the same round; it does not begin a round.
    const claim = writes('claim')[0];
    expect(claim?.ExpressionAttributeValues).toMatchObject({ ':r': '0', ':a': 2, ':h': record.messageId });
    expect(claim?.ConditionExpression).toContain('#completed = #started AND #started < :a');
    const values = writes('record')[0]?.ExpressionAttributeValues ?? {};
    expect(values[':status']).toBe('pending');
    expect(values[':nextAttemptAt']).toBe(new Date(clock.getTime() + 30_000).toISOString());
    expect(values[':attempt']).toEqual([expect.objectContaining({ round: 1, attempt: 2, code: 500, retryIn: 30 })]);
    expect(sent()).toEqual([{ queueUrl: QUEUES.deliveries, delaySeconds: 30, body: bare({ ...message, round: '0', attempt: 3 }) }]);
    expect(visibilityChanges()).toEqual([]);
  });

  it('honours Retry-After as a minimum, within retryAfterMaxSeconds', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const { handler } = build(() => answer(429, { retryAfterSeconds: 10_000 }), { retryAfterMaxSeconds: 600 });
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(sent().map((next) => next.delaySeconds)).toEqual([600]);
    expect(writes('record')[0]?.ExpressionAttributeValues?.[':nextAttemptAt']).toBe(new Date(clock.getTime() + 600_000).toISOString());
    expect(visibilityChanges()).toEqual([]);
  });

  it('Retry-After: 86400 schedules the next attempt at the 12 h cap: a 15-minute hop carrying notBefore', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const { handler } = build(() => answer(503, { retryAfterSeconds: 86_400 }));
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    const due = new Date(clock.getTime() + 43_200_000).toISOString();
    expect(writes('record')[0]?.ExpressionAttributeValues?.[':nextAttemptAt']).toBe(due);
    expect(writes('record')[0]?.ExpressionAttributeValues?.[':attempt']).toEqual([expect.objectContaining({ retryIn: 43_200 })]);
    // SQS delays a message at most 900 s; the wait beyond is carried by notBefore, not by a visibility timeout.
    expect(sent()).toEqual([{ queueUrl: QUEUES.deliveries, delaySeconds: 900, body: bare({ ...messageFor(sub), round: '0', attempt: 2, notBefore: due }) }]);
    expect(visibilityChanges()).toEqual([]);
  });

  it('retries network errors and timeouts', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const { handler } = build(() => ({ latencyMs: 3, responseHeaders: {}, errorKind: 'timeout', errorMessage: 'timeout: …' }));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(response.batchItemFailures).toEqual([]);
    expect(sent().map((next) => [next.delaySeconds, next.body.attempt])).toEqual([[5, 2]]);
    const values = writes('record')[0]?.ExpressionAttributeValues ?? {};
    expect(values[':errorKind']).toBe('timeout');
    expect(values[':status']).toBe('pending');
  });

  it('a message that arrives before its notBefore is sent on as the next hop, without a claim or a POST', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const { handler, http } = build(() => answer(200));
    const far = new Date(clock.getTime() + 2_000_000).toISOString();
    const near = new Date(clock.getTime() + 300_000).toISOString();
    const farMessage = messageFor(sub, { round: '0', attempt: 3, notBefore: far });
    const nearMessage = messageFor(sub, { round: '0', attempt: 3, notBefore: near });
    const response = await handler(sqsEvent(sqsRecord(farMessage), sqsRecord(nearMessage)));
    expect(response.batchItemFailures).toEqual([]);
    expect(http.requests).toHaveLength(0);
    expect(deliveryUpdates()).toEqual([]);
    const hops = sent().sort((a, b) => (b.delaySeconds ?? 0) - (a.delaySeconds ?? 0));
    // Still more than 15 minutes away: another full hop, still carrying notBefore; the last hop drops it.
    const { notBefore: _dropped, ...lastHop } = nearMessage;
    expect(hops).toEqual([
      { queueUrl: QUEUES.deliveries, delaySeconds: 900, body: bare(farMessage) },
      { queueUrl: QUEUES.deliveries, delaySeconds: 300, body: bare(lastHop) },
    ]);
  });

  it('a message whose notBefore has come is attempted, and its next attempt does not inherit the old notBefore', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const { handler, http } = build(() => answer(500));
    const message = messageFor(sub, { round: '0', attempt: 2, notBefore: new Date(clock.getTime() - 1_000).toISOString() });
    await handler(sqsEvent(sqsRecord(message)));
    expect(http.requests).toHaveLength(1);
    const { notBefore: _due, ...rest } = message;
    expect(sent()).toEqual([{ queueUrl: QUEUES.deliveries, delaySeconds: 30, body: bare({ ...rest, attempt: 3 }) }]);
  });

  it('a failed send of the next attempt brings the message back; its duplicate then re-sends the next attempt with the remaining wait', async () => {
    const sub = subscription();
    mockSubscription(sub);
    sqsMock.on(SendMessageCommand).rejectsOnce(Object.assign(new Error('unavailable'), { name: 'ServiceUnavailable' }));
    const { handler, http } = build(() => answer(500));
    const record = sqsRecord(messageFor(sub), { messageId: 'm-send' });
    const first = await handler(sqsEvent(record));
    // Not deleted: the message returns after the queue's visibility timeout.
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm-send' }]);
    expect(visibilityChanges()).toEqual([]);
    expect(writes('record')[0]?.ExpressionAttributeValues?.[':status']).toBe('pending');

    // It comes back 10 s later: attempt 1 is recorded, so the claim is refused and no second POST is made.
    clock = new Date(clock.getTime() + 10_000);
    refuseClaims({ id: messageFor(sub).deliveryId, status: 'pending', round: '0', rounds: 1, started: 1, completed: 1, nextAttemptAt: new Date(clock.getTime() + 20_000).toISOString() });
    const again = await handler(sqsEvent(record));
    expect(again.batchItemFailures).toEqual([]);
    expect(http.requests).toHaveLength(1);
    // The first of these is the send that failed.
    expect(sent().slice(1)).toEqual([{ queueUrl: QUEUES.deliveries, delaySeconds: 20, body: bare({ ...messageFor(sub), round: '0', attempt: 2 }) }]);
  });

  it('at the last attempt records failed with the parked message, then bounces it (visibility 0) until the redrive policy moves it to the DLQ', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const { handler, http } = build(() => answer(503));
    const record = sqsRecord(messageFor(sub, { attempt: 4 }), { messageId: 'm-last' });
    const response = await handler(sqsEvent(record));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-last' }]);
    const values = writes('record')[0]?.ExpressionAttributeValues ?? {};
    expect(values[':status']).toBe('failed');
    expect(values[':parked']).toBe('m-last');
    expect(values).not.toHaveProperty(':nextAttemptAt');
    expect(visibilityChanges()).toEqual([{ QueueUrl: QUEUES.deliveries, ReceiptHandle: record.receiptHandle, VisibilityTimeout: 0 }]);
    // The record says failed before the message can reach the DLQ.
    expect(order).toEqual(['claim', 'record', 'visibility']);
    expect(sent()).toEqual([]);

    // Its next receives in this container cost no store call and no POST.
    const again = await handler(sqsEvent(record));
    expect(again.batchItemFailures).toEqual([{ itemIdentifier: 'm-last' }]);
    expect(deliveryUpdates()).toHaveLength(2);
    expect(http.requests).toHaveLength(1);
    expect(visibilityChanges().map((change) => change.VisibilityTimeout)).toEqual([0, 0]);
  });

  it('another container receiving the parked message judges it from the record and bounces it on, without a POST', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const { handler, http } = build(() => answer(200));
    const record = sqsRecord(messageFor(sub, { attempt: 4 }), { messageId: 'm-parked' });
    refuseClaims({ id: messageFor(sub).deliveryId, status: 'failed', round: '0', rounds: 1, started: 4, completed: 4, parkedMessageId: 'm-parked' });
    const response = await handler(sqsEvent(record));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-parked' }]);
    expect(http.requests).toHaveLength(0);
    expect(writes('record')).toEqual([]);
    expect(visibilityChanges().map((change) => change.VisibilityTimeout)).toEqual([0]);
  });

  it("ends a round past a subscription's lower maxAttempts as failed, without a POST, and sends the message on to the DLQ", async () => {
    const sub = subscription({ maxAttempts: 2 });
    mockSubscription(sub);
    const { handler, http } = build(() => answer(200));
    const message = messageFor(sub, { attempt: 3 });
    const record = sqsRecord(message, { messageId: 'm-past' });
    const response = await handler(sqsEvent(record));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-past' }]);
    expect(http.requests).toHaveLength(0);
    // Claimed first: only the message of the round in progress may end it.
    expect(order).toEqual(['claim', 'end', 'visibility']);
    expect(writes('claim')[0]?.ExpressionAttributeValues).toMatchObject({ ':a': 3, ':h': 'm-past' });
    const ended = writes('end');
    expect(ended).toHaveLength(1);
    expect(ended[0]?.ExpressionAttributeValues).toMatchObject({
      ':status': 'failed',
      ':parked': 'm-past',
      ':parkedNonce': message.nonce,
      // The claimed attempt is completed, so the claim does not read as interrupted later.
      ':claimed': 3,
      ':reason': expect.stringMatching(/maxAttempts 2/),
    });
    expect(visibilityChanges()[0]?.VisibilityTimeout).toBe(0);
  });

  it('a message of a round superseded while maxAttempts was lowered neither ends the delivery nor goes to the DLQ', async () => {
    const sub = subscription({ maxAttempts: 2 });
    mockSubscription(sub);
    // A retry request began a newer round after this message (attempt 3 of round 0) was sent.
    refuseClaims({ id: messageFor(sub).deliveryId, status: 'pending', round: ulid(), rounds: 2, started: 1, completed: 1 });
    const { handler, http } = build(() => answer(200));
    const record = sqsRecord(messageFor(sub, { attempt: 3 }), { messageId: 'm-superseded' });
    const response = await handler(sqsEvent(record));
    expect(response.batchItemFailures).toEqual([]);
    expect(http.requests).toHaveLength(0);
    expect(writes('end')).toEqual([]);
    expect(writes('record')).toEqual([]);
    expect(visibilityChanges()).toEqual([]);
    expect(sent()).toEqual([]);
  });

  it("ends the round at the subscription's own last attempt", async () => {
    const sub = subscription({ maxAttempts: 2 });
    mockSubscription(sub);
    const { handler } = build(() => answer(500));
    const record = sqsRecord(messageFor(sub, { attempt: 2 }));
    const response = await handler(sqsEvent(record));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(writes('record')[0]?.ExpressionAttributeValues).toMatchObject({ ':status': 'failed', ':parked': record.messageId });
    expect(visibilityChanges()[0]?.VisibilityTimeout).toBe(0);
    expect(sent()).toEqual([]);
  });
});

describe('dispatcher: one POST of a delivery at a time', () => {
  const progress = (overrides: Partial<DeliveryProgress>): DeliveryProgress => ({
    id: messageFor(subscription()).deliveryId,
    status: 'pending',
    round: '0',
    rounds: 1,
    started: 1,
    completed: 1,
    ...overrides,
  });

  it('a duplicate arriving while the attempt is in flight makes no POST: it looks again soon, as a new delayed message', async () => {
    const sub = subscription();
    mockSubscription(sub);
    refuseClaims(progress({ started: 1, completed: 0, leaseUntil: clock.getTime() + 20_000, leaseHolder: 'm-other' }));
    const { handler, http } = build(() => answer(200));
    const record = sqsRecord(messageFor(sub), { messageId: 'm-dup' });
    const response = await handler(sqsEvent(record));
    // Deleted, not held by visibility: its receives would count towards the DLQ while the other POST runs.
    expect(response.batchItemFailures).toEqual([]);
    expect(http.requests).toHaveLength(0);
    expect(writes('record')).toEqual([]);
    expect(visibilityChanges()).toEqual([]);
    expect(sent()).toEqual([{ queueUrl: QUEUES.deliveries, delaySeconds: 5, body: bare(messageFor(sub)) }]);
  });

  it('a duplicate finding the other claim about to run out looks again when it does', async () => {
    const sub = subscription();
    mockSubscription(sub);
    refuseClaims(progress({ started: 1, completed: 0, leaseUntil: clock.getTime() + 1_500, leaseHolder: 'm-other' }));
    const { handler } = build(() => answer(200));
    await handler(sqsEvent(sqsRecord(messageFor(sub), { messageId: 'm-dup' })));
    expect(sent().map((message) => message.delaySeconds)).toEqual([3]);
  });

  it('a duplicate of a delivery already succeeded in its round makes no POST and is deleted', async () => {
    const sub = subscription();
    mockSubscription(sub);
    refuseClaims(progress({ status: 'succeeded' }));
    const { handler, http } = build(() => answer(200));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(response.batchItemFailures).toEqual([]);
    expect(http.requests).toHaveLength(0);
    expect(writes('record')).toEqual([]);
    expect(sent()).toEqual([]);
    expect(visibilityChanges()).toEqual([]);
  });

  it('a message of an earlier round (a retry request began a new one) is dropped', async () => {
    const sub = subscription();
    mockSubscription(sub);
    refuseClaims(progress({ round: ulid(), rounds: 2, started: 1, completed: 0 }));
    const { handler, http } = build(() => answer(200));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub, { attempt: 3 }))));
    expect(response.batchItemFailures).toEqual([]);
    expect(http.requests).toHaveLength(0);
    expect(sent()).toEqual([]);
  });

  it('an attempt whose invocation died is recorded as interrupted (it counts) and the schedule goes on', async () => {
    const sub = subscription();
    mockSubscription(sub);
    // A brand-new delivery's claim writes only the bookkeeping: no status yet.
    refuseClaims({ id: messageFor(sub).deliveryId, round: '0', rounds: 1, started: 1, completed: 0, leaseUntil: clock.getTime() - 1, leaseHolder: 'm-dead' });
    const { handler, http } = build(() => answer(200));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub), { messageId: 'm-again' })));
    expect(response.batchItemFailures).toEqual([]);
    expect(http.requests).toHaveLength(0);
    const written = writes('record')[0];
    // No holder: anyone may record an attempt whose lease ran out, and only then.
    expect(written?.ConditionExpression).toContain('leaseUntil < :nowMs');
    expect(written?.ConditionExpression).not.toContain('leaseHolder');
    expect(written?.ExpressionAttributeValues).toMatchObject({
      ':status': 'pending',
      ':r': '0',
      ':errorKind': 'interrupted',
      ':attempt': [expect.objectContaining({ round: 1, attempt: 1, kind: 'interrupted', retryIn: 5 })],
    });
    expect(sent()).toEqual([{ queueUrl: QUEUES.deliveries, delaySeconds: 5, body: bare({ ...messageFor(sub), round: '0', attempt: 2 }) }]);
    // An interruption says nothing about the endpoint: its failing clock is left alone.
    expect(subscriptionUpdates()).toEqual([]);
  });

  it('an interrupted last attempt ends the delivery failed and sends the message on to the DLQ', async () => {
    const sub = subscription();
    mockSubscription(sub);
    refuseClaims(progress({ started: 4, completed: 3, leaseUntil: clock.getTime() - 1 }));
    const { handler, http } = build(() => answer(200));
    const record = sqsRecord(messageFor(sub, { attempt: 4 }), { messageId: 'm-last-again' });
    const response = await handler(sqsEvent(record));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-last-again' }]);
    expect(http.requests).toHaveLength(0);
    expect(writes('record')[0]?.ExpressionAttributeValues).toMatchObject({ ':status': 'failed', ':parked': 'm-last-again', ':errorKind': 'interrupted' });
    expect(visibilityChanges()[0]?.VisibilityTimeout).toBe(0);
  });

  it('a retry request or replay (a new round id) claims attempt 1 of a new round and records the round number', async () => {
    const sub = subscription();
    mockSubscription(sub);
    claimedRounds = 2;
    const round = ulid();
    const { handler, http } = build(() => answer(200));
    await handler(sqsEvent(sqsRecord(messageFor(sub, { reason: 'retry', round, attempt: 1 }))));
    expect(http.requests).toHaveLength(1);
    const claim = writes('claim')[0];
    expect(claim?.ExpressionAttributeValues).toMatchObject({ ':r': round, ':a': 1, ':done': 0 });
    expect(claim?.UpdateExpression).toContain('rounds = if_not_exists(rounds, :zero) + :one');
    expect(writes('record')[0]?.ExpressionAttributeValues?.[':attempt']).toEqual([expect.objectContaining({ round: 2, attempt: 1 })]);
  });

  it('a DLQ-redriven message (the parked body under a new message id) starts a fresh round with the same delivery id', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const message = messageFor(sub, { attempt: 4 });
    refuseClaims(progress({ status: 'failed', started: 4, completed: 4, parkedMessageId: 'm-original', parkedNonce: message.nonce }));
    claimedRounds = 2;
    const { handler, http } = build(() => answer(200));
    const response = await handler(sqsEvent(sqsRecord(message, { messageId: 'm-redriven' })));
    expect(response.batchItemFailures).toEqual([]);
    expect(http.requests).toHaveLength(1);
    expect(http.requests[0]?.headers['webhook-id']).toBe(message.deliveryId);
    const [refused, claim] = writes('claim');
    expect(refused?.ExpressionAttributeValues).toMatchObject({ ':r': '0', ':a': 4 });
    // The new round's id sorts after '0'; the redriven message is remembered as its trigger.
    expect(claim?.ExpressionAttributeValues).toMatchObject({ ':r': expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/), ':a': 1, ':trigger': 'm-redriven' });
    const newRound = claim?.ExpressionAttributeValues?.[':r'] as string;
    expect(writes('record')[0]?.ExpressionAttributeValues).toMatchObject({
      ':status': 'succeeded',
      ':r': newRound,
      ':h': 'm-redriven',
      ':attempt': [expect.objectContaining({ round: 2, attempt: 1 })],
    });
  });

  it('a stray copy of a message of an exhausted round (another nonce than the parked one) makes no POST and starts no round', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const parked = messageFor(sub, { attempt: 4 });
    refuseClaims(progress({ status: 'failed', started: 4, completed: 4, parkedMessageId: 'm-original', parkedNonce: parked.nonce }));
    const { handler, http } = build(() => answer(200));
    // The same delivery and attempt, but another message: e.g. a duplicate sent before the round failed.
    const stray = messageFor(sub, { attempt: 4 });
    expect(stray.nonce).not.toBe(parked.nonce);
    const response = await handler(sqsEvent(sqsRecord(stray, { messageId: 'm-stray' })));
    expect(response.batchItemFailures).toEqual([]);
    expect(http.requests).toHaveLength(0);
    expect(writes('claim')).toHaveLength(1);
    expect(writes('record')).toEqual([]);
    expect(visibilityChanges()).toEqual([]);
    expect(sent()).toEqual([]);
  });

  it('a copy of the message of a delivery that failed for good (a 4xx, never parked) makes no POST and starts no round', async () => {
    const sub = subscription();
    mockSubscription(sub);
    refuseClaims(progress({ status: 'failed', started: 1, completed: 1 }));
    const { handler, http } = build(() => answer(200));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub), { messageId: 'm-copy' })));
    expect(response.batchItemFailures).toEqual([]);
    expect(http.requests).toHaveLength(0);
    expect(writes('claim')).toHaveLength(1);
    expect(sent()).toEqual([]);
  });

  it('a redriven message failing again continues its new round from attempt 2', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const message = messageFor(sub, { attempt: 4 });
    refuseClaims(progress({ status: 'failed', started: 4, completed: 4, parkedMessageId: 'm-original', parkedNonce: message.nonce }));
    const { handler } = build(() => answer(500));
    await handler(sqsEvent(sqsRecord(message, { messageId: 'm-redriven' })));
    const newRound = writes('claim')[1]?.ExpressionAttributeValues?.[':r'] as string;
    expect(sent()).toEqual([{ queueUrl: QUEUES.deliveries, delaySeconds: 5, body: bare({ ...messageFor(sub), round: newRound, attempt: 2 }) }]);
  });

  it('a claim refused twice (lost races) brings the message back without a POST', async () => {
    const sub = subscription();
    mockSubscription(sub);
    refuseClaims(progress({ started: 1, completed: 1 }), 2);
    const { handler, http } = build(() => answer(200));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub, { attempt: 2 }))));
    expect(response.batchItemFailures).toHaveLength(1);
    expect(http.requests).toHaveLength(0);
    expect(writes('claim')).toHaveLength(2);
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
    expect(sent()).toEqual([]);
    expect(writes('record')[0]?.ExpressionAttributeValues?.[':status']).toBe('disabled');
    // The pending one found on the status index is ended as disabled too.
    expect(writes('end-pending').map((update) => update.Key)).toEqual([{ id: 'dlv_other' }]);
    const disable = subscriptionUpdates().find((update) => update.UpdateExpression?.includes('enabled = :false'));
    expect(disable?.ExpressionAttributeValues?.[':reason']).toMatch(/410/);
  });

  it.each([400, 301, 404])('%i fails without retry and without the DLQ', async (status) => {
    const sub = subscription();
    mockSubscription(sub);
    const { handler } = build(() => answer(status));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(response.batchItemFailures).toEqual([]);
    const values = writes('record')[0]?.ExpressionAttributeValues ?? {};
    expect(values[':status']).toBe('failed');
    expect(values).not.toHaveProperty(':parked');
    expect(visibilityChanges()).toEqual([]);
    expect(sent()).toEqual([]);
  });

  it('a blocked address fails without retry', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const { handler } = build(() => ({ latencyMs: 0, responseHeaders: {}, errorKind: 'blocked', errorMessage: 'blocked: 10.0.0.1 is private' }));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(response.batchItemFailures).toEqual([]);
    const values = writes('record')[0]?.ExpressionAttributeValues ?? {};
    expect(values[':status']).toBe('failed');
    expect(values[':errorKind']).toBe('blocked');
    expect(sent()).toEqual([]);
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
  it('records every failed attempt in one write that starts the failing clock only if it is not running, and plans by the stored start', async () => {
    const sub = subscription({ lastTriggeredAt: clock.toISOString() });
    mockSubscription(sub);
    const since = new Date(clock.getTime() - 6 * 86_400_000).toISOString();
    // The store answers with the item as it is after the write: its clock started long ago by another dispatcher.
    ddb.on(UpdateCommand, { TableName: TABLES.subscriptions }).resolves({ Attributes: { ...sub, failingSince: since, consecutiveFailures: 3 } });
    const { handler } = build(() => answer(500), { autoDisableAfterDays: 5 });
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    const updates = subscriptionUpdates();
    const failures = updates.filter((update) => update.UpdateExpression?.includes('lastError = :error'));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({
      ReturnValues: 'ALL_NEW',
      UpdateExpression: expect.stringContaining('failingSince = if_not_exists(failingSince, :now)'),
      ExpressionAttributeValues: expect.objectContaining({ ':now': clock.toISOString(), ':error': 'endpoint answered HTTP 500', ':one': 1 }),
    });
    // The subscription read said nothing of a clock; the stored start (6 days > 5) disables it.
    expect(writes('record')[0]?.ExpressionAttributeValues?.[':status']).toBe('disabled');
  });

  it('a failure that does not count against the circuit (a 4xx) still runs the failing clock, without adding to the streak', async () => {
    const sub = subscription({ lastTriggeredAt: clock.toISOString() });
    mockSubscription(sub);
    ddb.on(UpdateCommand, { TableName: TABLES.subscriptions }).resolves({ Attributes: { ...sub, failingSince: clock.toISOString() } });
    const { handler } = build(() => answer(404));
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    const [failure] = subscriptionUpdates();
    expect(failure?.UpdateExpression).toContain('failingSince = if_not_exists');
    expect(failure?.UpdateExpression).not.toContain('consecutiveFailures');
    expect(failure?.ExpressionAttributeValues).not.toHaveProperty(':one');
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
    expect(sent()).toEqual([]);
    expect(writes('record')[0]?.ExpressionAttributeValues?.[':status']).toBe('disabled');
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
    expect(response.batchItemFailures).toEqual([]);
    expect(writes('record')[0]?.ExpressionAttributeValues?.[':status']).toBe('pending');
    expect(sent().map((next) => next.body.attempt)).toEqual([2]);
    expect(subscriptionUpdates().some((update) => update.UpdateExpression?.includes('enabled = :false'))).toBe(false);
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
    ['absent (a record written before sealing)', (sub: SubscriptionRecord) => ({ ...sub, sealedSecret: undefined })],
    ['malformed', (sub: SubscriptionRecord) => ({ ...sub, sealedSecret: 'v1.1.garbage' })],
    ['another subscription\'s', (sub: SubscriptionRecord) => ({ ...sub, ...sealedSecrets(sub.fleetId, 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7ZZ') })],
    ['altered', (sub: SubscriptionRecord) => ({ ...sub, sealedSecret: `${sub.sealedSecret.slice(0, -3)}${sub.sealedSecret.endsWith('AAA') ? 'BBB' : 'AAA'}` })],
    ['under an unknown key version', (sub: SubscriptionRecord) => ({ ...sub, ...sealedSecrets(sub.fleetId, sub.id, undefined, addKeyVersion(TEST_KEY_RING)) })],
    ['undecodable', (sub: SubscriptionRecord) => ({ ...sub, ...sealedSecrets(sub.fleetId, sub.id, { current: 'whsec_!!!' }) })],
  ])('a %s signing secret records failed and sets the message aside (a poison delivery, not a retry loop)', async (_name, corrupt) => {
    const sub = subscription();
    ddb.on(GetCommand, { TableName: TABLES.subscriptions }).resolves({ Item: corrupt(sub) });
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
    // An exhausted attempt: the one outcome of a POST that still changes the visibility (to 0).
    const record = sqsRecord(messageFor(sub, { attempt: 4 }));
    const response = await handler(sqsEvent(record));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(output.logs().some((line) => line.level === 'WARN' && String(line.message).includes('visibility'))).toBe(true);
  });

  it('signs with a rotated secret on the very next attempt, with no Secrets Manager call after warm-up', async () => {
    const sub = subscription();
    mockSubscription(sub);
    const { handler, http } = build(() => answer(200));
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    const first = secretValue.current;
    secretValue = { current: generateSigningSecret(), previous: first, previousExpiresAt: new Date(clock.getTime() + 3_600_000).toISOString() };
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    secretValue = { current: generateSigningSecret() };
    await handler(sqsEvent(sqsRecord(messageFor(sub)), sqsRecord(messageFor(sub))));
    const [a, b, c] = http.requests as [HttpPostRequest, HttpPostRequest, HttpPostRequest];
    expect(() => new Webhook(first).verify(a.body, a.headers)).not.toThrow();
    expect(b.headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(() => new Webhook(first).verify(b.body, b.headers)).not.toThrow();
    expect(() => new Webhook(secretValue.current).verify(c.body, c.headers)).not.toThrow();
    expect(() => new Webhook(first).verify(c.body, c.headers)).toThrow();
    // The key ring was read once, by the first delivery of this container.
    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
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

  it('a failed claim write brings the message back without a POST (it costs no attempt)', async () => {
    const sub = subscription();
    mockSubscription(sub);
    ddb.on(UpdateCommand, { TableName: TABLES.deliveries }).rejects(Object.assign(new Error('boom'), { name: 'InternalServerError' }));
    const { handler, http } = build(() => answer(200));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(http.requests).toHaveLength(0);
    expect(response.batchItemFailures).toHaveLength(1);
    expect(visibilityChanges()).toEqual([]);
    expect(sent()).toEqual([]);
  });

  it('a failed attempt write after the POST brings the message back, its claim held (the crash counts as an attempt)', async () => {
    const sub = subscription();
    mockSubscription(sub);
    ddb.on(UpdateCommand, { TableName: TABLES.deliveries }).callsFake((input) => {
      if (kindOf(input) === 'record') throw Object.assign(new Error('boom'), { name: 'InternalServerError' });
      return { Attributes: { rounds: 1 } };
    });
    const { handler, http } = build(() => answer(500));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(http.requests).toHaveLength(1);
    expect(response.batchItemFailures).toHaveLength(1);
    // Back after the queue's visibility timeout; the claim's lease keeps a duplicate from POSTing meanwhile,
    // and once it has run out the attempt is recorded as interrupted (see "one POST of a delivery at a time").
    expect(visibilityChanges()).toEqual([]);
    expect(sent()).toEqual([]);
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
    const badId = deliveryIdFor(bad.fleetId, EVENT.id, bad.id, EVENT.timestamp);
    // A retry is not a failure (its next attempt is a new message); an exhausted attempt is.
    const retryRecord = sqsRecord(messageFor(bad, { deliveryId: badId }));
    const exhaustedRecord = sqsRecord(messageFor(bad, { deliveryId: `${badId.slice(0, -1)}X`, attempt: 4 }));
    const response = await handler(sqsEvent(goodRecord, retryRecord, exhaustedRecord));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: exhaustedRecord.messageId }]);
    expect(sent().map((next) => next.body.deliveryId)).toEqual([badId]);
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

/** Which store call a subscriptions-table UpdateItem is. */
function subscriptionWrite(input: { UpdateExpression?: string; ConditionExpression?: string }): string {
  const expression = input.UpdateExpression ?? '';
  if (expression.includes('lastError = :error')) return 'recordFailure';
  if (expression.includes('circuit.probeUntil')) return 'claimProbe';
  if (expression === 'SET circuit = :circuit') return 'openCircuit';
  if (expression.startsWith('REMOVE failingSince')) return 'clearFailing';
  if (expression.includes('slowSince')) return 'setSlow';
  if (expression === 'SET lastTriggeredAt = :at') return 'touch';
  if (expression.includes('enabled = :false')) return 'disable';
  return 'other';
}

/**
 * The subscriptions table as the dispatcher finds it: `failures` is the streak after a recorded
 * failure; `probeFree` whether this dispatcher wins the probe of an open circuit.
 */
function subscriptionTable(options: { failures?: number; probeFree?: boolean } = {}): void {
  ddb.on(UpdateCommand, { TableName: TABLES.subscriptions }).callsFake((input) => {
    const kind = subscriptionWrite(input);
    if (kind === 'claimProbe' && options.probeFree === false) {
      order.push('claimProbe refused');
      throw conditionalFailure();
    }
    order.push(kind);
    if (kind === 'recordFailure') return { Attributes: { failingSince: clock.toISOString(), consecutiveFailures: options.failures ?? 1 } };
    return {};
  });
}

function subscriptionWrites(kind: string) {
  return subscriptionUpdates().filter((update) => subscriptionWrite(update) === kind);
}

/** Sums of the EMF metrics the dispatcher emitted. */
function metricTotals(metrics: ReturnType<typeof build>['metrics']): Record<string, number> {
  const emf = metrics.serializeMetrics() as unknown as Record<string, unknown>;
  const totals: Record<string, number> = {};
  for (const [name, value] of Object.entries(emf)) {
    if (typeof value === 'number' || Array.isArray(value)) totals[name] = ([] as number[]).concat(value as number | number[]).reduce((sum, item) => sum + item, 0);
  }
  return totals;
}

describe('dispatcher: circuit breaker', () => {
  const COOLDOWN = 30;
  const openCircuit = (openUntilMs: number): NonNullable<SubscriptionRecord['circuit']> => ({
    state: 'open',
    since: new Date(clock.getTime() - 120_000).toISOString(),
    openUntil: new Date(openUntilMs).toISOString(),
    cooldownSeconds: COOLDOWN,
  });

  it('an open circuit sends the same attempt back with a delay: no claim, no POST, no attempt consumed', async () => {
    const sub = subscription({ circuit: openCircuit(clock.getTime() + 10_500), consecutiveFailures: 10, lastTriggeredAt: clock.toISOString() });
    mockSubscription(sub);
    subscriptionTable();
    const { handler, http, metrics } = build(() => answer(200));
    const message = messageFor(sub, { round: '0', attempt: 3 });
    const response = await handler(sqsEvent(sqsRecord(message)));
    expect(response.batchItemFailures).toEqual([]);
    expect(http.requests).toHaveLength(0);
    expect(deliveryUpdates()).toEqual([]);
    expect(subscriptionUpdates()).toEqual([]);
    // The rest of the cool-down (10.5 s → 11) plus a spread over it (random 0.5 of 30 s).
    expect(sent()).toEqual([{ queueUrl: QUEUES.deliveries, delaySeconds: 11 + 15, body: bare(message) }]);
    expect(metricTotals(metrics).circuitOpen).toBe(1);
  });

  it('an open circuit longer than one SQS delay waits in hops carrying notBefore', async () => {
    const sub = subscription({ circuit: { ...openCircuit(clock.getTime() + 1_700_000), cooldownSeconds: 1_800 } });
    mockSubscription(sub);
    const { handler, http } = build(() => answer(200));
    const message = messageFor(sub, { round: '0', attempt: 2 });
    await handler(sqsEvent(sqsRecord(message)));
    expect(http.requests).toHaveLength(0);
    const [hop] = sent();
    expect(hop?.delaySeconds).toBe(900);
    expect(hop?.body).toEqual(bare({ ...message, notBefore: new Date(clock.getTime() + (1_700 + 900) * 1000).toISOString() }));
  });

  it('after the cool-down one dispatcher claims the probe and POSTs; its success closes the circuit, tells operators, and clears the streak', async () => {
    const sub = subscription({
      circuit: openCircuit(clock.getTime() - 1),
      consecutiveFailures: 10,
      failingSince: new Date(clock.getTime() - 3_600_000).toISOString(),
      lastError: 'endpoint answered HTTP 503',
      lastTriggeredAt: clock.toISOString(),
    });
    mockSubscription(sub);
    subscriptionTable();
    const { handler, http, metrics } = build((request) => {
      order.push('post');
      return answer(200, { responseBodyExcerpt: request.body });
    });
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))), contextWith(30_000));
    expect(response.batchItemFailures).toEqual([]);
    expect(http.requests).toHaveLength(1);
    expect(order).toEqual(['claimProbe', 'claim', 'post', 'record', 'clearFailing']);
    // The probe is held until the invocation's deadline (plus the margin), so a dead probe is replaced.
    expect(subscriptionWrites('claimProbe')[0]?.ExpressionAttributeValues).toMatchObject({ ':now': clock.getTime(), ':until': clock.getTime() + 35_000 });
    expect(subscriptionWrites('clearFailing')[0]?.UpdateExpression).toBe('REMOVE failingSince, consecutiveFailures, lastError, circuit');
    expect(metricTotals(metrics).circuitClosed).toBe(1);
    expect(published).toEqual([{ type: 'circuit.closed', detail: { fleetId: sub.fleetId, webhookId: sub.id, at: clock.toISOString() } }]);
  });

  it('a probe another dispatcher already holds: this delivery waits (a delayed message), no claim, no POST', async () => {
    const sub = subscription({ circuit: openCircuit(clock.getTime() - 1), consecutiveFailures: 10 });
    mockSubscription(sub);
    subscriptionTable({ probeFree: false });
    const { handler, http, metrics } = build(() => answer(200));
    const message = messageFor(sub, { round: '0', attempt: 2 });
    const response = await handler(sqsEvent(sqsRecord(message)));
    expect(response.batchItemFailures).toEqual([]);
    expect(http.requests).toHaveLength(0);
    expect(deliveryUpdates()).toEqual([]);
    expect(sent()).toEqual([{ queueUrl: QUEUES.deliveries, delaySeconds: 5 + 2, body: bare(message) }]);
    expect(metricTotals(metrics).circuitOpen).toBe(1);
  });

  it('a half-open circuit with a live probe makes others wait', async () => {
    const sub = subscription({ circuit: { ...openCircuit(clock.getTime() - 5_000), state: 'half-open', probeUntil: clock.getTime() + 20_000 } });
    mockSubscription(sub);
    subscriptionTable();
    const { handler, http } = build(() => answer(200));
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(http.requests).toHaveLength(0);
    expect(subscriptionWrites('claimProbe')).toEqual([]);
    expect(sent().map((next) => next.delaySeconds)).toEqual([7]);
  });

  it('a failed probe reopens the circuit from half-open with the cool-down doubled, and the delivery goes on by its schedule', async () => {
    const previous = openCircuit(clock.getTime() - 1);
    const sub = subscription({ circuit: previous, consecutiveFailures: 10, failingSince: clock.toISOString(), lastTriggeredAt: clock.toISOString() });
    mockSubscription(sub);
    subscriptionTable({ failures: 11 });
    const { handler, http, metrics } = build(() => answer(503));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(response.batchItemFailures).toEqual([]);
    expect(http.requests).toHaveLength(1);
    const [reopen] = subscriptionWrites('openCircuit');
    expect(reopen?.ConditionExpression).toBe('circuit.#state = :half');
    expect(reopen?.ExpressionAttributeValues?.[':circuit']).toEqual({
      state: 'open',
      since: previous.since,
      openUntil: new Date(clock.getTime() + 2 * COOLDOWN * 1000).toISOString(),
      cooldownSeconds: 2 * COOLDOWN,
    });
    expect(subscriptionWrites('clearFailing')).toEqual([]);
    // Not a new opening: no event, no metric.
    expect(published).toEqual([]);
    expect(metricTotals(metrics).circuitOpened).toBeUndefined();
    expect(sent().map((next) => [next.delaySeconds, next.body.attempt])).toEqual([[5, 2]]);
  });

  it('a probe answered with a 4xx (the endpoint is up) closes the circuit when no failing clock runs', async () => {
    const sub = subscription({ circuit: openCircuit(clock.getTime() - 1), consecutiveFailures: 10, lastTriggeredAt: clock.toISOString() });
    mockSubscription(sub);
    subscriptionTable();
    const { handler } = build(() => answer(400));
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(subscriptionWrites('openCircuit')).toEqual([]);
    // The circuit closes; a 4xx is still a failure, so nothing but the circuit and the count is removed.
    const closed = subscriptionUpdates().filter((update) => /REMOVE .*circuit/.test(update.UpdateExpression ?? ''));
    expect(closed).toHaveLength(1);
    expect(closed[0]?.UpdateExpression).not.toContain('failingSince');
    expect(published.map((event) => event.type)).toEqual(['circuit.closed']);
  });

  // A real open circuit always comes with failingSince (failures opened it): a 4xx probe must still close it.
  it('a probe answered with a 4xx closes the circuit even while the failing clock runs (it keeps running)', async () => {
    const sub = subscription({
      circuit: openCircuit(clock.getTime() - 1),
      consecutiveFailures: 10,
      failingSince: new Date(clock.getTime() - 3_600_000).toISOString(),
      lastTriggeredAt: clock.toISOString(),
    });
    mockSubscription(sub);
    subscriptionTable();
    const { handler } = build(() => answer(400));
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(subscriptionWrites('openCircuit')).toEqual([]);
    const closed = subscriptionUpdates().filter((update) => /REMOVE .*circuit/.test(update.UpdateExpression ?? ''));
    expect(closed).toHaveLength(1);
    expect(closed[0]?.UpdateExpression).not.toContain('failingSince');
    expect(published.map((event) => event.type)).toEqual(['circuit.closed']);
  });

  it('the failure that reaches the threshold opens the circuit from closed and tells operators', async () => {
    const sub = subscription({ consecutiveFailures: 9, lastTriggeredAt: clock.toISOString() });
    mockSubscription(sub);
    subscriptionTable({ failures: 10 });
    const { handler, metrics } = build(() => answer(503), { circuitBreakerThreshold: 10 });
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    const [opened] = subscriptionWrites('openCircuit');
    expect(opened?.ConditionExpression).toBe('attribute_exists(id) AND attribute_not_exists(circuit)');
    const nextProbeAt = new Date(clock.getTime() + COOLDOWN * 1000).toISOString();
    expect(opened?.ExpressionAttributeValues?.[':circuit']).toEqual({ state: 'open', since: clock.toISOString(), openUntil: nextProbeAt, cooldownSeconds: COOLDOWN });
    expect(metricTotals(metrics).circuitOpened).toBe(1);
    expect(published).toEqual([
      {
        type: 'circuit.opened',
        detail: { fleetId: sub.fleetId, webhookId: sub.id, reason: 'endpoint answered HTTP 503', consecutiveFailures: 10, nextProbeAt, at: clock.toISOString() },
      },
    ]);
  });

  it('below the threshold, or with the breaker off, a failure opens nothing', async () => {
    const sub = subscription({ lastTriggeredAt: clock.toISOString() });
    mockSubscription(sub);
    subscriptionTable({ failures: 9 });
    await build(() => answer(503), { circuitBreakerThreshold: 10 }).handler(sqsEvent(sqsRecord(messageFor(sub))));
    subscriptionTable({ failures: 500 });
    await build(() => answer(503), { circuitBreakerThreshold: 0 }).handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(subscriptionWrites('recordFailure')).toHaveLength(2);
    expect(subscriptionWrites('openCircuit')).toEqual([]);
    expect(published).toEqual([]);
  });
});

describe('dispatcher: rate limit and concurrency cap', () => {
  it("with this second's tokens spent, the delivery waits for the next second: no claim, no POST, same attempt", async () => {
    const sub = subscription({ rateLimitPerSecond: 1 });
    mockSubscription(sub);
    rateTokens = false;
    const { handler, http, metrics } = build(() => answer(200));
    const message = messageFor(sub, { round: '0', attempt: 2 });
    const response = await handler(sqsEvent(sqsRecord(message)));
    expect(response.batchItemFailures).toEqual([]);
    expect(http.requests).toHaveLength(0);
    expect(order).toEqual(['rate refused', 'send']);
    expect(writes('rate')[0]).toMatchObject({
      Key: { id: `rate#${sub.id}#${Math.floor(clock.getTime() / 1000)}` },
      ExpressionAttributeValues: expect.objectContaining({ ':limit': 1 }),
    });
    expect(sent()).toEqual([{ queueUrl: QUEUES.deliveries, delaySeconds: 1, body: bare(message) }]);
    expect(metricTotals(metrics).rateLimited).toBe(1);

    // Later deliveries in the same second do not ask the table again, and come back at the limit's pace.
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(writes('rate')).toHaveLength(1);
    expect(sent().map((next) => next.delaySeconds)).toEqual([1, 2, 3]);
    expect(http.requests).toHaveLength(0);
  });

  it('the deployment default applies when the webhook sets none; a token granted lets the POST go', async () => {
    const sub = subscription({ lastTriggeredAt: clock.toISOString() });
    mockSubscription(sub);
    const { handler, http } = build(() => answer(200), { defaultRateLimitPerSecond: 25 });
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(http.requests).toHaveLength(1);
    expect(order).toEqual(['rate', 'claim', 'record']);
    expect(writes('rate')[0]?.ExpressionAttributeValues?.[':limit']).toBe(25);
  });

  it('takes a concurrency slot before the claim and gives it back after the POST', async () => {
    const sub = subscription({ maxConcurrency: 2, lastTriggeredAt: clock.toISOString() });
    mockSubscription(sub);
    const { handler, http } = build(() => {
      order.push('post');
      return answer(200);
    });
    const record = sqsRecord(messageFor(sub), { messageId: 'm-slot' });
    await handler(sqsEvent(record), contextWith(30_000));
    expect(http.requests).toHaveLength(1);
    expect(order).toEqual(['slot-take', 'claim', 'post', 'record', 'slot-release']);
    const [take] = writes('slot-take');
    const [release] = writes('slot-release');
    expect(take?.ExpressionAttributeValues).toMatchObject({ ':holder': 'm-slot', ':lease': clock.getTime() + 35_000 });
    // The same slot, released only as its holder.
    expect(release?.Key).toEqual(take?.Key);
    expect(release?.ExpressionAttributeValues).toEqual({ ':holder': 'm-slot' });
  });

  it('every slot taken: the delivery waits without a claim or a POST, and releases nothing', async () => {
    const sub = subscription({ maxConcurrency: 3 });
    mockSubscription(sub);
    slotsFree = false;
    const { handler, http, metrics } = build(() => answer(200));
    const message = messageFor(sub, { round: '0', attempt: 2 });
    const response = await handler(sqsEvent(sqsRecord(message)));
    expect(response.batchItemFailures).toEqual([]);
    expect(http.requests).toHaveLength(0);
    // Each of the 3 slots is tried once.
    expect(order).toEqual(['slot-take refused', 'slot-take refused', 'slot-take refused', 'send']);
    expect(sent()).toEqual([{ queueUrl: QUEUES.deliveries, delaySeconds: 1 + 1, body: bare(message) }]);
    expect(metricTotals(metrics).concurrencyCapped).toBe(1);
  });

  it('the deployment cap applies only to a slow endpoint', async () => {
    const fast = subscription({ lastTriggeredAt: clock.toISOString() });
    mockSubscription(fast);
    await build(() => answer(200), { endpointMaxConcurrency: 4 }).handler(sqsEvent(sqsRecord(messageFor(fast))));
    expect(writes('slot-take')).toEqual([]);
    mockSubscription({ ...fast, slowSince: clock.toISOString() });
    await build(() => answer(200), { endpointMaxConcurrency: 4 }).handler(sqsEvent(sqsRecord(messageFor(fast))));
    expect(writes('slot-take')).toHaveLength(1);
    expect(writes('slot-release')).toHaveLength(1);
  });

  it('marks the endpoint slow while the attempt still runs, once it has run slowEndpointMs, and only once', async () => {
    const sub = subscription({ lastTriggeredAt: clock.toISOString() });
    mockSubscription(sub);
    subscriptionTable();
    const { handler } = build(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 400));
        order.push('answered');
        return answer(200, { latencyMs: 400 });
      },
      { slowEndpointMs: 100 },
    );
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(order.filter((step) => step === 'setSlow' || step === 'answered')).toEqual(['setSlow', 'answered']);
    expect(subscriptionWrites('setSlow')).toHaveLength(1);
    expect(subscriptionWrites('setSlow')[0]?.ExpressionAttributeValues).toMatchObject({ ':since': clock.toISOString() });
  });

  it('an attempt that ends before slowEndpointMs marks nothing', async () => {
    const sub = subscription({ lastTriggeredAt: clock.toISOString() });
    mockSubscription(sub);
    subscriptionTable();
    await build(() => answer(200), { slowEndpointMs: 100 }).handler(sqsEvent(sqsRecord(messageFor(sub))));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(subscriptionWrites('setSlow')).toEqual([]);
  });

  it('gives the slot back when the claim is refused (a duplicate)', async () => {
    const sub = subscription({ maxConcurrency: 1 });
    mockSubscription(sub);
    refuseClaims({ id: messageFor(sub).deliveryId, status: 'succeeded', round: '0', rounds: 1, started: 1, completed: 1 });
    const { handler, http } = build(() => answer(200));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(response.batchItemFailures).toEqual([]);
    expect(http.requests).toHaveLength(0);
    expect(order).toEqual(['slot-take', 'claim refused', 'slot-release']);
  });

  it('gives the slot back when the claim is refused because another POST of the delivery is in flight', async () => {
    const sub = subscription({ maxConcurrency: 1 });
    mockSubscription(sub);
    refuseClaims({ id: messageFor(sub).deliveryId, status: 'pending', round: '0', rounds: 1, started: 1, completed: 0, leaseUntil: clock.getTime() + 20_000 });
    const { handler, http } = build(() => answer(200));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(response.batchItemFailures).toHaveLength(0);
    expect(http.requests).toHaveLength(0);
    expect(order).toEqual(['slot-take', 'claim refused', 'send', 'slot-release']);
  });

  it('gives the slot back when the claim write throws', async () => {
    const sub = subscription({ maxConcurrency: 1 });
    mockSubscription(sub);
    claimError = Object.assign(new Error('boom'), { name: 'InternalServerError' });
    const { handler, http } = build(() => answer(200));
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(response.batchItemFailures).toHaveLength(1);
    expect(http.requests).toHaveLength(0);
    expect(order).toEqual(['slot-take', 'claim failed', 'slot-release']);
  });

  it('a probe under a rate limit and a cap passes all three gates in order', async () => {
    const sub = subscription({
      circuit: { state: 'open', since: clock.toISOString(), openUntil: new Date(clock.getTime() - 1).toISOString(), cooldownSeconds: 30 },
      rateLimitPerSecond: 5,
      maxConcurrency: 1,
      lastTriggeredAt: clock.toISOString(),
    });
    mockSubscription(sub);
    subscriptionTable();
    const { handler, http } = build(() => answer(200));
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(http.requests).toHaveLength(1);
    // The probe is claimed last, once neither the rate limit nor the cap can hold the delivery back.
    expect(order).toEqual(['rate', 'slot-take', 'claimProbe', 'claim', 'record', 'clearFailing', 'slot-release']);
  });
});

describe('dispatcher: operator events and lastTriggeredAt', () => {
  const SECRET_HEADER = 'Bearer receiver-credential-123';

  function expectNoSecretsOrPayload(sub: SubscriptionRecord): void {
    const text = JSON.stringify(published);
    expect(text).not.toContain(secretValue.current.slice(6));
    expect(text).not.toContain(SECRET_HEADER);
    expect(text).not.toContain(sub.url);
    expect(text).not.toContain('hé');
    expect(text).not.toContain('"data"');
    expect(text).not.toContain(sub.sealedSecret.split('.')[3]);
  }

  it('410 publishes subscription.disabled with the reason, once', async () => {
    const sub = subscription({ headers: { authorization: SECRET_HEADER }, lastTriggeredAt: clock.toISOString() });
    mockSubscription(sub);
    subscriptionTable();
    const { handler } = build(() => answer(410, { responseBodyExcerpt: 'gone: token receiver-credential-123' }));
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(published).toEqual([
      { type: 'subscription.disabled', detail: { fleetId: sub.fleetId, webhookId: sub.id, reason: expect.stringMatching(/410/), at: clock.toISOString() } },
    ]);
    expectNoSecretsOrPayload(sub);
  });

  it('a subscription another dispatcher already disabled publishes nothing more', async () => {
    const sub = subscription({ lastTriggeredAt: clock.toISOString() });
    mockSubscription(sub);
    ddb.on(UpdateCommand, { TableName: TABLES.subscriptions }).callsFake((input) => {
      if (subscriptionWrite(input) === 'disable') throw conditionalFailure();
      return { Attributes: { consecutiveFailures: 0 } };
    });
    await build(() => answer(410)).handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(published).toEqual([]);
  });

  it('an exhausted delivery publishes delivery.exhausted with its ids and the last error, never the payload', async () => {
    const sub = subscription({ headers: { authorization: SECRET_HEADER }, lastTriggeredAt: clock.toISOString() });
    mockSubscription(sub);
    subscriptionTable();
    const { handler } = build(() => answer(503, { responseBodyExcerpt: 'echo {"n":1,"text":"hé"}' }));
    const message = messageFor(sub, { attempt: 4 });
    const response = await handler(sqsEvent(sqsRecord(message)));
    expect(response.batchItemFailures).toHaveLength(1);
    expect(published).toEqual([
      {
        type: 'delivery.exhausted',
        detail: {
          fleetId: sub.fleetId,
          webhookId: sub.id,
          deliveryId: message.deliveryId,
          eventType: EVENT.type,
          reason: 'failed 4 attempts: endpoint answered HTTP 503',
          at: clock.toISOString(),
        },
      },
    ]);
    expectNoSecretsOrPayload(sub);
  });

  it('a failure to publish is logged and changes nothing for the delivery', async () => {
    const sub = subscription({ lastTriggeredAt: clock.toISOString() });
    mockSubscription(sub);
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    const observability = testObservability();
    const handler = createDispatcher({
      operatorEvents: { publish: async () => Promise.reject(new Error('bus unavailable')) },
      subscriptions: new SubscriptionsStore(doc, TABLES.subscriptions),
      deliveries: new DeliveriesStore(doc, TABLES.deliveries),
      gates: new EndpointGates(doc, TABLES.deliveries),
      secrets: testSigningSecrets(new SecretsManagerClient({ region: 'us-east-1' })),
      sqs: new SQSClient({ region: 'us-east-1' }),
      deliveriesQueueUrl: QUEUES.deliveries,
      settings: testSettings(),
      http: new FakeHttp(() => answer(410)),
      userAgent: 'Hookline/9.9.9',
      ...observability,
      now: () => clock,
    });
    const response = await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(response.batchItemFailures).toEqual([]);
    expect(writes('record')[0]?.ExpressionAttributeValues?.[':status']).toBe('disabled');
    expect(output.logs().some((line) => line.level === 'WARN' && String(line.message).includes('operator event'))).toBe(true);
  });

  it.each<[string, number | undefined, boolean]>([
    ['never triggered → touched', undefined, true],
    ['triggered 30 s ago → not touched', 30_000, false],
    ['triggered exactly a minute ago → not touched', 60_000, false],
    ['triggered 61 s ago → touched', 61_000, true],
  ])('lastTriggeredAt: %s', async (_name, agoMs, touched) => {
    const sub = subscription(agoMs === undefined ? {} : { lastTriggeredAt: new Date(clock.getTime() - agoMs).toISOString() });
    mockSubscription(sub);
    subscriptionTable();
    await build(() => answer(200)).handler(sqsEvent(sqsRecord(messageFor(sub))));
    const touches = subscriptionWrites('touch');
    expect(touches).toHaveLength(touched ? 1 : 0);
    if (touched) {
      // The store writes only if the stored time is older than a minute (another dispatcher may have touched it).
      expect(touches[0]?.ExpressionAttributeValues).toEqual({ ':at': clock.toISOString(), ':notBefore': new Date(clock.getTime() - 60_000).toISOString() });
    }
  });

  it('lastTriggeredAt: a busy endpoint costs one touch for a run of deliveries within the minute', async () => {
    const sub = subscription();
    mockSubscription(sub);
    subscriptionTable();
    const { handler } = build(() => answer(200));
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    // The store now holds the touch; later reads see it.
    mockSubscription({ ...sub, lastTriggeredAt: clock.toISOString() });
    for (let i = 1; i <= 3; i += 1) {
      clock = new Date(clock.getTime() + 15_000);
      await handler(sqsEvent(sqsRecord(messageFor(sub))));
    }
    expect(subscriptionWrites('touch')).toHaveLength(1);
    clock = new Date(clock.getTime() + 20_000);
    await handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(subscriptionWrites('touch')).toHaveLength(2);
  });

  it('lastTriggeredAt: the records of one batch to one endpoint share one touch', async () => {
    const sub = subscription();
    mockSubscription(sub);
    subscriptionTable();
    const records = ['evt_a', 'evt_b', 'evt_c', 'evt_d'].map((id) =>
      sqsRecord(messageFor(sub, { deliveryId: deliveryIdFor(sub.fleetId, id, sub.id, EVENT.timestamp), event: { ...EVENT, id } })),
    );
    const response = await build(() => answer(200)).handler(sqsEvent(...records));
    expect(response.batchItemFailures).toEqual([]);
    expect(writes('record')).toHaveLength(4);
    expect(subscriptionWrites('touch')).toHaveLength(1);
  });

  it('an interrupted attempt touches nothing on the subscription', async () => {
    const sub = subscription();
    mockSubscription(sub);
    subscriptionTable();
    refuseClaims({ id: messageFor(sub).deliveryId, round: '0', rounds: 1, started: 1, completed: 0, leaseUntil: clock.getTime() - 1 });
    await build(() => answer(200)).handler(sqsEvent(sqsRecord(messageFor(sub))));
    expect(subscriptionUpdates()).toEqual([]);
  });
});
