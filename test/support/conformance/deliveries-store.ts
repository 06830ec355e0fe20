import { describe, expect, it } from 'vitest';
import type { AttemptRecord, DeliveryStatus } from '../../../lambdas/core/records';
import { InvalidCursorError } from '../../../lambdas/shared/cursor';
import {
  MAX_STORED_ATTEMPTS,
  type AttemptWrite,
  type ClaimInput,
  type DeliveriesStorePort,
  type DeliveryIdentity,
} from '../../../lambdas/shared/deliveries-store';

/** Epoch ms of the first claim; leases and the interrupted-attempt check compare against it. */
const NOW = Date.parse('2026-01-01T00:00:00.000Z');
const LEASE_MS = 60_000;
const EXPIRES_AT = NOW / 1000 + 86_400;
const iso = (ms: number) => new Date(ms).toISOString();
/** A later round's id: rounds after the fan-out's `0` are ULIDs, which sort after it. */
const ROUND_2 = '01KBCDE0000000000000000000';
const ROUND_3 = '01KBCDE0000000000000000001';

/**
 * The deliveries store's contract, run against the DynamoDB store on dynalite
 * (test/integration/deliveries-store.conformance.test.ts) and the in-memory one
 * (test/unit/shared/deliveries-store.conformance.test.ts). `open` gives an empty store.
 */
