import { describe, expect, it } from 'vitest';
import type { EventRecord } from '../../../lambdas/core/records';
import { InvalidCursorError } from '../../../lambdas/shared/cursor';
import { eventTimeKey, type EventsStorePort } from '../../../lambdas/shared/events-store';

/**
 * The events store's contract, run against every implementation: the DynamoDB store on dynalite
 * (test/integration/events-store.conformance.test.ts) and the in-memory one
 * (test/unit/shared/events-store.conformance.test.ts). Each case uses fleets of its own, so one
 * store serves the whole suite.
 */
export function describeEventsStoreConformance(label: string, open: () => EventsStorePort): void {
  let fleets = 0;
  const fleet = () => `conf-${label.replace(/\W/g, '')}-${(fleets += 1)}`;

  const event = (fleetId: string, id: string, timestamp: string, data: unknown = { n: 1 }): EventRecord => ({
    fleetId,
    id,
    type: 'thread.completed',
    timestamp,
    data,
    timeKey: eventTimeKey(timestamp, id),
    source: 'api',
    expiresAt: 2_000_000_000,
  });

  describe(`events store conformance: ${label}`, () => {
    it('stores an event once: a second put returns the first one, not its own copy', async () => {
      const store = open();
      const f = fleet();
      const first = await store.putIfAbsent(event(f, 'evt_1', '2026-01-01T00:00:00.000Z', { v: 'first' }));
      const second = await store.putIfAbsent(event(f, 'evt_1', '2026-01-01T00:00:01.000Z', { v: 'second' }));
      expect(first.created).toBe(true);
      expect(second).toMatchObject({ created: false, event: { data: { v: 'first' }, timestamp: '2026-01-01T00:00:00.000Z' } });
    });

    it('gives data back exactly, deeper than a DynamoDB map may nest and with values a map would refuse', async () => {
      const store = open();
      const f = fleet();
      let deep: unknown = { leaf: ['x', 1.5, null, true, ''] };
      for (let level = 0; level < 40; level += 1) deep = { level, next: deep };
      const data = { deep, tiny: 1e-200, big: 9_007_199_254_740_991, empty: {}, list: [], text: 'ünïcødé \u{1F600}' };
      await store.putIfAbsent(event(f, 'evt_data', '2026-01-01T00:00:00.000Z', data));
      expect((await store.get(f, 'evt_data'))?.data).toEqual(data);
    });

    it('scopes reads by fleet', async () => {
      const store = open();
      const a = fleet();
      const b = fleet();
      await store.putIfAbsent(event(a, 'evt_shared', '2026-01-01T00:00:00.000Z'));
      expect(await store.get(b, 'evt_shared')).toBeUndefined();
      expect(await store.get(a, 'evt_missing')).toBeUndefined();
    });

    it('marks an event fanned out, and marking a missing event neither throws nor creates it', async () => {
      const store = open();
      const f = fleet();
      await store.putIfAbsent(event(f, 'evt_fan', '2026-01-01T00:00:00.000Z'));
      await store.markFannedOut(f, 'evt_fan', '2026-01-01T00:00:05.000Z', 2_000_000_000);
      expect((await store.get(f, 'evt_fan'))?.fannedOutAt).toBe('2026-01-01T00:00:05.000Z');
      await store.markFannedOut(f, 'evt_gone', '2026-01-01T00:00:05.000Z', 2_000_000_000);
      expect(await store.get(f, 'evt_gone')).toBeUndefined();
    });

    it('binds an idempotency key to the first event id for its window, then lets it go', async () => {
      const store = open();
      const f = fleet();
      expect(await store.claimIdempotencyKey(f, 'key-1', 'evt_a', 1_000, 60)).toBe('evt_a');
      expect(await store.claimIdempotencyKey(f, 'key-1', 'evt_b', 1_059, 60)).toBe('evt_a');
      // Another fleet's identical key is its own.
      expect(await store.claimIdempotencyKey(fleet(), 'key-1', 'evt_c', 1_000, 60)).toBe('evt_c');
      // Expired (TTL deletes late): a new publish binds the key afresh.
      expect(await store.claimIdempotencyKey(f, 'key-1', 'evt_d', 1_060, 60)).toBe('evt_d');
      expect(await store.claimIdempotencyKey(f, 'key-1', 'evt_e', 1_061, 60)).toBe('evt_d');
    });

    it('lists a fleet by time, oldest first, both bounds included, other fleets and idempotency records left out', async () => {
      const store = open();
      const f = fleet();
      const times = ['2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z', '2026-01-01T00:00:02.000Z', '2026-01-01T00:00:03.000Z'];
      for (const [index, time] of [...times.entries()].reverse()) await store.putIfAbsent(event(f, `evt_${index}`, time));
      await store.putIfAbsent(event(fleet(), 'evt_other', times[1]!));
      await store.claimIdempotencyKey(f, 'key', 'evt_1', 1_000, 60);
      const page = await store.listByTime(f, { since: times[1]!, until: times[3]! }, { limit: 10 });
      expect(page.items.map((item) => item.id)).toEqual(['evt_1', 'evt_2', 'evt_3']);
      expect(page.items[0]?.data).toEqual({ n: 1 });
    });

    it('pages by time: following the cursors yields every event exactly once, in order', async () => {
      const store = open();
      const f = fleet();
      const ids: string[] = [];
      for (let second = 0; second < 7; second += 1) {
        const id = `evt_p${second}`;
        ids.push(id);
        await store.putIfAbsent(event(f, id, `2026-01-01T00:00:0${second}.000Z`));
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 10; page += 1) {
        const result = await store.listByTime(f, { since: '2026-01-01T00:00:00.000Z', until: '2026-01-01T00:01:00.000Z' }, {
          limit: 3,
          ...(cursor === undefined ? {} : { cursor }),
        });
        seen.push(...result.items.map((item) => item.id));
        cursor = result.nextCursor;
        if (cursor === undefined) break;
      }
      expect(cursor).toBeUndefined();
      expect(seen).toEqual(ids);
    });

    it('lists with each event its data and fan-out mark, over more events than one read by key takes (100)', async () => {
      const store = open();
      const f = fleet();
      const ids: string[] = [];
      for (let index = 0; index < 130; index += 1) {
        const id = `evt_m${String(index).padStart(3, '0')}`;
        ids.push(id);
        await store.putIfAbsent(event(f, id, `2026-01-01T00:${String(Math.floor(index / 60)).padStart(2, '0')}:${String(index % 60).padStart(2, '0')}.000Z`, { index }));
        if (index % 2 === 0) await store.markFannedOut(f, id, `2026-01-02T00:00:00.${String(index).padStart(3, '0')}Z`, 2_000_000_000);
      }
      const seen: EventRecord[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 5 && (page === 0 || cursor !== undefined); page += 1) {
        const result = await store.listByTime(f, { since: '2026-01-01T00:00:00.000Z', until: '2026-01-01T01:00:00.000Z' }, {
          limit: 120,
          ...(cursor === undefined ? {} : { cursor }),
        });
        seen.push(...result.items);
        cursor = result.nextCursor;
      }
      expect(seen.map((item) => item.id)).toEqual(ids);
      expect(seen.map((item) => (item.data as { index: number }).index)).toEqual(ids.map((_, index) => index));
      expect(seen.filter((item) => item.fannedOutAt !== undefined).map((item) => item.id)).toEqual(ids.filter((_, index) => index % 2 === 0));
      expect(seen[2]?.fannedOutAt).toBe('2026-01-02T00:00:00.002Z');
    });

    it('keeps the fan-out mark apart from the event: a repeat put still returns it, and it never lists as an event', async () => {
      const store = open();
      const f = fleet();
      await store.putIfAbsent(event(f, 'evt_k', '2026-01-01T00:00:00.000Z', { v: 1 }));
      await store.markFannedOut(f, 'evt_k', '2026-01-01T00:00:01.000Z', 2_000_000_000);
      const repeat = await store.putIfAbsent(event(f, 'evt_k', '2026-01-01T00:00:00.000Z', { v: 2 }));
      expect(repeat).toMatchObject({ created: false, event: { data: { v: 1 }, fannedOutAt: '2026-01-01T00:00:01.000Z' } });
      const page = await store.listByTime(f, { since: '2000-01-01T00:00:00.000Z', until: '2100-01-01T00:00:00.000Z' }, { limit: 10 });
      expect(page.items.map((item) => item.id)).toEqual(['evt_k']);
    });

    it("refuses another fleet's cursor", async () => {
      const store = open();
      const a = fleet();
      for (let second = 0; second < 3; second += 1) await store.putIfAbsent(event(a, `evt_c${second}`, `2026-01-01T00:00:0${second}.000Z`));
      const range = { since: '2026-01-01T00:00:00.000Z', until: '2026-01-01T00:01:00.000Z' };
      const { nextCursor } = await store.listByTime(a, range, { limit: 1 });
      expect(nextCursor).toBeDefined();
      await expect(store.listByTime(fleet(), range, { limit: 1, cursor: nextCursor! })).rejects.toBeInstanceOf(InvalidCursorError);
    });
  });
}
