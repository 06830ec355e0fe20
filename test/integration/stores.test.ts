import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttemptRecord, SubscriptionRecord } from '../../lambdas/core/records';
import { TABLE_SCHEMAS } from '../../lambdas/core/table-schema';
import { InvalidCursorError } from '../../lambdas/shared/cursor';
import { DeliveriesStore, MAX_STORED_ATTEMPTS, type DeliveryIdentity } from '../../lambdas/shared/deliveries-store';
import { EventsStore } from '../../lambdas/shared/events-store';
import { dataForEnvelopeSize } from '../../bench/workload';
import { SubscriptionsStore } from '../../lambdas/shared/subscriptions-store';
import { TokensStore } from '../../lambdas/shared/tokens-store';
import { ensureTables, startDynamoDb, type DynamoDbStandIn } from '../../local/dynamodb';

let dynamo: DynamoDbStandIn;
let subscriptions: SubscriptionsStore;
let events: EventsStore;
let deliveries: DeliveriesStore;
let tokens: TokensStore;
let doc: DynamoDBDocumentClient;
let eventsTable: string;

beforeAll(async () => {
  dynamo = await startDynamoDb();
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const names = await ensureTables(client, 'stores', TABLE_SCHEMAS);
  doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  eventsTable = names.get('Events') as string;
  subscriptions = new SubscriptionsStore(doc, names.get('Subscriptions') as string);
  events = new EventsStore(doc, names.get('Events') as string);
  deliveries = new DeliveriesStore(doc, names.get('Deliveries') as string);
  tokens = new TokensStore(doc, names.get('Tokens') as string);
});

afterAll(async () => {
  await dynamo?.close();
});

const identity = (id: string, subscriptionId = 'wh_A'): DeliveryIdentity => ({
  id,
  fleetId: 'fleet_1',
  subscriptionId,
  eventId: `evt_${id}`,
  eventType: 'thread.completed',
  webhookUrl: 'https://example.com/hook',
});

const attempt = (key: string, n: number, statusCode?: number): AttemptRecord => ({
  key,
  attempt: n,
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
  latencyMs: 12,
  ...(statusCode !== undefined ? { statusCode } : { errorKind: 'timeout' as const, errorMessage: 'timed out' }),
});

