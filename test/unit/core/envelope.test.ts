import { describe, expect, it } from 'vitest';
import { buildEnvelope } from '../../../lambdas/core/envelope';

const event = { id: 'evt_1', type: 'thread.completed', timestamp: '2025-01-01T00:00:00.000Z', data: { b: 1, a: [true, null] } };

describe('buildEnvelope', () => {
  it('is {id, type, timestamp, fleetId, data} in that order, compact', () => {
    expect(buildEnvelope('fleet-1', event)).toBe(
      '{"id":"evt_1","type":"thread.completed","timestamp":"2025-01-01T00:00:00.000Z","fleetId":"fleet-1","data":{"b":1,"a":[true,null]}}',
    );
  });

  it('ignores extra fields on the event object', () => {
    const withExtras = { ...event, fleetId: 'other', source: 'api' };
    expect(JSON.parse(buildEnvelope('fleet-1', withExtras))).toEqual({ ...event, fleetId: 'fleet-1' });
  });

  it('keeps the data key when data is undefined', () => {
    expect(JSON.parse(buildEnvelope('f', { ...event, data: undefined }))).toHaveProperty('data', null);
  });

  it('keeps non-ASCII data as UTF-8 text', () => {
    expect(buildEnvelope('f', { ...event, data: 'héllo 🚀' })).toContain('"data":"héllo 🚀"');
  });
});
