import { describe, expect, it } from 'vitest';
import type { CircuitRecord, SubscriptionRecord } from '../../../lambdas/core/records';
import { isConditionalCheckFailure } from '../../../lambdas/shared/dynamo-errors';
import type { SubscriptionsStorePort } from '../../../lambdas/shared/subscriptions-store';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:01:00.000Z';
const T2 = '2026-01-01T00:02:00.000Z';

/**
 * The subscriptions store's contract, run against the DynamoDB store on dynalite
 * (test/integration/subscriptions-store.conformance.test.ts) and the in-memory one
 * (test/unit/shared/subscriptions-store.conformance.test.ts). `open` gives an empty store.
 */
export function describeSubscriptionsStoreConformance(label: string, open: () => Promise<SubscriptionsStorePort>): void {
  const subscription = (id: string, overrides: Partial<SubscriptionRecord> = {}): SubscriptionRecord => ({
    fleetId: 'fleet_a',
    id,
    url: 'https://example.com/hook',
    enabled: true,
    sealedSecret: 'sealed-1',
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  });
  const circuit = (overrides: Partial<CircuitRecord> = {}): CircuitRecord => ({ state: 'open', since: T0, openUntil: T1, cooldownSeconds: 60, ...overrides });
  const collect = async (pages: AsyncGenerator<SubscriptionRecord[]>) => {
    const ids: string[] = [];
    for await (const page of pages) ids.push(...page.map((record) => `${record.fleetId}/${record.id}`));
    return ids.sort();
  };

  describe(`subscriptions store conformance: ${label}`, () => {
    it('creates and reads back a subscription; a second create of its key fails as a conditional check and keeps the first', async () => {
      const store = await open();
      const record = subscription('wh_1', { name: 'first', headers: { 'X-A': '1' } });
      await store.create(record);
      expect(await store.get('fleet_a', 'wh_1', true)).toEqual(record);
      const error = await store.create(subscription('wh_1', { name: 'second' })).catch((caught: unknown) => caught);
      expect(isConditionalCheckFailure(error)).toBe(true);
      expect((await store.get('fleet_a', 'wh_1'))?.name).toBe('first');
      expect(await store.get('fleet_b', 'wh_1')).toBeUndefined();
    });

    it('lists a fleet oldest id first, each subscription once across pages, never another fleet\'s', async () => {
      const store = await open();
      const ids = Array.from({ length: 7 }, (_, index) => `wh_${index}`);
      for (const id of [...ids].reverse()) await store.create(subscription(id));
      await store.create(subscription('wh_other', { fleetId: 'fleet_b' }));
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 10; page += 1) {
        const result = await store.list('fleet_a', { limit: 3, ...(cursor === undefined ? {} : { cursor }) });
        seen.push(...result.items.map((item) => item.id));
        cursor = result.nextCursor;
        if (cursor === undefined) break;
      }
      expect(cursor).toBeUndefined();
      expect(seen).toEqual(ids);
      expect(await collect(store.pages('fleet_a', 2))).toEqual(ids.map((id) => `fleet_a/${id}`));
      expect(await collect(store.pages('fleet_empty'))).toEqual([]);
      expect(await collect(store.scanAll(4))).toEqual([...ids.map((id) => `fleet_a/${id}`), 'fleet_b/wh_other'].sort());
    });

    it('updates a patch: values set, null removes, updatedAt moves; enabling clears the disabled and failing state', async () => {
      const store = await open();
      await store.create(subscription('wh_1', { name: 'n', maxAttempts: 3, consecutiveFailures: 2, failingSince: T0, circuit: circuit() }));
      expect(await store.disable('fleet_a', 'wh_1', 'gone', T1)).toBe(true);
      const updated = await store.update('fleet_a', 'wh_1', { name: null, maxAttempts: 5, headers: { 'X-B': '2' } }, T1);
      expect(updated).toMatchObject({ maxAttempts: 5, headers: { 'X-B': '2' }, updatedAt: T1, enabled: false, disabledReason: 'gone' });
      expect(updated).not.toHaveProperty('name');
      const enabled = await store.update('fleet_a', 'wh_1', { enabled: true }, T2);
      expect(enabled).toMatchObject({ enabled: true, updatedAt: T2, maxAttempts: 5 });
      for (const field of ['disabledReason', 'failingSince', 'consecutiveFailures', 'circuit']) expect(enabled).not.toHaveProperty(field);
      expect(await store.get('fleet_a', 'wh_1', true)).toEqual(enabled);
      expect(await store.update('fleet_a', 'wh_missing', { name: 'x' }, T1)).toBeUndefined();
      expect(await store.get('fleet_a', 'wh_missing')).toBeUndefined();
    });

    it('replaces the sealed secret only over the one the caller read, and says whether it was changed or is missing', async () => {
      const store = await open();
      await store.create(subscription('wh_1'));
      const rotated = await store.replaceSecret('fleet_a', 'wh_1', 'sealed-1', { sealedSecret: 'sealed-2', sealedPreviousSecret: 'sealed-1', previousSecretExpiresAt: T2 }, T1);
      expect(rotated).toMatchObject({ sealedSecret: 'sealed-2', sealedPreviousSecret: 'sealed-1', previousSecretExpiresAt: T2, updatedAt: T1 });
      expect(await store.replaceSecret('fleet_a', 'wh_1', 'sealed-1', { sealedSecret: 'sealed-3' }, T2)).toBe('changed');
      expect(await store.replaceSecret('fleet_a', 'wh_1', undefined, { sealedSecret: 'sealed-3' }, T2)).toBe('changed');
      expect(await store.replaceSecret('fleet_a', 'wh_missing', 'sealed-1', { sealedSecret: 'sealed-3' }, T2)).toBe('missing');
      // A rekey: no updatedAt, and no previous secret to carry drops the old one.
      const rekeyed = await store.replaceSecret('fleet_a', 'wh_1', 'sealed-2', { sealedSecret: 'sealed-4' }, undefined);
      expect(rekeyed).toMatchObject({ sealedSecret: 'sealed-4', updatedAt: T1 });
      expect(rekeyed).not.toHaveProperty('sealedPreviousSecret');
      expect(rekeyed).not.toHaveProperty('previousSecretExpiresAt');
    });

    it('deletes and returns the record once; disables an enabled subscription once', async () => {
      const store = await open();
      await store.create(subscription('wh_1'));
      await store.create(subscription('wh_2'));
      expect((await store.delete('fleet_a', 'wh_1'))?.id).toBe('wh_1');
      expect(await store.delete('fleet_a', 'wh_1')).toBeUndefined();
      expect(await store.get('fleet_a', 'wh_1', true)).toBeUndefined();
      expect(await store.disable('fleet_a', 'wh_2', 'answered 410', T1)).toBe(true);
      expect(await store.disable('fleet_a', 'wh_2', 'again', T2)).toBe(false);
      expect(await store.disable('fleet_a', 'wh_missing', 'x', T1)).toBe(false);
      expect(await store.get('fleet_a', 'wh_2', true)).toMatchObject({ enabled: false, disabledReason: 'answered 410', updatedAt: T1 });
    });

    it('touches lastTriggeredAt only when the stored one is older than notBefore, and never creates a record', async () => {
      const store = await open();
      await store.create(subscription('wh_1'));
      await store.touch('fleet_a', 'wh_1', T1, T0);
      await store.touch('fleet_a', 'wh_1', T2, T0);
      expect((await store.get('fleet_a', 'wh_1', true))?.lastTriggeredAt).toBe(T1);
      await store.touch('fleet_a', 'wh_1', T2, T2);
      expect((await store.get('fleet_a', 'wh_1', true))?.lastTriggeredAt).toBe(T2);
      await store.touch('fleet_a', 'wh_missing', T1, T0);
      expect(await store.get('fleet_a', 'wh_missing', true)).toBeUndefined();
    });

    it('records failures: the failing clock starts once, the last error is kept, only counted failures add up; clearFailing ends it all', async () => {
      const store = await open();
      await store.create(subscription('wh_1'));
      expect(await store.recordFailure('fleet_a', 'wh_1', { now: T0, lastError: 'HTTP 500', countsForCircuit: true })).toEqual({ failingSince: T0, consecutiveFailures: 1 });
      expect(await store.recordFailure('fleet_a', 'wh_1', { now: T1, lastError: 'HTTP 400', countsForCircuit: false })).toEqual({ failingSince: T0, consecutiveFailures: 1 });
      expect(await store.recordFailure('fleet_a', 'wh_1', { now: T2, lastError: 'timeout', countsForCircuit: true })).toEqual({ failingSince: T0, consecutiveFailures: 2 });
      expect((await store.get('fleet_a', 'wh_1', true))?.lastError).toBe('timeout');
      expect(await store.recordFailure('fleet_a', 'wh_missing', { now: T0, lastError: 'x', countsForCircuit: true })).toBeUndefined();
      await store.clearFailing('fleet_a', 'wh_1');
      await store.clearFailing('fleet_a', 'wh_1');
      const cleared = await store.get('fleet_a', 'wh_1', true);
      for (const field of ['failingSince', 'consecutiveFailures', 'lastError', 'circuit']) expect(cleared).not.toHaveProperty(field);
    });

    it('opens a circuit from closed once, lets one probe claim it after the cool-down, and takes a released probe back', async () => {
      const store = await open();
      await store.create(subscription('wh_1', { consecutiveFailures: 3, failingSince: T0 }));
      const openUntilMs = Date.parse(T1);
      expect(await store.openCircuit('fleet_a', 'wh_1', circuit(), 'closed')).toBe(true);
      expect(await store.openCircuit('fleet_a', 'wh_1', circuit({ openUntil: T2 }), 'closed')).toBe(false);
      expect(await store.openCircuit('fleet_a', 'wh_1', circuit({ openUntil: T2 }), 'half-open')).toBe(false);
      expect(await store.claimProbe('fleet_a', 'wh_1', openUntilMs - 1, openUntilMs + 1000)).toBe(false);
      expect(await store.claimProbe('fleet_a', 'wh_1', openUntilMs, openUntilMs + 1000)).toBe(true);
      expect(await store.claimProbe('fleet_a', 'wh_1', openUntilMs + 500, openUntilMs + 2000)).toBe(false);
      expect((await store.get('fleet_a', 'wh_1', true))?.circuit).toMatchObject({ state: 'half-open', probeUntil: openUntilMs + 1000 });
      // A probe whose hold ran out (its dispatcher died) can be claimed again.
      expect(await store.claimProbe('fleet_a', 'wh_1', openUntilMs + 1001, openUntilMs + 3000)).toBe(true);
      await store.releaseProbe('fleet_a', 'wh_1', openUntilMs + 1000);
      expect((await store.get('fleet_a', 'wh_1', true))?.circuit?.state).toBe('half-open');
      await store.releaseProbe('fleet_a', 'wh_1', openUntilMs + 3000);
      const released = (await store.get('fleet_a', 'wh_1', true))?.circuit;
      expect(released?.state).toBe('open');
      expect(released).not.toHaveProperty('probeUntil');
      // Half-open again, a failed probe opens it with a new cool-down.
      expect(await store.claimProbe('fleet_a', 'wh_1', openUntilMs, openUntilMs + 1000)).toBe(true);
      expect(await store.openCircuit('fleet_a', 'wh_1', circuit({ openUntil: T2, cooldownSeconds: 120 }), 'half-open')).toBe(true);
      expect((await store.get('fleet_a', 'wh_1', true))?.circuit).toEqual(circuit({ openUntil: T2, cooldownSeconds: 120 }));
      await store.closeCircuit('fleet_a', 'wh_1');
      const closed = await store.get('fleet_a', 'wh_1', true);
      expect(closed).not.toHaveProperty('circuit');
      expect(closed).not.toHaveProperty('consecutiveFailures');
      expect(closed?.failingSince).toBe(T0);
      expect(await store.openCircuit('fleet_a', 'wh_missing', circuit(), 'closed')).toBe(false);
    });

    it('marks an endpoint slow once (keeping the first time) and fast again', async () => {
      const store = await open();
      await store.create(subscription('wh_1'));
      await store.setSlow('fleet_a', 'wh_1', T1);
      await store.setSlow('fleet_a', 'wh_1', T2);
      expect((await store.get('fleet_a', 'wh_1', true))?.slowSince).toBe(T1);
      await store.setSlow('fleet_a', 'wh_1', undefined);
      await store.setSlow('fleet_a', 'wh_1', undefined);
      expect(await store.get('fleet_a', 'wh_1', true)).not.toHaveProperty('slowSince');
      await store.setSlow('fleet_a', 'wh_missing', T1);
      expect(await store.get('fleet_a', 'wh_missing', true)).toBeUndefined();
    });
  });
}
