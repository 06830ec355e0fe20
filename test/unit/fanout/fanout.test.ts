import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockAwsClient } from '../../support/aws-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deliveryIdFor } from '../../../lambdas/core/ids';
import type { DeliveryMessage, EventRecord, ReplayJobMessage, SubscriptionRecord } from '../../../lambdas/core/records';
import type { DeploymentSettingsInput } from '../../../lambdas/core/settings';
import { createFanout } from '../../../lambdas/fanout/fanout';
import { SQS_MAX_BATCH_BYTES } from '../../../lambdas/shared/queue-sender';
import { EventsStore } from '../../../lambdas/shared/events-store';
import type { runReplay } from '../../../lambdas/shared/replay';
import { SubscriptionsStore } from '../../../lambdas/shared/subscriptions-store';
import { captureOutput, QUEUES, sqsEvent, sqsRecord, subscription, TABLES, testObservability, testSettings } from '../../support/handler-harness';

const ddb = mockAwsClient(DynamoDBDocumentClient);
const sqsMock = mockAwsClient(SQSClient);

let output: ReturnType<typeof captureOutput>;
let replayCalls: Parameters<typeof runReplay>[];

function build(settings: DeploymentSettingsInput = {}) {
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  const replay: typeof runReplay = async (...args) => {
    replayCalls.push(args);
    return { enqueued: 3, continued: true } as Awaited<ReturnType<typeof runReplay>>;
  };
  return createFanout({
    events: new EventsStore(doc, TABLES.events),
    subscriptions: new SubscriptionsStore(doc, TABLES.subscriptions),
    sqs: new SQSClient({ region: 'us-east-1' }),
    eventsQueueUrl: QUEUES.events,
    deliveriesQueueUrl: QUEUES.deliveries,
    settings: testSettings(settings),
    ...testObservability(),
    replay,
    now: () => new Date('2025-03-01T10:00:05.000Z'),
    subscriptionPageSize: 500,
  });
}

function subscriptions(count: number, overrides: (index: number) => Partial<SubscriptionRecord> = () => ({})) {
  return Array.from({ length: count }, (_, index) =>
    subscription({ id: `wh_01JNKV3Y0RZ8W5T2P4M6${String(index).padStart(6, '0')}`, ...overrides(index) }),
  );
}

/** Serves the fleet's subscriptions in pages the way DynamoDB does (Limit + LastEvaluatedKey). */
function mockSubscriptionPages(all: SubscriptionRecord[]): void {
  ddb.on(QueryCommand, { TableName: TABLES.subscriptions }).callsFake((input: { Limit?: number; ExclusiveStartKey?: { id: string } }) => {
    const limit = input.Limit ?? 1_000;
    const start = input.ExclusiveStartKey === undefined ? 0 : all.findIndex((sub) => sub.id === input.ExclusiveStartKey?.id) + 1;
    const items = all.slice(start, start + limit);
    const last = items[items.length - 1];
    return { Items: items, LastEvaluatedKey: start + limit < all.length && last ? { fleetId: last.fleetId, id: last.id } : undefined };
  });
}

function sentMessages(): DeliveryMessage[] {
  return sqsMock
    .commandCalls(SendMessageBatchCommand)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .map((entry) => JSON.parse(entry.MessageBody ?? '') as DeliveryMessage);
}

/** The fan-out markers written to the events table. */
function marks(): Record<string, unknown>[] {
  return ddb
    .commandCalls(PutCommand, { TableName: TABLES.events })
    .map((call) => call.args[0].input.Item as Record<string, unknown>)
    .filter((item) => String(item.id).startsWith('fan#'));
}

function eventBridgeBody(overrides: Record<string, unknown> = {}, detail: Record<string, unknown> = {}) {
  return {
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': 'thread.completed',
    source: 'hookline',
    account: '000000000000',
    time: '2025-03-01T10:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: { fleetId: 'fleet-1', data: { threadId: 't-1' }, ...detail },
    ...overrides,
  };
}

beforeEach(() => {
  ddb.reset();
  sqsMock.reset();
  replayCalls = [];
  ddb.on(PutCommand, { TableName: TABLES.events }).resolves({});
  ddb.on(UpdateCommand, { TableName: TABLES.events }).resolves({});
  sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  output = captureOutput();
});

afterEach(() => {
  output.restore();
});

