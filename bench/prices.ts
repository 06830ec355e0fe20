/**
 * AWS list prices the cost figures are computed from: us-east-1, on-demand, no free tier, no
 * volume tiers beyond the first. Prices change; every one is dated so a reader can tell whether
 * the figures are stale. Source: the public pricing page of each service.
 */
// Re-checked 2026-11-29 against 2026 secondary summaries of the AWS pricing pages (the official
// pages were not reachable from the build machine); every price below matched them (SQS
// $0.40/M standard requests, 64 KB chunks; EventBridge $1.00/M custom events, $0.20/M API
// destination invocations; DynamoDB on-demand $0.625/M WRU, $0.125/M RRU; Lambda arm64
// $0.0000133334/GB-s, $0.20/M requests; Secrets Manager $0.40/secret-month, $0.05/10k calls).
export const PRICES_AS_OF = '2026-11 (unchanged since the 2024-11-01 DynamoDB on-demand price cut)';
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
  /** Lambda arm64, per GB-second of billed duration (first 7.5 billion GB-s a month). */
  lambdaArmGbSecond: 0.0000133334,
  /** Lambda, per invocation. */
  lambdaRequest: 0.2 / 1_000_000,
  /** Secrets Manager, per API call. */
  secretsManagerApiCall: 0.05 / 10_000,
  /** Secrets Manager, per secret stored for a month (one per Hookline subscription). */
  secretsManagerSecretMonth: 0.4,
  /** EventBridge, per custom event published with PutEvents (64 KB chunks). */
  eventBridgeCustomEvent: 1.0 / 1_000_000,
  /** Bytes per billed EventBridge event chunk. */
  eventBridgeChunkBytes: 64 * 1024,
  /** EventBridge API destinations, per invocation of an HTTP endpoint. */
  eventBridgeApiDestinationInvocation: 0.2 / 1_000_000,
} as const;

export type PriceName = keyof typeof PRICES;
