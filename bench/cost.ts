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