describe('fan-out of an EventBridge event', () => {
  it('stores the event once, sends one message per matching subscription, then marks it fanned out', async () => {
    const subs = subscriptions(5, (index) => ({
      enabled: index !== 1,
      events: index === 2 ? ['agent.created'] : index === 3 ? ['thread.completed'] : undefined,
    }));
    mockSubscriptionPages(subs);
    const response = await build()(sqsEvent(sqsRecord(eventBridgeBody())));
    expect(response.batchItemFailures).toEqual([]);

    const put = ddb.commandCalls(PutCommand)[0]?.args[0].input;
    const stored = put?.Item as EventRecord;
    expect(put?.ConditionExpression).toBe('attribute_not_exists(id)');
    expect(stored).toMatchObject({
      fleetId: 'fleet-1',
      id: 'evt_6a7e8feb-b491-4cf7-a9f1-bf3703467718',
      type: 'thread.completed',
      timestamp: '2025-03-01T10:00:00.000Z',
      source: 'eventbridge',
      // The narrow time index's key; `timeKey` would copy the whole event into the first by-time index.
      eventTime: '2025-03-01T10:00:00.000Z#evt_6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    });
    expect(stored).not.toHaveProperty('timeKey');
    expect(stored.expiresAt).toBe(Date.parse('2025-03-01T10:00:05.000Z') / 1000 + 30 * 86_400);

    const messages = sentMessages();
    expect(messages.map((message) => message.subscriptionId)).toEqual([subs[0]?.id, subs[3]?.id, subs[4]?.id]);
    expect(messages[0]).toEqual({
      v: 1,
      deliveryId: deliveryIdFor('fleet-1', stored.id, subs[0]?.id ?? '', stored.timestamp),
      fleetId: 'fleet-1',
      subscriptionId: subs[0]?.id,
      event: { id: stored.id, type: 'thread.completed', timestamp: stored.timestamp, data: { threadId: 't-1' } },
      reason: 'fanout',
      nonce: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/),
    });
    // The mark is a small item of its own, never a rewrite of the event.
    expect(marks()).toEqual([{ fleetId: 'fleet-1', id: `fan#${stored.id}`, fannedOutAt: '2025-03-01T10:00:05.000Z', expiresAt: stored.expiresAt }]);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it('uses the producer id when given, and builds the same delivery ids when the record runs again', async () => {
    mockSubscriptionPages(subscriptions(2));
    const handler = build();
    const body = eventBridgeBody({}, { id: 'order-42' });
    await handler(sqsEvent(sqsRecord(body)));
    const first = sentMessages();
    sqsMock.resetHistory();
    await handler(sqsEvent(sqsRecord(body)));
    expect(first[0]?.event.id).toBe('order-42');
    // The same messages, each with a nonce of its own (a stray copy is never taken for a DLQ redrive).
    const withoutNonce = (messages: DeliveryMessage[]) => messages.map(({ nonce: _nonce, ...message }) => message);
    const again = sentMessages();
    expect(withoutNonce(again)).toEqual(withoutNonce(first));
    expect(new Set([...first, ...again].map((message) => message.nonce)).size).toBe(first.length + again.length);
  });

  it('is a no-op for an event already fanned out', async () => {
    const conditional = Object.assign(new Error('exists'), { name: 'ConditionalCheckFailedException' });
    ddb.on(PutCommand, { TableName: TABLES.events }).rejects(conditional);
    ddb.on(GetCommand, { TableName: TABLES.events }).resolves({ Item: { id: 'x', fannedOutAt: '2025-03-01T10:00:01.000Z' } });
    mockSubscriptionPages(subscriptions(3));
    const response = await build()(sqsEvent(sqsRecord(eventBridgeBody())));
    expect(response.batchItemFailures).toEqual([]);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(marks()).toHaveLength(0);
  });

  it('finishes an interrupted fan-out from the stored copy of the event', async () => {
    const storedEvent: EventRecord = {
      fleetId: 'fleet-1',
      id: 'order-42',
      type: 'thread.completed',
      timestamp: '2025-03-01T09:00:00.000Z',
      data: { first: true },
      timeKey: '2025-03-01T09:00:00.000Z#order-42',
      source: 'api',
      expiresAt: 1,
    };
    ddb.on(PutCommand, { TableName: TABLES.events }).callsFake((input: { Item: { id: string } }) => {
      if (input.Item.id.startsWith('fan#')) return {};
      throw Object.assign(new Error('exists'), { name: 'ConditionalCheckFailedException' });
    });
    ddb.on(GetCommand, { TableName: TABLES.events, Key: { fleetId: 'fleet-1', id: 'order-42' } }).resolves({ Item: storedEvent });
    mockSubscriptionPages(subscriptions(1));
    await build()(sqsEvent(sqsRecord(eventBridgeBody({}, { id: 'order-42', data: { first: false } }))));
    const [message] = sentMessages();
    expect(message?.event).toEqual({ id: 'order-42', type: 'thread.completed', timestamp: storedEvent.timestamp, data: { first: true } });
    expect(marks()).toHaveLength(1);
  });
});

describe('fan-out of a published event and of a replay job', () => {
  it('accepts the API publish message', async () => {
    mockSubscriptionPages(subscriptions(1));
    const body = {
      v: 1,
      kind: 'event',
      fleetId: 'fleet-1',
      event: { id: 'evt_01JNKV3Y0RZ8W5T2P4M6Q9B7CD', type: 'approval.requested', timestamp: '2025-03-01T10:00:00.000Z', data: null },
    };
    const response = await build()(sqsEvent(sqsRecord(body)));
    expect(response.batchItemFailures).toEqual([]);
    expect((ddb.commandCalls(PutCommand)[0]?.args[0].input.Item as EventRecord).source).toBe('api');
    expect(sentMessages()).toHaveLength(1);
  });

  it('hands a replay job to runReplay with the queues and stores', async () => {
    const job: ReplayJobMessage = {
      v: 1,
      kind: 'replay',
      fleetId: 'fleet-1',
      subscriptionId: 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CD',
      since: '2025-03-01T00:00:00.000Z',
      until: '2025-03-02T00:00:00.000Z',
      cursor: 'abc',
    };
    const response = await build()(sqsEvent(sqsRecord(job)));
    expect(response.batchItemFailures).toEqual([]);
    expect(replayCalls).toHaveLength(1);
    const [deps, passedJob, options] = replayCalls[0] ?? [];
    expect(passedJob).toEqual(job);
    expect(deps?.deliveriesQueueUrl).toBe(QUEUES.deliveries);
    expect(deps?.eventsQueueUrl).toBe(QUEUES.events);
    expect(options?.maxPages).toBeGreaterThan(0);
  });
});

describe('invalid events are set aside, never dropped silently nor looped', () => {
  it.each([
    ['not JSON', 'not json'],
    ['an unknown shape', { hello: 'world' }],
    ['an unknown event type', eventBridgeBody({ 'detail-type': 'thread.exploded' })],
    ['the reserved test type', eventBridgeBody({ 'detail-type': 'webhook.test' })],
    ['a foreign source', eventBridgeBody({ source: 'someone-else' })],
    ['a bad fleet id', eventBridgeBody({}, { fleetId: 'fleet/../other' })],
    ['no data', eventBridgeBody({}, { data: undefined })],
    ['a bad event id', eventBridgeBody({}, { id: 'idem#key' })],
    ['oversized data', eventBridgeBody({}, { data: { blob: 'x'.repeat(2_000) } })],
  ])('%s → visibility 0 and a batch item failure, logged with its reason', async (_name, body) => {
    mockSubscriptionPages(subscriptions(1));
    const record = sqsRecord(body);
    const response = await build({ maxPayloadBytes: 1_024 })(sqsEvent(record));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(sqsMock.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input)).toEqual([
      { QueueUrl: QUEUES.events, ReceiptHandle: record.receiptHandle, VisibilityTimeout: 0 },
    ]);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    const errors = output.logs().filter((line) => line.level === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(typeof errors[0]?.reason).toBe('string');
  });

  it('fails only the invalid record of a batch', async () => {
    mockSubscriptionPages(subscriptions(1));
    const bad = sqsRecord('nope');
    const good = sqsRecord(eventBridgeBody());
    const response = await build()(sqsEvent(bad, good));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: bad.messageId }]);
    expect(sentMessages()).toHaveLength(1);
  });
});