describe('DeliveriesStore', () => {
  it('records one attempt per SQS receive and ignores a duplicate of it', async () => {
    const id = identity('dlv_dup');
    const first = { identity: id, status: 'pending' as const, now: '2026-01-01T00:00:01.000Z', expiresAt: 1 };
    expect(await deliveries.recordAttempt({ ...first, attempt: attempt('m1:1', 1, 500), nextAttemptAt: 'soon' })).toBe('recorded');
    expect(await deliveries.recordAttempt({ ...first, attempt: attempt('m1:1', 1, 500) })).toBe('duplicate');
    expect(
      await deliveries.recordAttempt({ ...first, status: 'succeeded', attempt: attempt('m1:2', 2, 200), now: '2026-01-01T00:00:02.000Z' }),
    ).toBe('recorded');
    const record = await deliveries.get('dlv_dup');
    expect(record).toMatchObject({
      status: 'succeeded',
      attemptCount: 2,
      httpStatusCode: 200,
      createdAt: '2026-01-01T00:00:01.000Z',
      lastAttemptAt: '2026-01-01T00:00:02.000Z',
    });
    expect(record?.nextAttemptAt).toBeUndefined();
    expect(record?.attempts.map((a) => a.key)).toEqual(['m1:1', 'm1:2']);
    expect(record).not.toHaveProperty('attemptKeys');
  });

  it('keeps counting past the stored-history cap without growing the item', async () => {
    const id = identity('dlv_cap');
    for (let n = 1; n <= MAX_STORED_ATTEMPTS + 3; n += 1) {
      await deliveries.recordAttempt({ identity: id, attempt: attempt(`m:${n}`, n), status: 'pending', now: 'n', expiresAt: 1 });
    }
    expect(await deliveries.recordAttempt({ identity: id, attempt: attempt('m:2', 2), status: 'pending', now: 'n', expiresAt: 1 })).toBe(
      'duplicate',
    );
    const record = await deliveries.get('dlv_cap');
    expect(record?.attemptCount).toBe(MAX_STORED_ATTEMPTS + 3);
    expect(record?.attempts).toHaveLength(MAX_STORED_ATTEMPTS);
    expect(record?.errorKind).toBe('timeout');
  });

  it('lists newest first, filters by status, event type and time, and pages with cursors', async () => {
    for (let n = 1; n <= 5; n += 1) {
      await deliveries.recordAttempt({
        identity: { ...identity(`dlv_list${n}`, 'wh_LIST'), eventType: n % 2 === 0 ? 'turn.created' : 'thread.completed' },
        attempt: attempt(`l${n}:1`, 1, n === 5 ? 200 : 500),
        status: n === 5 ? 'succeeded' : 'pending',
        now: `2026-02-0${n}T00:00:00.000Z`,
        expiresAt: 1,
      });
    }
    const first = await deliveries.list('wh_LIST', { limit: 2 });
    expect(first.items.map((d) => d.id)).toEqual(['dlv_list5', 'dlv_list4']);
    const second = await deliveries.list('wh_LIST', { limit: 2, cursor: first.nextCursor });
    expect(second.items.map((d) => d.id)).toEqual(['dlv_list3', 'dlv_list2']);
    expect((await deliveries.list('wh_LIST', { limit: 10, status: 'succeeded' })).items.map((d) => d.id)).toEqual(['dlv_list5']);
    expect((await deliveries.list('wh_LIST', { limit: 10, eventType: 'turn.created' })).items.map((d) => d.id)).toEqual([
      'dlv_list4',
      'dlv_list2',
    ]);
    const window = await deliveries.list('wh_LIST', {
      limit: 10,
      since: '2026-02-02T00:00:00.000Z',
      until: '2026-02-03T00:00:00.000Z',
    });
    expect(window.items.map((d) => d.id)).toEqual(['dlv_list3', 'dlv_list2']);
    await expect(deliveries.list('wh_OTHER', { limit: 2, cursor: first.nextCursor })).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it('ends pending deliveries as disabled, and only pending ones', async () => {
    const changed = await deliveries.endPendingAsDisabled('wh_LIST', 'subscription disabled', '2026-03-01T00:00:00.000Z');
    expect(changed).toBe(4);
    expect((await deliveries.list('wh_LIST', { limit: 10, status: 'disabled' })).items).toHaveLength(4);
    expect((await deliveries.get('dlv_list5'))?.status).toBe('succeeded');
    await deliveries.markPending({ id: 'dlv_list5', subscriptionId: 'wh_LIST' }, '2026-03-02T00:00:00.000Z');
    expect((await deliveries.list('wh_LIST', { limit: 10, status: 'pending' })).items.map((d) => d.id)).toEqual(['dlv_list5']);
  });

  it('ends a delivery without an attempt, keeping an earlier URL and never undoing a success', async () => {
    await deliveries.endWithoutAttempt(identity('dlv_gone'), 'disabled', 'subscription is disabled', 'now', 1);
    expect(await deliveries.get('dlv_gone')).toMatchObject({ status: 'disabled', attemptCount: 0, attempts: [], errorMessage: 'subscription is disabled' });

    await deliveries.endWithoutAttempt({ ...identity('dlv_gone'), webhookUrl: '(deleted)' }, 'disabled', 'subscription was deleted', 'later', 1);
    expect(await deliveries.get('dlv_gone')).toMatchObject({ webhookUrl: 'https://example.com/hook', errorMessage: 'subscription was deleted' });

    await deliveries.endWithoutAttempt(identity('dlv_dup'), 'disabled', 'subscription is disabled', 'later', 1);
    expect((await deliveries.get('dlv_dup'))?.status).toBe('succeeded');
  });

  it('lets only an explicit re-delivery change a succeeded delivery; a duplicate only adds history', async () => {
    const id = identity('dlv_dup');
    const failing = { identity: id, status: 'failed' as const, now: 'later', expiresAt: 1 };
    expect(await deliveries.recordAttempt({ ...failing, attempt: attempt('dup-msg:1', 1, 400) })).toBe('recorded');
    expect(await deliveries.recordAttempt({ ...failing, attempt: attempt('dup-msg:1', 1, 400) })).toBe('duplicate');
    expect(await deliveries.get('dlv_dup')).toMatchObject({ status: 'succeeded', attemptCount: 3, httpStatusCode: 200 });
    expect((await deliveries.get('dlv_dup'))?.attempts.map((a) => a.key)).toEqual(['m1:1', 'm1:2', 'dup-msg:1']);
    expect(await deliveries.recordAttempt({ ...failing, attempt: attempt('retry-msg:1', 1, 400), reopensSucceeded: true })).toBe('recorded');
    expect(await deliveries.get('dlv_dup')).toMatchObject({ status: 'failed', attemptCount: 4, httpStatusCode: 400 });
  });
});

describe('EventsStore', () => {
  const event = {
    fleetId: 'fleet_1',
    id: 'evt_1',
    type: 'thread.completed',
    timestamp: '2026-01-05T10:00:00.000Z',
    data: { n: 1 },
    source: 'api' as const,
    expiresAt: 1,
  };

  it('stores an event once and reports the stored copy on a repeat', async () => {
    expect((await events.putIfAbsent(event)).created).toBe(true);
    const repeat = await events.putIfAbsent({ ...event, data: { n: 2 } });
    expect(repeat.created).toBe(false);
    expect(repeat.event.data).toEqual({ n: 1 });
    expect(await events.get('fleet_1', 'evt_1')).toEqual(event);
  });

  it('stores an event of about 1 KB within one write unit (short attribute names)', async () => {
    const id = 'evt_6a7e8feb-b491-4cf7-a9f1-bf3703467718';
    // The benchmark's 1 KB envelope (with its shorter probe id), under an EventBridge event id.
    const data = dataForEnvelopeSize('cost-many', 1_024);
    const envelope = JSON.stringify({ id, type: 'thread.completed', timestamp: event.timestamp, fleetId: 'cost-many', data });
    expect(Buffer.byteLength(envelope)).toBeGreaterThan(1_024);
    await events.putIfAbsent({ ...event, fleetId: 'cost-many', id, data, source: 'eventbridge', expiresAt: 1_800_000_000 });
    const raw = await doc.send(new GetCommand({ TableName: eventsTable, Key: { fleetId: 'cost-many', id } }));
    const size = Object.entries(raw.Item ?? {}).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + (typeof value === 'number' ? 6 : Buffer.byteLength(String(value))), 0);
    expect(size).toBeLessThanOrEqual(1_024);
  });

  it('binds an idempotency key to the first event id for its window only', async () => {
    const claim = (fleet: string, eventId: string, now: number) =>
      events.claimIdempotencyKey(fleet, 'key-1', { eventId, timestamp: `t-${eventId}` }, now, 86_400);
    expect(await claim('fleet_1', 'evt_A', 1_000)).toEqual({ eventId: 'evt_A', timestamp: 't-evt_A' });
    expect(await claim('fleet_1', 'evt_B', 2_000)).toEqual({ eventId: 'evt_A', timestamp: 't-evt_A' });
    expect(await claim('fleet_2', 'evt_C', 2_000)).toEqual({ eventId: 'evt_C', timestamp: 't-evt_C' });
    expect(await claim('fleet_1', 'evt_D', 1_000 + 86_400)).toEqual({ eventId: 'evt_D', timestamp: 't-evt_D' });
  });

  it('lists a fleet\'s events by time, both ends inclusive, with cursors', async () => {
    await events.putIfAbsent({ ...event, id: 'evt_2', timestamp: '2026-01-06T00:00:00.000Z' });
    await events.putIfAbsent({ ...event, id: 'evt_3', timestamp: '2026-01-07T00:00:00.000Z' });
    const range = { since: '2026-01-05T10:00:00.000Z', until: '2026-01-06T00:00:00.000Z' };
    const page = await events.listByTime('fleet_1', range, { limit: 1 });
    expect(page.items.map((e) => e.id)).toEqual(['evt_1']);
    const next = await events.listByTime('fleet_1', range, { limit: 5, cursor: page.nextCursor });
    expect(next.items.map((e) => e.id)).toEqual(['evt_2']);
    expect((await events.listByTime('fleet_2', range, { limit: 5 })).items).toEqual([]);
  });
});

describe('SubscriptionsStore', () => {
  const sub: SubscriptionRecord = {
    fleetId: 'fleet_1',
    id: 'wh_1',
    url: 'https://example.com/a',
    enabled: true,
    name: 'first',
    sealedSecret: 'v1.1.aaaaaaaaaaaaaaaa.bb.cccccccccccccccccccccc',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  };

  it('keeps fleets apart: another fleet never reads, updates or deletes it', async () => {
    await subscriptions.create(sub);
    await expect(subscriptions.create(sub)).rejects.toThrow();
    expect(await subscriptions.get('fleet_2', 'wh_1')).toBeUndefined();
    expect(await subscriptions.update('fleet_2', 'wh_1', { name: 'x' }, 'now')).toBeUndefined();
    expect(await subscriptions.delete('fleet_2', 'wh_1')).toBeUndefined();
    expect((await subscriptions.get('fleet_1', 'wh_1'))?.name).toBe('first');
  });

  it('patches fields, removes nulls, and re-enabling clears the disable bookkeeping', async () => {
    expect(await subscriptions.markFailing('fleet_1', 'wh_1', 't1')).toBe('t1');
    expect(await subscriptions.markFailing('fleet_1', 'wh_1', 't2')).toBe('t1');
    expect(await subscriptions.disable('fleet_1', 'wh_1', 'endpoint answered 410', 't3')).toBe(true);
    expect(await subscriptions.disable('fleet_1', 'wh_1', 'again', 't4')).toBe(false);
    const updated = await subscriptions.update('fleet_1', 'wh_1', { name: null, enabled: true, events: ['turn.created'] }, 't5');
    expect(updated).toMatchObject({ enabled: true, events: ['turn.created'], updatedAt: 't5' });
    expect(updated).not.toHaveProperty('name');
    expect(updated).not.toHaveProperty('disabledReason');
    expect(updated).not.toHaveProperty('failingSince');
  });

  it('pages a fleet and refuses a cursor from another fleet', async () => {
    await subscriptions.create({ ...sub, id: 'wh_2' });
    await subscriptions.create({ ...sub, id: 'wh_3' });
    const first = await subscriptions.list('fleet_1', { limit: 2 });
    expect(first.items.map((s) => s.id)).toEqual(['wh_1', 'wh_2']);
    expect((await subscriptions.list('fleet_1', { limit: 2, cursor: first.nextCursor })).items.map((s) => s.id)).toEqual(['wh_3']);
    await expect(subscriptions.list('fleet_2', { limit: 2, cursor: first.nextCursor })).rejects.toBeInstanceOf(InvalidCursorError);
    const all: string[] = [];
    for await (const page of subscriptions.pages('fleet_1', 2)) all.push(...page.map((s) => s.id));
    expect(all).toEqual(['wh_1', 'wh_2', 'wh_3']);
  });
});

describe('TokensStore', () => {
  it('creates, lists without hashes, and revokes', async () => {
    await tokens.create({ id: 'tok_1', secretHash: 'ab'.repeat(32), fleets: ['*'], name: 'ci', createdAt: 'now' });
    expect((await tokens.get('tok_1'))?.fleets).toEqual(['*']);
    const listed = await tokens.list({ limit: 10 });
    expect(listed.items).toEqual([{ id: 'tok_1', fleets: ['*'], name: 'ci', createdAt: 'now' }]);
    expect(await tokens.delete('tok_1')).toBe(true);
    expect(await tokens.delete('tok_1')).toBe(false);
  });
});
