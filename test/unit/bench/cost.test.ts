import { describe, expect, it } from 'vitest';
import { costOf, monthlyCost, monthlyCostTable, NO_USAGE } from '../../../bench/cost';

describe('bench cost model', () => {
  it('prices usage at list prices, service by service', () => {
    const cost = costOf({ ...NO_USAGE, dynamoWriteUnits: 4, sqsRequests: 2 });
    expect(cost.byService.dynamodb).toBeCloseTo(4 * 0.625e-6, 12);
    expect(cost.byService.sqs).toBeCloseTo(2 * 0.4e-6, 12);
    expect(cost.total).toBeCloseTo(4 * 0.625e-6 + 2 * 0.4e-6, 12);
  });

  it('adds the fixed, per-subscription and per-delivery parts of a month', () => {
    const inputs = { perMillionDeliveries: 3, perSubscriptionMonth: 0.001, fixedPerMonth: 0.4 };
    expect(monthlyCost(10_000, 10_000_000, inputs)).toBeCloseTo(0.4 + 10 + 30, 9);
  });

  it('prints one row per subscription count and one column per monthly volume', () => {
    const table = monthlyCostTable({ perMillionDeliveries: 2.5, perSubscriptionMonth: 0, fixedPerMonth: 0.4 });
    expect(table).toHaveLength(5);
    expect(table[0]).toBe('| subscriptions | 1M deliveries/month | 10M deliveries/month | 100M deliveries/month |');
    expect(table[2]).toBe('| 1,000 | $2.90 | $25.40 | $250 |');
    expect(table[4]).toBe('| 100,000 | $2.90 | $25.40 | $250 |');
  });
});