describe('large fleets and SQS limits', () => {
  it('pages through 1,200 subscriptions and sends them in batches of 10', async () => {
    mockSubscriptionPages(subscriptions(1_200));
    const response = await build()(sqsEvent(sqsRecord(eventBridgeBody())));
    expect(response.batchItemFailures).toEqual([]);
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(3);
    const calls = sqsMock.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(120);
    const messages = sentMessages();
    expect(new Set(messages.map((message) => message.deliveryId)).size).toBe(1_200);
    expect(marks()).toHaveLength(1);
  });

  it('keeps each SendMessageBatch under the request size limit for large events', async () => {
    mockSubscriptionPages(subscriptions(25));
    const data = { blob: 'x'.repeat(60_000) };
    const response = await build({ maxPayloadBytes: 65_536 })(sqsEvent(sqsRecord(eventBridgeBody({}, { data }))));
    expect(response.batchItemFailures).toEqual([]);
    const calls = sqsMock.commandCalls(SendMessageBatchCommand);
    for (const call of calls) {
      const bytes = (call.args[0].input.Entries ?? []).reduce((sum, entry) => sum + Buffer.byteLength(entry.MessageBody ?? ''), 0);
      expect(bytes).toBeLessThanOrEqual(SQS_MAX_BATCH_BYTES);
    }
    expect(sentMessages()).toHaveLength(25);
    expect(calls.length).toBeGreaterThan(3);
  });

  it('retries entries SQS refused, and leaves the record for a retry when they keep failing', async () => {
    mockSubscriptionPages(subscriptions(3));
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Successful: [{ Id: '0', MessageId: 'a', MD5OfMessageBody: '' }], Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }, { Id: '2', Code: 'InternalError', SenderFault: false }] })
      .resolves({ Successful: [], Failed: [] });
    const ok = await build()(sqsEvent(sqsRecord(eventBridgeBody())));
    expect(ok.batchItemFailures).toEqual([]);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)[1]?.args[0].input.Entries).toHaveLength(2);

    sqsMock.reset();
    sqsMock.on(SendMessageBatchCommand).rejects(Object.assign(new Error('down'), { name: 'ServiceUnavailable' }));
    sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
    ddb.resetHistory();
    const record = sqsRecord(eventBridgeBody());
    const failed = await build()(sqsEvent(record));
    expect(failed.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    // Not fanned out: the retry of this record sends the (same) messages again.
    expect(marks()).toHaveLength(0);
    expect(sqsMock.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(0);
  });
});