export function describeDeliveriesStoreConformance(label: string, open: () => Promise<DeliveriesStorePort>): void {
  const identity = (id: string, overrides: Partial<DeliveryIdentity> = {}): DeliveryIdentity => ({
    id,
    fleetId: 'fleet_a',
    subscriptionId: 'wh_1',
    eventId: `evt_${id}`,
    eventType: 'order.created',
    webhookUrl: 'https://example.com/hook',
    ...overrides,
  });
  const claimOf = (id: string, overrides: Partial<ClaimInput> = {}): ClaimInput => ({
    id,
    round: '0',
    attempt: 1,
    holder: 'msg_1',
    leaseUntil: NOW + LEASE_MS,
    now: NOW,
    newRound: true,
    expiresAt: EXPIRES_AT,
    ...overrides,
  });
  const attemptOf = (number: number, overrides: Partial<AttemptRecord> = {}): AttemptRecord => ({
    round: 1,
    attempt: number,
    at: iso(NOW + number * 1000),
    statusCode: 500,
    latencyMs: 40 + number,
    ...overrides,
  });
  const writeOf = (who: DeliveryIdentity, attempt: AttemptRecord, overrides: Partial<AttemptWrite> = {}): AttemptWrite => ({
    identity: who,
    round: '0',
    attempt,
    holder: 'msg_1',
    status: 'pending',
    now: attempt.at,
    expiresAt: EXPIRES_AT,
    ...overrides,
  });
  /** A delivery of one attempt, created at `createdAt`, ending with `status`. */
  const deliver = async (store: DeliveriesStorePort, who: DeliveryIdentity, createdAt: string, status: DeliveryStatus = 'pending') => {
    expect(await store.claim(claimOf(who.id))).toEqual({ claimed: true, roundNumber: 1 });
    const attempt = attemptOf(1, { at: createdAt, ...(status === 'succeeded' ? { statusCode: 200 } : {}) });
    expect(await store.recordAttempt(writeOf(who, attempt, { status }))).toBe('recorded');
  };

  describe(`deliveries store conformance: ${label}`, () => {
    it('claims attempt 1 of a new delivery once: a duplicate claim is refused while the lease is live, with the progress', async () => {
      const store = await open();
      expect(await store.progress('dlv_1')).toBeUndefined();
      expect(await store.claim(claimOf('dlv_1'))).toEqual({ claimed: true, roundNumber: 1 });
      const duplicate = await store.claim(claimOf('dlv_1', { holder: 'msg_2', now: NOW + 1000 }));
      expect(duplicate).toEqual({
        claimed: false,
        progress: { id: 'dlv_1', round: '0', rounds: 1, started: 1, completed: 0, leaseUntil: NOW + LEASE_MS, leaseHolder: 'msg_1' },
      });
      // A claim of the round's next attempt is no way around a live lease either.
      expect((await store.claim(claimOf('dlv_1', { attempt: 2, newRound: false, holder: 'msg_2', now: NOW + 1000 }))).claimed).toBe(false);
      expect(await store.progress('dlv_1')).toEqual(duplicate.claimed ? undefined : duplicate.progress);
    });

    it('lets an expired lease be taken over by a later round, and records an interrupted attempt only once its lease ran out', async () => {
      const store = await open();
      const who = identity('dlv_1');
      await store.claim(claimOf('dlv_1'));
      // The holder never reported. Before the lease ends, nobody may take over or record for it.
      expect((await store.claim(claimOf('dlv_1', { round: ROUND_2, holder: 'msg_2', now: NOW + LEASE_MS - 1 }))).claimed).toBe(false);
      expect(await store.recordAttempt(writeOf(who, attemptOf(1), { holder: undefined, now: iso(NOW + LEASE_MS - 1) }))).toBe('stale');
      // After it, the interrupted attempt is recorded by anyone, once.
      const interrupted = writeOf(who, attemptOf(1, { statusCode: undefined, errorKind: 'timeout', errorMessage: 'interrupted' }), {
        holder: undefined,
        now: iso(NOW + LEASE_MS + 1),
      });
      expect(await store.recordAttempt(interrupted)).toBe('recorded');
      expect(await store.recordAttempt(interrupted)).toBe('stale');
      expect(await store.progress('dlv_1')).toMatchObject({ status: 'pending', round: '0', started: 1, completed: 1 });
      expect(await store.progress('dlv_1')).not.toHaveProperty('leaseHolder');
      // A new round may also take over a lease that ran out with nothing recorded.
      await store.claim(claimOf('dlv_2'));
      const takeover = await store.claim(claimOf('dlv_2', { round: ROUND_2, holder: 'msg_3', now: NOW + LEASE_MS + 1, leaseUntil: NOW + 3 * LEASE_MS }));
      expect(takeover).toEqual({ claimed: true, roundNumber: 2 });
      expect(await store.progress('dlv_2')).toMatchObject({ round: ROUND_2, rounds: 2, started: 1, completed: 0, leaseHolder: 'msg_3' });
    });

    it('claims only the next attempt of the round: after the last one is recorded, while pending, and a later one than claimed', async () => {
      const store = await open();
      const who = identity('dlv_1');
      await store.claim(claimOf('dlv_1'));
      // Not before attempt 1 is recorded, even once its lease ran out.
      expect((await store.claim(claimOf('dlv_1', { attempt: 2, newRound: false, holder: 'msg_2', now: NOW + LEASE_MS + 1 }))).claimed).toBe(false);
      await store.recordAttempt(writeOf(who, attemptOf(1), { nextAttemptAt: iso(NOW + 10_000) }));
      const next = (attempt: number, holder: string) => claimOf('dlv_1', { attempt, newRound: false, holder, now: NOW + 2000 });
      expect((await store.claim(next(1, 'msg_1b'))).claimed).toBe(false);
      expect(await store.claim(next(2, 'msg_2'))).toEqual({ claimed: true, roundNumber: 1 });
      expect(await store.progress('dlv_1')).toMatchObject({ started: 2, completed: 1, leaseHolder: 'msg_2', nextAttemptAt: iso(NOW + 10_000) });
      await store.recordAttempt(writeOf(who, attemptOf(2), { holder: 'msg_2', status: 'failed' }));
      // A failed delivery takes no further attempt of its round.
      expect((await store.claim(next(3, 'msg_3'))).claimed).toBe(false);
      // A claim of a round that is not the current one is refused.
      expect((await store.claim(claimOf('dlv_1', { round: ROUND_2, attempt: 3, newRound: false, holder: 'msg_4', now: NOW + 2000 }))).claimed).toBe(false);
      // Nor is a claim of a delivery that does not exist created by a follow-up attempt.
      expect((await store.claim(claimOf('dlv_missing', { attempt: 2, newRound: false }))).claimed).toBe(false);
      expect(await store.progress('dlv_missing')).toBeUndefined();
    });

    it('lets a later round supersede: the older round can no longer claim or record, an equal or earlier round cannot begin', async () => {
      const store = await open();
      const who = identity('dlv_1');
      await store.claim(claimOf('dlv_1'));
      await store.recordAttempt(writeOf(who, attemptOf(1), { status: 'failed', parkedMessageId: 'msg_1', parkedNonce: 'nonce_1' }));
      expect(await store.progress('dlv_1')).toMatchObject({ parkedMessageId: 'msg_1', parkedNonce: 'nonce_1', status: 'failed' });
      const round2 = await store.claim(claimOf('dlv_1', { round: ROUND_2, holder: 'msg_r2', trigger: 'msg_redriven', now: NOW + 5000 }));
      expect(round2).toEqual({ claimed: true, roundNumber: 2 });
      const progress = await store.progress('dlv_1');
      expect(progress).toMatchObject({ round: ROUND_2, rounds: 2, started: 1, completed: 0, leaseHolder: 'msg_r2', roundTrigger: 'msg_redriven' });
      expect(progress).not.toHaveProperty('parkedMessageId');
      expect(progress).not.toHaveProperty('parkedNonce');
      await store.recordAttempt(writeOf(who, attemptOf(1, { round: 2 }), { round: ROUND_2, holder: 'msg_r2' }));
      // The old round's late messages are refused.
      expect((await store.claim(claimOf('dlv_1', { attempt: 2, newRound: false, holder: 'msg_old', now: NOW + 6000 }))).claimed).toBe(false);
      expect(await store.recordAttempt(writeOf(who, attemptOf(1), { holder: 'msg_1' }))).toBe('stale');
      expect((await store.claim(claimOf('dlv_1', { holder: 'msg_old', now: NOW + 6000 }))).claimed).toBe(false);
      expect((await store.claim(claimOf('dlv_1', { round: ROUND_2, holder: 'msg_again', now: NOW + 6000 }))).claimed).toBe(false);
      // A round without a trigger clears the previous round's.
      expect(await store.claim(claimOf('dlv_1', { round: ROUND_3, holder: 'msg_r3', now: NOW + 7000 }))).toEqual({ claimed: true, roundNumber: 3 });
      expect(await store.progress('dlv_1')).not.toHaveProperty('roundTrigger');
    });

    it('records an attempt once, only for the claim holder: a stale holder or a repeat is refused and changes nothing', async () => {
      const store = await open();
      const who = identity('dlv_1');
      await store.claim(claimOf('dlv_1'));
      expect(await store.recordAttempt(writeOf(who, attemptOf(1), { holder: 'msg_other' }))).toBe('stale');
      expect(await store.progress('dlv_1')).toMatchObject({ started: 1, completed: 0, leaseHolder: 'msg_1' });
      expect(await store.get('dlv_1')).not.toHaveProperty('status');
      expect(await store.recordAttempt(writeOf(who, attemptOf(1)))).toBe('recorded');
      expect(await store.recordAttempt(writeOf(who, attemptOf(1, { statusCode: 201 }), { status: 'succeeded' }))).toBe('stale');
      const record = await store.get('dlv_1');
      expect(record).toMatchObject({ status: 'pending', attemptCount: 1, httpStatusCode: 500 });
      expect(record?.attempts).toHaveLength(1);
      // An attempt that was never claimed is not recorded.
      expect(await store.recordAttempt(writeOf(identity('dlv_unclaimed'), attemptOf(1)))).toBe('stale');
      expect(await store.get('dlv_unclaimed')).toBeUndefined();
    });

    it('shows the latest attempt on the record and keeps every attempt in its long-named shape', async () => {
      const store = await open();
      const who = identity('dlv_1');
      await store.claim(claimOf('dlv_1'));
      const first = attemptOf(1, { responseContentLength: 12, responseHeaders: { 'content-type': 'text/plain' }, responseBodyExcerpt: 'nope', retryInSeconds: 10 });
      await store.recordAttempt(writeOf(who, first, { nextAttemptAt: iso(NOW + 11_000) }));
      await store.claim(claimOf('dlv_1', { attempt: 2, newRound: false, holder: 'msg_2', now: NOW + 12_000 }));
      const second = attemptOf(2, { statusCode: undefined, errorKind: 'timeout', errorMessage: 'timed out after 10s' });
      await store.recordAttempt(writeOf(who, second, { holder: 'msg_2' }));
      const record = await store.get('dlv_1');
      expect(record).toMatchObject({
        id: 'dlv_1',
        fleetId: 'fleet_a',
        subscriptionId: 'wh_1',
        eventId: 'evt_dlv_1',
        eventType: 'order.created',
        webhookUrl: 'https://example.com/hook',
        status: 'pending',
        attemptCount: 2,
        lastAttemptAt: second.at,
        latencyMs: second.latencyMs,
        errorKind: 'timeout',
        errorMessage: 'timed out after 10s',
        createdAt: first.at,
        updatedAt: second.at,
        createdKey: `${first.at}#dlv_1`,
        subscriptionStatus: 'wh_1#pending',
        expiresAt: EXPIRES_AT,
        round: '0',
        rounds: 1,
        started: 2,
        completed: 2,
      });
      for (const field of ['httpStatusCode', 'responseContentLength', 'nextAttemptAt', 'leaseUntil', 'leaseHolder', 'responseHeaders']) {
        expect(record).not.toHaveProperty(field);
      }
      expect(record?.attempts).toEqual([first, second]);
    });

    it(`keeps at most ${MAX_STORED_ATTEMPTS} attempts in the history while counting and showing every later one`, async () => {
      const store = await open();
      const who = identity('dlv_1');
      const total = MAX_STORED_ATTEMPTS + 2;
      for (let number = 1; number <= total; number += 1) {
        const holder = `msg_${number}`;
        const claim = claimOf('dlv_1', { attempt: number, newRound: number === 1, holder, now: NOW + number * 1000 });
        expect((await store.claim(claim)).claimed).toBe(true);
        expect(await store.recordAttempt(writeOf(who, attemptOf(number), { holder }))).toBe('recorded');
      }
      const record = await store.get('dlv_1');
      expect(record?.attemptCount).toBe(total);
      expect(record?.lastAttemptAt).toBe(attemptOf(total).at);
      expect(record?.latencyMs).toBe(attemptOf(total).latencyMs);
      expect(record?.attempts).toHaveLength(MAX_STORED_ATTEMPTS);
      expect(record?.attempts.at(-1)).toEqual(attemptOf(MAX_STORED_ATTEMPTS));
      expect(await store.progress('dlv_1')).toMatchObject({ started: total, completed: total });
    });

    it('ends a delivery without an attempt: a new one is created ended, a claimed attempt counts, a succeeded one stays succeeded', async () => {
      const store = await open();
      const at = iso(NOW);
      await store.endWithoutAttempt(identity('dlv_new'), 'disabled', 'the webhook is disabled', at, EXPIRES_AT);
      expect(await store.get('dlv_new')).toEqual({
        ...identity('dlv_new'),
        status: 'disabled',
        errorMessage: 'the webhook is disabled',
        attemptCount: 0,
        attempts: [],
        createdAt: at,
        updatedAt: at,
        createdKey: `${at}#dlv_new`,
        subscriptionStatus: 'wh_1#disabled',
        expiresAt: EXPIRES_AT,
      });

      // A claimed attempt of a gone subscription: completed without a POST, the claim released, parked for the DLQ.
      await store.claim(claimOf('dlv_claimed'));
      await store.endWithoutAttempt(identity('dlv_claimed', { webhookUrl: 'https://other.example/' }), 'failed', 'secret unusable', at, EXPIRES_AT, {
        claimedAttempt: 1,
        parkedMessageId: 'msg_1',
        parkedNonce: 'nonce_1',
      });
      const ended = await store.progress('dlv_claimed');
      expect(ended).toMatchObject({ status: 'failed', started: 1, completed: 1, parkedMessageId: 'msg_1', parkedNonce: 'nonce_1' });
      expect(ended).not.toHaveProperty('leaseUntil');
      expect(ended).not.toHaveProperty('leaseHolder');

      // An earlier attempt's URL is kept; a success is never overwritten.
      await deliver(store, identity('dlv_ok'), iso(NOW + 1000), 'succeeded');
      const before = await store.get('dlv_ok');
      await store.endWithoutAttempt(identity('dlv_ok', { webhookUrl: 'https://changed.example/' }), 'disabled', 'late', iso(NOW + 2000), EXPIRES_AT);
      expect(await store.get('dlv_ok')).toEqual(before);
      await deliver(store, identity('dlv_pending'), iso(NOW + 1000));
      await store.endWithoutAttempt(identity('dlv_pending', { webhookUrl: 'https://changed.example/' }), 'disabled', 'off', iso(NOW + 2000), EXPIRES_AT);
      expect(await store.get('dlv_pending')).toMatchObject({ status: 'disabled', webhookUrl: 'https://example.com/hook', attemptCount: 1, errorMessage: 'off' });
    });

    it('lists a subscription newest first, each delivery once across pages, never another subscription\'s, without the storage fields', async () => {
      const store = await open();
      const ids = Array.from({ length: 7 }, (_, index) => `dlv_${index}`);
      for (const [index, id] of ids.entries()) await deliver(store, identity(id), iso(NOW + index * 1000));
      await deliver(store, identity('dlv_other', { subscriptionId: 'wh_2' }), iso(NOW + 500));
      await deliver(store, identity('dlv_other2', { subscriptionId: 'wh_2' }), iso(NOW + 1500));
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 10; page += 1) {
        const result = await store.list('wh_1', { limit: 3, ...(cursor === undefined ? {} : { cursor }) });
        expect(result.items.length).toBeLessThanOrEqual(3);
        seen.push(...result.items.map((item) => item.id));
        cursor = result.nextCursor;
        if (cursor === undefined) break;
      }
      expect(cursor).toBeUndefined();
      expect(seen).toEqual([...ids].reverse());
      const [newest] = (await store.list('wh_1', { limit: 1 })).items;
      expect(newest).toEqual({
        ...identity('dlv_6'),
        status: 'pending',
        attemptCount: 1,
        lastAttemptAt: iso(NOW + 6000),
        httpStatusCode: 500,
        latencyMs: 41,
        createdAt: iso(NOW + 6000),
        updatedAt: iso(NOW + 6000),
      });
      expect((await store.list('wh_empty', { limit: 3 })).items).toEqual([]);
      // A cursor of another subscription's list is refused.
      const foreign = (await store.list('wh_2', { limit: 1 })).nextCursor as string;
      expect(foreign).toBeDefined();
      await expect(store.list('wh_1', { limit: 3, cursor: foreign })).rejects.toBeInstanceOf(InvalidCursorError);
    });

    it('filters a list by event type and by a time window that includes both of its ends', async () => {
      const store = await open();
      for (let index = 0; index < 6; index += 1) {
        await deliver(store, identity(`dlv_${index}`, { eventType: index % 2 === 0 ? 'order.created' : 'order.paid' }), iso(NOW + index * 1000));
      }
      const all = async (options: { eventType?: string; since?: string; until?: string }) => {
        const ids: string[] = [];
        let cursor: string | undefined;
        for (let page = 0; page < 20; page += 1) {
          const result = await store.list('wh_1', { limit: 2, ...options, ...(cursor === undefined ? {} : { cursor }) });
          ids.push(...result.items.map((item) => item.id));
          cursor = result.nextCursor;
          if (cursor === undefined) break;
        }
        return ids;
      };
      expect(await all({ eventType: 'order.paid' })).toEqual(['dlv_5', 'dlv_3', 'dlv_1']);
      expect(await all({ since: iso(NOW + 1000), until: iso(NOW + 3000) })).toEqual(['dlv_3', 'dlv_2', 'dlv_1']);
      expect(await all({ since: iso(NOW + 4000) })).toEqual(['dlv_5', 'dlv_4']);
      expect(await all({ until: iso(NOW + 1000) })).toEqual(['dlv_1', 'dlv_0']);
      expect(await all({ eventType: 'order.created', since: iso(NOW + 1000), until: iso(NOW + 4000) })).toEqual(['dlv_4', 'dlv_2']);
    });

    it('filters a list by status: pending, failed and disabled from the status index, succeeded ones leave it but are still listed', async () => {
      const store = await open();
      await deliver(store, identity('dlv_p'), iso(NOW));
      await deliver(store, identity('dlv_f'), iso(NOW + 1000), 'failed');
      await deliver(store, identity('dlv_s'), iso(NOW + 2000), 'succeeded');
      await store.endWithoutAttempt(identity('dlv_d'), 'disabled', 'off', iso(NOW + 3000), EXPIRES_AT);
      const ids = async (status: DeliveryStatus) => (await store.list('wh_1', { status, limit: 10 })).items.map((item) => item.id);
      expect(await ids('pending')).toEqual(['dlv_p']);
      expect(await ids('failed')).toEqual(['dlv_f']);
      expect(await ids('disabled')).toEqual(['dlv_d']);
      expect(await ids('succeeded')).toEqual(['dlv_s']);
      expect(await store.get('dlv_s')).not.toHaveProperty('subscriptionStatus');
      // A pending delivery that succeeds on its next attempt leaves the pending view.
      await store.claim(claimOf('dlv_p', { attempt: 2, newRound: false, holder: 'msg_2', now: NOW + 5000 }));
      await store.recordAttempt(writeOf(identity('dlv_p'), attemptOf(2, { statusCode: 200 }), { holder: 'msg_2', status: 'succeeded' }));
      expect(await ids('pending')).toEqual([]);
      expect(await ids('succeeded')).toEqual(['dlv_s', 'dlv_p']);
    });

    it('ends the pending deliveries of one subscription as disabled, counting them, and leaves the others', async () => {
      const store = await open();
      await store.claim(claimOf('dlv_1'));
      await store.recordAttempt(writeOf(identity('dlv_1'), attemptOf(1), { nextAttemptAt: iso(NOW + 60_000) }));
      await deliver(store, identity('dlv_2'), iso(NOW + 1000));
      await deliver(store, identity('dlv_ok'), iso(NOW + 2000), 'succeeded');
      await deliver(store, identity('dlv_failed'), iso(NOW + 3000), 'failed');
      await deliver(store, identity('dlv_other', { subscriptionId: 'wh_2' }), iso(NOW + 4000));
      expect(await store.endPendingAsDisabled('wh_1', 'the webhook was deleted', iso(NOW + 9000))).toBe(2);
      const ended = await store.get('dlv_1');
      expect(ended).toMatchObject({ status: 'disabled', errorMessage: 'the webhook was deleted', updatedAt: iso(NOW + 9000), subscriptionStatus: 'wh_1#disabled' });
      expect(ended).not.toHaveProperty('nextAttemptAt');
      expect((await store.get('dlv_ok'))?.status).toBe('succeeded');
      expect((await store.get('dlv_failed'))?.status).toBe('failed');
      expect((await store.get('dlv_other'))?.status).toBe('pending');
      expect((await store.list('wh_1', { status: 'disabled', limit: 10 })).items.map((item) => item.id)).toEqual(['dlv_2', 'dlv_1']);
      expect(await store.endPendingAsDisabled('wh_1', 'again', iso(NOW + 10_000))).toBe(0);
      // A disabled delivery takes no further attempt.
      expect((await store.claim(claimOf('dlv_2', { attempt: 2, newRound: false, holder: 'msg_2', now: NOW + 11_000 }))).claimed).toBe(false);
    });

    it('lets the holder record its attempt after its lease ran out, as long as nobody took the delivery over', async () => {
      const store = await open();
      const who = identity('dlv_1');
      await store.claim(claimOf('dlv_1'));
      const late = iso(NOW + LEASE_MS + 5000);
      expect(await store.recordAttempt(writeOf(who, attemptOf(1, { at: late }), { now: late }))).toBe('recorded');
      await store.claim(claimOf('dlv_2'));
      await store.claim(claimOf('dlv_2', { round: ROUND_2, holder: 'msg_2', now: NOW + LEASE_MS + 1 }));
      expect(await store.recordAttempt(writeOf(identity('dlv_2'), attemptOf(1, { at: late }), { now: late }))).toBe('stale');
      expect(await store.progress('dlv_2')).toMatchObject({ round: ROUND_2, leaseHolder: 'msg_2', completed: 0 });
    });

    it('answers nothing for a delivery it does not hold', async () => {
      const store = await open();
      expect(await store.get('dlv_missing')).toBeUndefined();
      expect(await store.progress('dlv_missing')).toBeUndefined();
      expect(await store.endPendingAsDisabled('wh_none', 'gone', iso(NOW))).toBe(0);
    });
  });
}
