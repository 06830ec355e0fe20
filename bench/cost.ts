import { PRICES } from './prices';

/** Billable usage of one unit of work (an event, a delivery), and what it costs at PRICES. */
export interface Usage {
  dynamoReadUnits: number;
  dynamoWriteUnits: number;
  /** Billed SQS requests (64 KB chunks), including the event source mapping's receives and deletes. */
  sqsRequests: number;
  secretsCalls: number;
  /** Billed EventBridge custom events (64 KB chunks). */
  eventBridgeEvents: number;
  lambdaInvocations: number;
  lambdaGbSeconds: number;
}

export const NO_USAGE: Usage = {
  dynamoReadUnits: 0,
  dynamoWriteUnits: 0,
  sqsRequests: 0,
  secretsCalls: 0,
  eventBridgeEvents: 0,
  lambdaInvocations: 0,
  lambdaGbSeconds: 0,
};

export function addUsage(a: Usage, b: Usage): Usage {
  return mapUsage(a, (key, value) => value + b[key]);
}

export function scaleUsage(usage: Usage, factor: number): Usage {
  return mapUsage(usage, (_key, value) => value * factor);
}

function mapUsage(usage: Usage, map: (key: keyof Usage, value: number) => number): Usage {
  return Object.fromEntries(Object.entries(usage).map(([key, value]) => [key, map(key as keyof Usage, value)])) as unknown as Usage;
}

export interface Cost {
  total: number;
  byService: { dynamodb: number; sqs: number; lambda: number; secretsManager: number; eventBridge: number };
}

/** Dollars for `usage`. */
export function costOf(usage: Usage): Cost {
  const byService = {
    dynamodb: usage.dynamoReadUnits * PRICES.dynamoReadRequestUnit + usage.dynamoWriteUnits * PRICES.dynamoWriteRequestUnit,
    sqs: usage.sqsRequests * PRICES.sqsRequest,
    lambda: usage.lambdaInvocations * PRICES.lambdaRequest + usage.lambdaGbSeconds * PRICES.lambdaArmGbSecond,
    secretsManager: usage.secretsCalls * PRICES.secretsManagerApiCall,
    eventBridge: usage.eventBridgeEvents * PRICES.eventBridgeCustomEvent,
  };
  return { total: Object.values(byService).reduce((sum, value) => sum + value, 0), byService };
}

/**
 * EventBridge API destinations doing the same deliveries: the same PutEvents per event, then one
 * rule + API destination per subscription, billed per invocation (a retry is another invocation).
 */
export function apiDestinationsCost(eventsPerDelivery: number, invocationsPerDelivery: number): number {
  return eventsPerDelivery * PRICES.eventBridgeCustomEvent + invocationsPerDelivery * PRICES.eventBridgeApiDestinationInvocation;
}

/** Lambda bills duration in 1 ms steps. */
export function gbSeconds(durationsMs: readonly number[], memoryMb: number): number {
  return durationsMs.reduce((sum, ms) => sum + Math.max(1, Math.ceil(ms)), 0) / 1000 * (memoryMb / 1024);
}

/** What a deployment pays a month, from the figures section 4 measures. */
export interface MonthlyCostInputs {
  /** Dollars per million deliveries (first attempts, counted requests at list prices). */
  perMillionDeliveries: number;
  /** Dollars per subscription-month that grow with the subscription count (secrets storage). */
  perSubscriptionMonth: number;
  /** Dollars a month whatever the size (the key ring secret). */
  fixedPerMonth: number;
}

export const TABLE_SUBSCRIPTIONS = [1_000, 10_000, 100_000] as const;
export const TABLE_DELIVERIES_PER_MONTH = [1_000_000, 10_000_000, 100_000_000] as const;

export function monthlyCost(subscriptions: number, deliveriesPerMonth: number, inputs: MonthlyCostInputs): number {
  return inputs.fixedPerMonth + subscriptions * inputs.perSubscriptionMonth + (deliveriesPerMonth / 1_000_000) * inputs.perMillionDeliveries;
}

/**
 * A markdown table of monthly cost: subscriptions down, deliveries a month across. The README's
 * cost table is this output, so its figures are the benchmark's, not hand-computed.
 */
export function monthlyCostTable(inputs: MonthlyCostInputs): string[] {
  const millions = (count: number) => `${count / 1_000_000}M deliveries/month`;
  const money = (value: number) => (value >= 100 ? `$${Math.round(value).toLocaleString('en-US')}` : `$${value.toFixed(2)}`);
  return [
    `| subscriptions | ${TABLE_DELIVERIES_PER_MONTH.map(millions).join(' | ')} |`,
    `| --- | ${TABLE_DELIVERIES_PER_MONTH.map(() => '---').join(' | ')} |`,
    ...TABLE_SUBSCRIPTIONS.map(
      (subscriptions) =>
        `| ${subscriptions.toLocaleString('en-US')} | ${TABLE_DELIVERIES_PER_MONTH.map((deliveries) => money(monthlyCost(subscriptions, deliveries, inputs))).join(' | ')} |`,
    ),
  ];
}