describe('one invocation packs the delivery messages of all its records', () => {
  const records = (count: number) =>
    Array.from({ length: count }, (_, index) => sqsRecord(eventBridgeBody({ id: `0000000${index}-b491-4cf7-a9f1-bf3703467718` })));

  it('sends ten events at fan-out 1 in one SendMessageBatch call, each with its fleet as group', async () => {
    mockSubscriptionPages(subscriptions(1));
    const batch = records(10);
    const response = await build()(sqsEvent(...batch));
    expect(response.batchItemFailures).toEqual([]);
    const calls = sqsMock.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input.Entries).toHaveLength(10);
    expect(calls[0]?.args[0].input.Entries?.every((entry) => entry.MessageGroupId === 'fleet-1')).toBe(true);
    expect(new Set(sentMessages().map((message) => message.event.id)).size).toBe(10);
    expect(marks()).toHaveLength(10);
  });

  it('fills calls across records: 4 records × 3 subscriptions are 2 calls, not 4', async () => {
    mockSubscriptionPages(subscriptions(3));
    const response = await build()(sqsEvent(...records(4)));
    expect(response.batchItemFailures).toEqual([]);
    expect(sqsMock.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input.Entries?.length)).toEqual([10, 2]);
    expect(sentMessages()).toHaveLength(12);
  });

  it('fails only the record whose own message SQS kept refusing; the others are marked fanned out', async () => {
    mockSubscriptionPages(subscriptions(1));
    const batch = records(3);
    const doomed = 'evt_00000001-b491-4cf7-a9f1-bf3703467718';
    sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string; MessageBody: string }[] }) => ({
      Successful: input.Entries.filter((entry) => !entry.MessageBody.includes(doomed)).map((entry) => ({ Id: entry.Id, MessageId: 'm', MD5OfMessageBody: '' })),
      Failed: input.Entries.filter((entry) => entry.MessageBody.includes(doomed)).map((entry) => ({ Id: entry.Id, Code: 'InternalError', SenderFault: false })),
    }));
    const response = await build()(sqsEvent(...batch));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: batch[1]?.messageId }]);
    // The three messages shared the first call; only the refused one was retried.
    const calls = sqsMock.commandCalls(SendMessageBatchCommand);
    expect(calls[0]?.args[0].input.Entries).toHaveLength(3);
    expect(calls.slice(1).every((call) => call.args[0].input.Entries?.length === 1)).toBe(true);
    expect(marks().map((mark) => mark.id)).toEqual(
      expect.arrayContaining(['fan#evt_00000000-b491-4cf7-a9f1-bf3703467718', 'fan#evt_00000002-b491-4cf7-a9f1-bf3703467718']),
    );
    expect(marks()).toHaveLength(2);
    // A send failure is transient: the record comes back after the queue's visibility timeout.
    expect(sqsMock.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(0);
  });

  it('keeps a record that failed before sending out of the shared call without failing the others', async () => {
    mockSubscriptionPages(subscriptions(1));
    const good = records(2);
    const bad = sqsRecord(eventBridgeBody({ 'detail-type': 'thread.exploded' }));
    const response = await build()(sqsEvent(good[0]!, bad, good[1]!));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: bad.messageId }]);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
    expect(marks()).toHaveLength(2);
  });
});

