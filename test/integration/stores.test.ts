import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttemptRecord, CircuitRecord, SubscriptionRecord } from '../../lambdas/core/records';
import { TABLE_SCHEMAS } from '../../lambdas/core/table-schema';
import { InvalidCursorError } from '../../lambdas/shared/cursor';
import { DeliveriesStore, MAX_STORED_ATTEMPTS, type ClaimInput, type DeliveryIdentity } from '../../lambdas/shared/deliveries-store';
import { EventsStore, eventTimeKey } from '../../lambdas/shared/events-store';
import { EndpointGates } from '../../lambdas/shared/endpoint-gates';
import { SubscriptionsStore } from '../../lambdas/shared/subscriptions-store';
import { TokensStore } from '../../lambdas/shared/tokens-store';
import { ensureTables, startDynamoDb, type DynamoDbStandIn } from '../../local/dynamodb';
import { seedDeliveryAttempt } from '../support/seed-delivery';
import { sealedSecrets } from '../support/sealing-key';

let dynamo: DynamoDbStandIn;
let subscriptions: SubscriptionsStore;
let events: EventsStore;
let deliveries: DeliveriesStore;
let tokens: TokensStore;
let gates: EndpointGates;

beforeAll(async () => {
  dynamo = await startDynamoDb();
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const names = await ensureTables(client, 'stores', TABLE_SCHEMAS);
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  subscriptions = new SubscriptionsStore(doc, names.get('Subscriptions') as string);
  events = new EventsStore(doc, names.get('Events') as string);
  deliveries = new DeliveriesStore(doc, names.get('Deliveries') as string);
  tokens = new TokensStore(doc, names.get('Tokens') as string);
  gates = new EndpointGates(doc, names.get('Deliveries') as string);
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

const attempt = (n: number, statusCode?: number, round = 1): AttemptRecord => ({
  round,
  attempt: n,
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
  latencyMs: 12,
  ...(statusCode !== undefined ? { statusCode } : { errorKind: 'timeout' as const, errorMessage: 'timed out' }),
});

const T0 = Date.UTC(2026, 0, 1);
const LATER_ROUND = '01JNKV3Y0RZ8W5T2P4M6Q9B7CD';
const LATEST_ROUND = '01JNKV3Y0RZ8W5T2P4M6Q9B7CE';

/** A claim as the dispatcher makes it: attempt 1 begins a round. */
const claimInput = (id: string, overrides: Partial<ClaimInput> = {}): ClaimInput => {
  const input = { id, round: '0', attempt: 1, holder: 'm-1', leaseUntil: T0 + 60_000, now: T0, expiresAt: 2e9, ...overrides };
  return { newRound: input.attempt === 1, ...input };
};

describe('DeliveriesStore: claims', () => {
  it('claims a new delivery with the bookkeeping only (no status, no index keys), and refuses a duplicate while the lease is live', async () => {
    expect(await deliveries.claim(claimInput('dlv_new'))).toEqual({ claimed: true, roundNumber: 1 });
    const item = await deliveries.get('dlv_new');
    expect(item).toMatchObject({ round: '0', rounds: 1, started: 1, completed: 0, leaseUntil: T0 + 60_000, leaseHolder: 'm-1' });
    expect(item).not.toHaveProperty('status');
    expect(item).not.toHaveProperty('subscriptionStatus');
    expect(item).not.toHaveProperty('createdKey');

    // The same attempt from a duplicate message, a second later: refused, with the progress to judge it by.
    const duplicate = await deliveries.claim(claimInput('dlv_new', { holder: 'm-dup', now: T0 + 1_000 }));
    expect(duplicate).toEqual({
      claimed: false,
      progress: { id: 'dlv_new', round: '0', rounds: 1, started: 1, completed: 0, leaseUntil: T0 + 60_000, leaseHolder: 'm-1' },
    });
    // Even a new round waits while the lease is live: never two POSTs of a delivery at once.
    expect((await deliveries.claim(claimInput('dlv_new', { round: LATER_ROUND, holder: 'm-retry', now: T0 + 1_000 }))).claimed).toBe(false);
    expect((await deliveries.progress('dlv_new'))?.leaseHolder).toBe('m-1');
  });

  it('records only as the claim holder, releasing the claim; then claims the next attempt once, and only while pending', async () => {
    const id = identity('dlv_next');
    await deliveries.claim(claimInput(id.id));
    const write = { identity: id, round: '0', status: 'pending' as const, now: '2026-01-01T00:00:01.000Z', expiresAt: 2e9 };
    expect(await deliveries.recordAttempt({ ...write, holder: 'm-other', attempt: attempt(1, 500) })).toBe('stale');
    expect(await deliveries.recordAttempt({ ...write, holder: 'm-1', attempt: attempt(1, 500), nextAttemptAt: '2026-01-01T00:00:31.000Z' })).toBe('recorded');
    // A repeat of the same record (a retried write) changes nothing.
    expect(await deliveries.recordAttempt({ ...write, holder: 'm-1', attempt: attempt(1, 500) })).toBe('stale');
    const recorded = await deliveries.get(id.id);
    expect(recorded).toMatchObject({
      status: 'pending',
      subscriptionStatus: 'wh_A#pending',
      started: 1,
      completed: 1,
      attemptCount: 1,
      httpStatusCode: 500,
      nextAttemptAt: '2026-01-01T00:00:31.000Z',
      createdAt: '2026-01-01T00:00:01.000Z',
    });
    expect(recorded).not.toHaveProperty('leaseUntil');
    expect(recorded).not.toHaveProperty('leaseHolder');

    // Attempt 1 again (a duplicate of the first message) is refused; attempt 2 is claimed, once.
    expect((await deliveries.claim(claimInput(id.id, { holder: 'm-dup', now: T0 + 2_000 }))).claimed).toBe(false);
    expect(await deliveries.claim(claimInput(id.id, { attempt: 2, holder: 'm-2', now: T0 + 31_000, leaseUntil: T0 + 91_000 }))).toEqual({ claimed: true, roundNumber: 1 });
    expect((await deliveries.claim(claimInput(id.id, { attempt: 2, holder: 'm-2b', now: T0 + 92_000 }))).claimed).toBe(false);
    expect(await deliveries.recordAttempt({ ...write, holder: 'm-2', status: 'succeeded', attempt: attempt(2, 200), now: '2026-01-01T00:00:31.000Z' })).toBe('recorded');
    const succeeded = await deliveries.get(id.id);
    expect(succeeded).toMatchObject({ status: 'succeeded', attemptCount: 2, httpStatusCode: 200, completed: 2, lastAttemptAt: attempt(2).at });
    expect(succeeded?.attempts.map((a) => [a.round, a.attempt])).toEqual([[1, 1], [1, 2]]);
    // A success leaves the by-status index; no retry time is left behind.
    expect(succeeded).not.toHaveProperty('subscriptionStatus');
    expect(succeeded).not.toHaveProperty('nextAttemptAt');
    // No attempt follows a success in its round.
    expect((await deliveries.claim(claimInput(id.id, { attempt: 3, holder: 'm-3', now: T0 + 200_000 }))).claimed).toBe(false);
  });

  it('records an interrupted attempt (no holder) only once its lease has run out; the late holder is then stale', async () => {
    const id = identity('dlv_interrupted');
    await deliveries.claim(claimInput(id.id, { holder: 'm-dead', leaseUntil: T0 + 60_000 }));
    const interrupted = {
      identity: id,
      round: '0',
      attempt: { round: 1, attempt: 1, at: new Date(T0).toISOString(), latencyMs: 0, errorKind: 'interrupted' as const, errorMessage: 'stopped' },
      status: 'pending' as const,
      expiresAt: 2e9,
    };
    expect(await deliveries.recordAttempt({ ...interrupted, now: new Date(T0 + 30_000).toISOString() })).toBe('stale');
    expect(await deliveries.recordAttempt({ ...interrupted, now: new Date(T0 + 61_000).toISOString() })).toBe('recorded');
    expect(await deliveries.get(id.id)).toMatchObject({ status: 'pending', attemptCount: 1, errorKind: 'interrupted', started: 1, completed: 1 });
    // The dead invocation's result, arriving after all: its claim is no longer its own.
    expect(await deliveries.recordAttempt({ ...interrupted, holder: 'm-dead', attempt: attempt(1, 200), status: 'succeeded', now: new Date(T0 + 62_000).toISOString() })).toBe('stale');
    expect((await deliveries.get(id.id))?.attemptCount).toBe(1);
  });

  it('a later round supersedes a finished one (and remembers a redrive trigger); an earlier round is refused', async () => {
    const id = identity('dlv_rounds');
    await deliveries.claim(claimInput(id.id, { attempt: 1, holder: 'm-1' }));
    await deliveries.recordAttempt({ identity: id, round: '0', holder: 'm-1', attempt: attempt(1, 503), status: 'failed', parkedMessageId: 'm-1', now: 'r0', expiresAt: 2e9 });
    expect(await deliveries.progress(id.id)).toMatchObject({ status: 'failed', parkedMessageId: 'm-1', round: '0' });

    const redrive = await deliveries.claim(claimInput(id.id, { round: LATER_ROUND, holder: 'm-redriven', trigger: 'm-redriven', now: T0 + 1_000 }));
    expect(redrive).toEqual({ claimed: true, roundNumber: 2 });
    const progress = await deliveries.progress(id.id);
    expect(progress).toMatchObject({ round: LATER_ROUND, rounds: 2, started: 1, completed: 0, roundTrigger: 'm-redriven', leaseHolder: 'm-redriven' });
    // The parked message of the old round is no longer this delivery's way to the DLQ.
    expect(progress).not.toHaveProperty('parkedMessageId');
    await deliveries.recordAttempt({ identity: id, round: LATER_ROUND, holder: 'm-redriven', attempt: attempt(1, 200, 2), status: 'succeeded', now: 'r1', expiresAt: 2e9 });

    // The fan-out's round '0' sorts before any ULID: its stragglers cannot claim.
    expect((await deliveries.claim(claimInput(id.id, { holder: 'm-old', now: T0 + 2_000 }))).claimed).toBe(false);
    expect((await deliveries.claim(claimInput(id.id, { round: LATER_ROUND, holder: 'm-same', now: T0 + 2_000 }))).claimed).toBe(false);
    // A retry request's round (no trigger) begins again at attempt 1 and clears the old trigger.
    expect(await deliveries.claim(claimInput(id.id, { round: LATEST_ROUND, holder: 'm-retry', now: T0 + 3_000 }))).toEqual({ claimed: true, roundNumber: 3 });
    expect(await deliveries.progress(id.id)).not.toHaveProperty('roundTrigger');
    await deliveries.recordAttempt({ identity: id, round: LATEST_ROUND, holder: 'm-retry', attempt: attempt(1, 400, 3), status: 'failed', now: 'r2', expiresAt: 2e9 });
    const record = await deliveries.get(id.id);
    expect(record).toMatchObject({ status: 'failed', rounds: 3, attemptCount: 3, httpStatusCode: 400, subscriptionStatus: 'wh_A#failed' });
    expect(record?.attempts.map((a) => [a.round, a.attempt, a.statusCode])).toEqual([
      [1, 1, 503],
      [2, 1, 200],
      [3, 1, 400],
    ]);
  });

  it('keeps counting past the stored-history cap without growing the item', async () => {
    const id = identity('dlv_cap');
    const total = MAX_STORED_ATTEMPTS + 3;
    for (let n = 1; n <= total; n += 1) {
      const claimed = await deliveries.claim(claimInput(id.id, { attempt: n, holder: `m:${n}`, now: T0 + n * 1_000, leaseUntil: T0 + n * 1_000 + 500 }));
      expect(claimed.claimed, `claim of attempt ${n}`).toBe(true);
      const written = await deliveries.recordAttempt({ identity: id, round: '0', holder: `m:${n}`, attempt: attempt(n), status: n < total ? 'pending' : 'failed', now: 'n', expiresAt: 1 });
      expect(written, `record of attempt ${n}`).toBe('recorded');
    }
    const record = await deliveries.get('dlv_cap');
    expect(record?.attemptCount).toBe(total);
    expect((await deliveries.progress('dlv_cap'))?.completed).toBe(total);
    expect(record?.attempts).toHaveLength(MAX_STORED_ATTEMPTS);
    expect(record?.attempts.at(-1)?.attempt).toBe(MAX_STORED_ATTEMPTS);
    // The summary shows the latest attempt even when the history no longer grows.
    expect(record).toMatchObject({ status: 'failed', errorKind: 'timeout', lastAttemptAt: attempt(total).at });
  });
});

describe('DeliveriesStore: listing and ending', () => {
  it('lists newest first, filters by status (succeeded through the by-subscription index), event type and time, and pages with cursors', async () => {
    for (let n = 1; n <= 5; n += 1) {
      await seedDeliveryAttempt(deliveries, {
        identity: { ...identity(`dlv_list${n}`, 'wh_LIST'), eventType: n % 2 === 0 ? 'turn.created' : 'thread.completed' },
        attempt: attempt(1, n === 5 || n === 3 ? 200 : 500),
        status: n === 5 || n === 3 ? 'succeeded' : 'pending',
        now: `2026-02-0${n}T00:00:00.000Z`,
        expiresAt: 1,
      });
    }
    const first = await deliveries.list('wh_LIST', { limit: 2 });
    expect(first.items.map((d) => d.id)).toEqual(['dlv_list5', 'dlv_list4']);
    const second = await deliveries.list('wh_LIST', { limit: 2, cursor: first.nextCursor });
    expect(second.items.map((d) => d.id)).toEqual(['dlv_list3', 'dlv_list2']);
    expect((await deliveries.list('wh_LIST', { limit: 10, status: 'succeeded' })).items.map((d) => d.id)).toEqual(['dlv_list5', 'dlv_list3']);
    expect((await deliveries.list('wh_LIST', { limit: 10, status: 'succeeded', eventType: 'thread.completed', since: '2026-02-04T00:00:00.000Z' })).items.map((d) => d.id)).toEqual(['dlv_list5']);
    expect((await deliveries.list('wh_LIST', { limit: 10, status: 'pending' })).items.map((d) => d.id)).toEqual(['dlv_list4', 'dlv_list2', 'dlv_list1']);
    // A filtered page may hold fewer than `limit` items; its cursor still leads to the rest.
    const succeededPage = await deliveries.list('wh_LIST', { limit: 2, status: 'succeeded' });
    expect(succeededPage.items.map((d) => d.id)).toEqual(['dlv_list5']);
    expect((await deliveries.list('wh_LIST', { limit: 10, status: 'succeeded', cursor: succeededPage.nextCursor })).items.map((d) => d.id)).toEqual(['dlv_list3']);
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
    // No bookkeeping in a summary.
    for (const item of first.items) {
      for (const hidden of ['subscriptionStatus', 'createdKey', 'leaseHolder', 'leaseUntil']) expect(item).not.toHaveProperty(hidden);
    }
    await expect(deliveries.list('wh_OTHER', { limit: 2, cursor: first.nextCursor })).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it('ends pending deliveries as disabled, and only pending ones; a new round puts a delivery back on the pending view', async () => {
    const changed = await deliveries.endPendingAsDisabled('wh_LIST', 'subscription disabled', '2026-03-01T00:00:00.000Z');
    expect(changed).toBe(3);
    expect((await deliveries.list('wh_LIST', { limit: 10, status: 'disabled' })).items).toHaveLength(3);
    expect((await deliveries.get('dlv_list5'))?.status).toBe('succeeded');
    await seedDeliveryAttempt(deliveries, {
      identity: identity('dlv_list5', 'wh_LIST'),
      round: LATER_ROUND,
      attempt: attempt(1, 503),
      status: 'pending',
      now: '2026-03-02T00:00:00.000Z',
      expiresAt: 1,
    });
    expect((await deliveries.list('wh_LIST', { limit: 10, status: 'pending' })).items.map((d) => d.id)).toEqual(['dlv_list5']);
    expect((await deliveries.list('wh_LIST', { limit: 10, status: 'succeeded' })).items.map((d) => d.id)).toEqual(['dlv_list3']);
  });

  it('ends a delivery without an attempt, keeping an earlier URL, naming a parked message, and never undoing a success', async () => {
    await deliveries.endWithoutAttempt(identity('dlv_gone'), 'disabled', 'subscription is disabled', 'now', 1);
    expect(await deliveries.get('dlv_gone')).toMatchObject({ status: 'disabled', attemptCount: 0, attempts: [], errorMessage: 'subscription is disabled' });

    await deliveries.endWithoutAttempt({ ...identity('dlv_gone'), webhookUrl: '(deleted)' }, 'disabled', 'subscription was deleted', 'later', 1);
    expect(await deliveries.get('dlv_gone')).toMatchObject({ webhookUrl: 'https://example.com/hook', errorMessage: 'subscription was deleted' });

    await deliveries.endWithoutAttempt(identity('dlv_past'), 'failed', 'attempt 3 is past maxAttempts 2', 'now', 1, { parkedMessageId: 'm-past', parkedNonce: 'n-past' });
    expect(await deliveries.progress('dlv_past')).toMatchObject({ status: 'failed', parkedMessageId: 'm-past', parkedNonce: 'n-past' });
    expect((await deliveries.list('wh_A', { limit: 10, status: 'failed' })).items.map((d) => d.id)).toContain('dlv_past');

    await deliveries.endWithoutAttempt(identity('dlv_next'), 'disabled', 'subscription is disabled', 'later', 1);
    expect((await deliveries.get('dlv_next'))?.status).toBe('succeeded');
  });
});

describe('EventsStore', () => {
  const event = {
    fleetId: 'fleet_1',
    id: 'evt_1',
    type: 'thread.completed',
    timestamp: '2026-01-05T10:00:00.000Z',
    timeKey: eventTimeKey('2026-01-05T10:00:00.000Z', 'evt_1'),
    data: { n: 1 },
    source: 'api' as const,
    expiresAt: 1,
  };

  it('stores an event once and reports the stored copy on a repeat', async () => {
    expect((await events.putIfAbsent(event)).created).toBe(true);
    const repeat = await events.putIfAbsent({ ...event, data: { n: 2 } });
    expect(repeat.created).toBe(false);
    expect(repeat.event.data).toEqual({ n: 1 });
    await events.markFannedOut('fleet_1', 'evt_1', '2026-01-05T10:00:01.000Z', 2e9);
    expect((await events.get('fleet_1', 'evt_1'))?.fannedOutAt).toBe('2026-01-05T10:00:01.000Z');
  });

  it('binds an idempotency key to the first event id for its window only', async () => {
    expect(await events.claimIdempotencyKey('fleet_1', 'key-1', 'evt_A', 1_000, 86_400)).toBe('evt_A');
    expect(await events.claimIdempotencyKey('fleet_1', 'key-1', 'evt_B', 2_000, 86_400)).toBe('evt_A');
    expect(await events.claimIdempotencyKey('fleet_2', 'key-1', 'evt_C', 2_000, 86_400)).toBe('evt_C');
    expect(await events.claimIdempotencyKey('fleet_1', 'key-1', 'evt_D', 1_000 + 86_400, 86_400)).toBe('evt_D');
  });

  it('lists a fleet\'s events by time, both ends inclusive, with cursors', async () => {
    await events.putIfAbsent({ ...event, id: 'evt_2', timestamp: '2026-01-06T00:00:00.000Z', timeKey: eventTimeKey('2026-01-06T00:00:00.000Z', 'evt_2') });
    await events.putIfAbsent({ ...event, id: 'evt_3', timestamp: '2026-01-07T00:00:00.000Z', timeKey: eventTimeKey('2026-01-07T00:00:00.000Z', 'evt_3') });
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
    ...sealedSecrets('fleet_1', 'wh_1'),
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

  it('replaces the sealed secret only while it is the one the caller read (racing rotations lose nothing)', async () => {
    await subscriptions.create({ ...sub, id: 'wh_r' });
    const read = await subscriptions.get('fleet_1', 'wh_r', true);
    const rotated = sealedSecrets('fleet_1', 'wh_r', { current: 'whsec_b', previous: 'whsec_a', previousExpiresAt: '2030-01-01T00:00:00.000Z' });
    const updated = await subscriptions.replaceSecret('fleet_1', 'wh_r', read!.sealedSecret, rotated, 't9');
    expect(updated).toMatchObject({ ...rotated, updatedAt: 't9', name: 'first' });
    // A second writer that read the old value loses, and says so.
    expect(await subscriptions.replaceSecret('fleet_1', 'wh_r', read!.sealedSecret, sealedSecrets('fleet_1', 'wh_r'), 't10')).toBe('changed');
    // Without a previous secret the grace fields go; a rekey (no time) leaves updatedAt.
    const plain = sealedSecrets('fleet_1', 'wh_r', { current: 'whsec_c' });
    const rekeyed = await subscriptions.replaceSecret('fleet_1', 'wh_r', rotated.sealedSecret, plain, undefined);
    expect(rekeyed).toMatchObject({ sealedSecret: plain.sealedSecret, updatedAt: 't9' });
    expect(rekeyed).not.toHaveProperty('sealedPreviousSecret');
    expect(rekeyed).not.toHaveProperty('previousSecretExpiresAt');
    expect(await subscriptions.replaceSecret('fleet_2', 'wh_r', plain.sealedSecret, rotated, 't11')).toBe('missing');
    await subscriptions.delete('fleet_1', 'wh_r');
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

describe('SubscriptionsStore: endpoint health', () => {
  const fresh = async (id: string, overrides: Partial<SubscriptionRecord> = {}): Promise<void> => {
    await subscriptions.create({
      fleetId: 'fleet_h',
      id,
      url: 'https://example.com/h',
      enabled: true,
      ...sealedSecrets('fleet_h', id),
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      ...overrides,
    });
  };
  const stored = (id: string) => subscriptions.get('fleet_h', id, true);
  const iso = (ms: number) => new Date(ms).toISOString();
  const openedAt = (ms: number, cooldownSeconds = 30): CircuitRecord => ({ state: 'open', since: iso(ms), openUntil: iso(ms + cooldownSeconds * 1000), cooldownSeconds });

  it('recordFailure starts the failing clock once, keeps the last error, and counts only failures that count against the circuit', async () => {
    await fresh('wh_rf');
    expect(await subscriptions.recordFailure('fleet_h', 'wh_rf', { now: 't1', lastError: 'HTTP 404', countsForCircuit: false })).toEqual({ failingSince: 't1', consecutiveFailures: 0 });
    expect(await subscriptions.recordFailure('fleet_h', 'wh_rf', { now: 't2', lastError: 'HTTP 503', countsForCircuit: true })).toEqual({ failingSince: 't1', consecutiveFailures: 1 });
    expect(await subscriptions.recordFailure('fleet_h', 'wh_rf', { now: 't3', lastError: 'timeout', countsForCircuit: true })).toEqual({ failingSince: 't1', consecutiveFailures: 2 });
    expect(await subscriptions.recordFailure('fleet_h', 'wh_rf', { now: 't4', lastError: 'HTTP 400', countsForCircuit: false })).toEqual({ failingSince: 't1', consecutiveFailures: 2 });
    expect(await stored('wh_rf')).toMatchObject({ failingSince: 't1', consecutiveFailures: 2, lastError: 'HTTP 400' });
    // Concurrent failures from several dispatchers all count.
    await Promise.all(Array.from({ length: 5 }, () => subscriptions.recordFailure('fleet_h', 'wh_rf', { now: 't5', lastError: 'x', countsForCircuit: true })));
    expect((await stored('wh_rf'))?.consecutiveFailures).toBe(7);
    // A deleted subscription is not brought back by a failure.
    expect(await subscriptions.recordFailure('fleet_h', 'wh_gone', { now: 't1', lastError: 'x', countsForCircuit: true })).toBeUndefined();
    expect(await stored('wh_gone')).toBeUndefined();
  });

  it('openCircuit from closed succeeds once; reopening only from half-open', async () => {
    await fresh('wh_oc');
    const first = openedAt(T0);
    expect(await subscriptions.openCircuit('fleet_h', 'wh_oc', first, 'closed')).toBe(true);
    // A second dispatcher reaching the threshold at the same time does not restart the cool-down.
    expect(await subscriptions.openCircuit('fleet_h', 'wh_oc', openedAt(T0 + 5_000), 'closed')).toBe(false);
    expect((await stored('wh_oc'))?.circuit).toEqual(first);
    // Open, not half-open: no reopening (only a probe that failed may).
    expect(await subscriptions.openCircuit('fleet_h', 'wh_oc', openedAt(T0 + 5_000, 60), 'half-open')).toBe(false);
    expect(await subscriptions.claimProbe('fleet_h', 'wh_oc', T0 + 30_000, T0 + 90_000)).toBe(true);
    const reopened = { ...openedAt(T0 + 31_000, 60), since: first.since };
    expect(await subscriptions.openCircuit('fleet_h', 'wh_oc', reopened, 'half-open')).toBe(true);
    expect((await stored('wh_oc'))?.circuit).toEqual(reopened);
    expect(await subscriptions.openCircuit('fleet_h', 'wh_oc', openedAt(T0 + 32_000, 120), 'half-open')).toBe(false);
    // Never on a subscription that does not exist.
    expect(await subscriptions.openCircuit('fleet_h', 'wh_none', first, 'closed')).toBe(false);
    expect(await subscriptions.openCircuit('fleet_h', 'wh_none', first, 'half-open')).toBe(false);
    expect(await stored('wh_none')).toBeUndefined();
  });

  it('claimProbe: only after the cool-down, one winner among concurrent callers, again only once that probe has died', async () => {
    await fresh('wh_cp', { circuit: openedAt(T0) });
    // Cool-down not over.
    expect(await subscriptions.claimProbe('fleet_h', 'wh_cp', T0 + 29_999, T0 + 90_000)).toBe(false);
    expect((await stored('wh_cp'))?.circuit?.state).toBe('open');
    const results = await Promise.all(Array.from({ length: 6 }, () => subscriptions.claimProbe('fleet_h', 'wh_cp', T0 + 30_000, T0 + 60_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await stored('wh_cp'))?.circuit).toMatchObject({ state: 'half-open', probeUntil: T0 + 60_000, openUntil: iso(T0 + 30_000) });
    // The probe is live (its lease until T0+60 s, inclusive): nobody else probes.
    expect(await subscriptions.claimProbe('fleet_h', 'wh_cp', T0 + 45_000, T0 + 100_000)).toBe(false);
    expect(await subscriptions.claimProbe('fleet_h', 'wh_cp', T0 + 60_000, T0 + 100_000)).toBe(false);
    // The probe's dispatcher died: one new probe takes over.
    const takeover = await Promise.all(Array.from({ length: 4 }, () => subscriptions.claimProbe('fleet_h', 'wh_cp', T0 + 60_001, T0 + 120_000)));
    expect(takeover.filter(Boolean)).toHaveLength(1);
    expect((await stored('wh_cp'))?.circuit?.probeUntil).toBe(T0 + 120_000);
    // A probe that made no POST hands the circuit back at once; another holder's hold is left alone.
    await subscriptions.releaseProbe('fleet_h', 'wh_cp', T0 + 60_000);
    expect((await stored('wh_cp'))?.circuit?.state).toBe('half-open');
    await subscriptions.releaseProbe('fleet_h', 'wh_cp', T0 + 120_000);
    expect((await stored('wh_cp'))?.circuit).toMatchObject({ state: 'open', openUntil: iso(T0 + 30_000) });
    expect((await stored('wh_cp'))?.circuit?.probeUntil).toBeUndefined();
    expect(await subscriptions.claimProbe('fleet_h', 'wh_cp', T0 + 70_000, T0 + 130_000)).toBe(true);
    // closeCircuit removes the circuit and the count, and keeps the failing clock.
    await fresh('wh_cc', { circuit: openedAt(T0), consecutiveFailures: 12, failingSince: iso(T0 - 1_000) });
    await subscriptions.closeCircuit('fleet_h', 'wh_cc');
    expect(await stored('wh_cc')).toMatchObject({ failingSince: iso(T0 - 1_000) });
    expect((await stored('wh_cc'))?.circuit).toBeUndefined();
    expect((await stored('wh_cc'))?.consecutiveFailures).toBeUndefined();
    // A closed circuit has no probe.
    await fresh('wh_cp_closed');
    expect(await subscriptions.claimProbe('fleet_h', 'wh_cp_closed', T0 + 60_000, T0 + 120_000)).toBe(false);
    expect((await stored('wh_cp_closed'))?.circuit).toBeUndefined();
  });

  it('clearFailing removes the streak, its error and the circuit, leaving the rest; a second call is a no-op', async () => {
    await fresh('wh_cf', { failingSince: 't1', consecutiveFailures: 12, lastError: 'HTTP 503', circuit: openedAt(T0), slowSince: 't0', lastTriggeredAt: 't2' });
    await subscriptions.clearFailing('fleet_h', 'wh_cf');
    const item = await stored('wh_cf');
    for (const field of ['failingSince', 'consecutiveFailures', 'lastError', 'circuit']) expect(item).not.toHaveProperty(field);
    expect(item).toMatchObject({ slowSince: 't0', lastTriggeredAt: 't2', enabled: true });
    await expect(subscriptions.clearFailing('fleet_h', 'wh_cf')).resolves.toBeUndefined();
    // Nothing is created for a subscription that does not exist.
    await subscriptions.clearFailing('fleet_h', 'wh_cf_none');
    expect(await stored('wh_cf_none')).toBeUndefined();
  });

  it('setSlow marks once (the first time stands), clears, and never creates an item', async () => {
    await fresh('wh_sl');
    await subscriptions.setSlow('fleet_h', 'wh_sl', 't1');
    await subscriptions.setSlow('fleet_h', 'wh_sl', 't2');
    expect((await stored('wh_sl'))?.slowSince).toBe('t1');
    await subscriptions.setSlow('fleet_h', 'wh_sl', undefined);
    expect(await stored('wh_sl')).not.toHaveProperty('slowSince');
    await expect(subscriptions.setSlow('fleet_h', 'wh_sl', undefined)).resolves.toBeUndefined();
    await subscriptions.setSlow('fleet_h', 'wh_sl', 't3');
    expect((await stored('wh_sl'))?.slowSince).toBe('t3');
    await subscriptions.setSlow('fleet_h', 'wh_sl_none', 't1');
    expect(await stored('wh_sl_none')).toBeUndefined();
  });

  it('touch writes lastTriggeredAt at most once a minute', async () => {
    await fresh('wh_t');
    const minuteBefore = (ms: number) => iso(ms - 60_000);
    await subscriptions.touch('fleet_h', 'wh_t', iso(T0), minuteBefore(T0));
    expect((await stored('wh_t'))?.lastTriggeredAt).toBe(iso(T0));
    // Within the minute: the stored time is recent enough, no write.
    await subscriptions.touch('fleet_h', 'wh_t', iso(T0 + 59_000), minuteBefore(T0 + 59_000));
    expect((await stored('wh_t'))?.lastTriggeredAt).toBe(iso(T0));
    await subscriptions.touch('fleet_h', 'wh_t', iso(T0 + 61_000), minuteBefore(T0 + 61_000));
    expect((await stored('wh_t'))?.lastTriggeredAt).toBe(iso(T0 + 61_000));
    await subscriptions.touch('fleet_h', 'wh_t_none', iso(T0), minuteBefore(T0));
    expect(await stored('wh_t_none')).toBeUndefined();
  });
});

describe('EndpointGates', () => {
  const SECOND = Math.floor(T0 / 1000) * 1000 + 7_000;

  it('rate tokens: exactly `limit` per second across concurrent callers, and the next second is fresh', async () => {
    const taken = await Promise.all(Array.from({ length: 8 }, (_, i) => gates.takeRateToken('wh_rate', 3, SECOND + i * 100)));
    expect(taken.filter(Boolean)).toHaveLength(3);
    expect(await gates.takeRateToken('wh_rate', 3, SECOND + 999)).toBe(false);
    // Another subscription's tokens are its own.
    expect(await gates.takeRateToken('wh_rate_other', 3, SECOND)).toBe(true);
    // The next second.
    const next = [];
    for (let i = 0; i < 4; i += 1) next.push(await gates.takeRateToken('wh_rate', 3, SECOND + 1_000 + i));
    expect(next).toEqual([true, true, true, false]);
    // A limit of 1.
    expect(await gates.takeRateToken('wh_rate_1', 1, SECOND)).toBe(true);
    expect(await gates.takeRateToken('wh_rate_1', 1, SECOND)).toBe(false);
  });

  it('rate items expire (TTL) and cannot be mistaken for deliveries', async () => {
    await gates.takeRateToken('wh_rate_item', 5, SECOND);
    const item = (await deliveries.get(`rate#wh_rate_item#${SECOND / 1000}`)) as unknown as Record<string, unknown>;
    expect(item).toMatchObject({ taken: 1, expiresAt: SECOND / 1000 + 120 });
    expect(item).not.toHaveProperty('subscriptionStatus');
  });

  it('slots: at most `cap` holders, even when they ask at once', async () => {
    const holders = ['a', 'b', 'c', 'd', 'e'];
    const slots = await Promise.all(holders.map((holder) => gates.takeSlot('wh_cap', 2, holder, T0 + 60_000, T0)));
    const granted = slots.filter((slot) => slot !== undefined);
    expect(granted).toHaveLength(2);
    expect(new Set(granted)).toEqual(new Set([0, 1]));
  });

  it('slots: release only by the holder; a lapsed lease is taken over and its old holder cannot release it', async () => {
    const first = () => 0;
    expect(await gates.takeSlot('wh_lease', 2, 'a', T0 + 60_000, T0, first)).toBe(0);
    expect(await gates.takeSlot('wh_lease', 2, 'b', T0 + 1_000, T0, first)).toBe(1);
    expect(await gates.takeSlot('wh_lease', 2, 'c', T0 + 60_000, T0, first)).toBeUndefined();
    // Someone else's release is a no-op.
    await gates.releaseSlot('wh_lease', 0, 'c');
    expect(await gates.takeSlot('wh_lease', 2, 'c', T0 + 60_000, T0 + 500, first)).toBeUndefined();
    // b's holder died: once its lease has run out, its slot is taken over (a's is still held).
    expect(await gates.takeSlot('wh_lease', 2, 'd', T0 + 60_000, T0 + 2_000, first)).toBe(1);
    // b, late, gives back a slot that is no longer its own: d keeps it.
    await gates.releaseSlot('wh_lease', 1, 'b');
    expect(await gates.takeSlot('wh_lease', 2, 'e', T0 + 60_000, T0 + 2_000, first)).toBeUndefined();
    // The holder's release frees the slot.
    await gates.releaseSlot('wh_lease', 0, 'a');
    expect(await gates.takeSlot('wh_lease', 2, 'e', T0 + 60_000, T0 + 2_000, first)).toBe(0);
    // Releasing a slot never taken is harmless.
    await expect(gates.releaseSlot('wh_lease', 5, 'z')).resolves.toBeUndefined();
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
