/**
 * AWS list prices the cost figures are computed from: us-east-1, on-demand, no free tier, no
 * volume tiers beyond the first. Prices change; every one is dated so a reader can tell whether
 * the figures are stale. Source: the public pricing page of each service.
 */
/**
 * Checked 2026-11-29 against the AWS pricing pages (DynamoDB on-demand, SQS, Lambda, Secrets
 * Manager, EventBridge), us-east-1. DynamoDB on-demand throughput is the price after AWS halved it
 * on 2024-11-01 ($1.25 → $0.625 per million WRU, $0.25 → $0.125 per million RRU).
 */
export const PRICES_AS_OF = '2026-11-29 (DynamoDB on-demand after the 2024-11-01 price cut)';
export const PRICE_REGION = 'us-east-1';

export const PRICES = {
  /** SQS standard queue, per request; every 64 KB chunk of a payload is billed as one request. */
  sqsRequest: 0.4 / 1_000_000,
  /** Bytes per billed SQS request chunk. */
  sqsChunkBytes: 64 * 1024,
  /** DynamoDB on-demand, per write request unit (1 KB written). */
  dynamoWriteRequestUnit: 0.625 / 1_000_000,
  /** DynamoDB on-demand, per read request unit (4 KB strongly consistent, 8 KB eventually consistent). */
  dynamoReadRequestUnit: 0.125 / 1_000_000,
  /** DynamoDB Standard table class storage, per GB-month beyond the first 25 GB. */
  dynamoStorageGbMonth: 0.25,
  /** Lambda arm64, per GB-second of billed duration (first 7.5 billion GB-s a month). */
  lambdaArmGbSecond: 0.0000133334,
  /** Lambda, per invocation. */
  lambdaRequest: 0.2 / 1_000_000,
  /** Secrets Manager, per API call. */
  secretsManagerApiCall: 0.05 / 10_000,
  /** Secrets Manager, per secret stored for a month (one per Hookline deployment: the key ring). */
  secretsManagerSecretMonth: 0.4,
  /** EventBridge, per custom event published with PutEvents (64 KB chunks). */
  eventBridgeCustomEvent: 1.0 / 1_000_000,
  /** Bytes per billed EventBridge event chunk. */
  eventBridgeChunkBytes: 64 * 1024,
  /** EventBridge API destinations, per invocation of an HTTP endpoint. */
  eventBridgeApiDestinationInvocation: 0.2 / 1_000_000,
} as const;

export type PriceName = keyof typeof PRICES;
