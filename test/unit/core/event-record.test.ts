import { describe, expect, it } from 'vitest';
import { eventRecord, eventTimeKey, retentionExpiry } from '../../../lambdas/core/event-record';

describe('event records', () => {
  it('expire eventRetentionDays after they are stored, in whole epoch seconds', () => {
    expect(retentionExpiry(new Date('2026-01-01T00:00:00.999Z'), { eventRetentionDays: 30 })).toBe(
      Date.UTC(2026, 0, 31) / 1000,
    );
    expect(retentionExpiry(new Date(0), { eventRetentionDays: 1 })).toBe(86_400);
  });

  it('sort by time, then id, in the by-time index', () => {
    const keys = [eventTimeKey('2026-01-01T00:00:01.000Z', 'evt_a'), eventTimeKey('2026-01-01T00:00:00.000Z', 'evt_b')];
    expect(keys.sort()).toEqual(['2026-01-01T00:00:00.000Z#evt_b', '2026-01-01T00:00:01.000Z#evt_a']);
  });

  it('are built from the event, the time they are stored and the retention, whatever else the input carries', () => {
    const input = { fleetId: 'f', id: 'evt_1', type: 't.x', timestamp: '2025-12-31T23:00:00.000Z', data: { a: 1 }, source: 'eventbridge' as const };
    expect(eventRecord({ ...input, extra: true } as typeof input, new Date('2026-01-01T00:00:00.000Z'), { eventRetentionDays: 2 })).toEqual({
      ...input,
      timeKey: '2025-12-31T23:00:00.000Z#evt_1',
      expiresAt: Date.UTC(2026, 0, 3) / 1000,
    });
  });
});
