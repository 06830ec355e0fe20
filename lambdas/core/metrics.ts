/**
 * Every metric Hookline emits, in one place and one casing (lowerCamelCase). The functions emit
 * them with Powertools Metrics (CloudWatch embedded metric format: namespace `metricsNamespace`,
 * dimension `service`), and the construct's metric helpers and alarms (lib/) read the same names
 * from here, so a rename cannot leave a dashboard or an alarm watching nothing.
 */
export const METRICS = {
  // Dispatcher: one per attempt.
  /** Attempts made (an interrupted one included). */
  attempts: 'attempts',
  /** Attempts the endpoint accepted (2xx). */
  succeeded: 'succeeded',
  /** Attempts that failed, with the dimension `errorKind` (http, timeout, connection, dns, tls, blocked, interrupted). */
  failed: 'failed',
  /** Milliseconds an attempt took (interrupted ones left out). */
  latency: 'latency',
  // Dispatcher: what happened to a message instead of, or after, an attempt.
  /** Deliveries whose schedule is spent: their message goes on to the DLQ. */
  exhausted: 'exhausted',
  /** Long waits (past SQS's 15-minute delay) sent on one more hop. */
  waitHops: 'waitHops',
  /** Deliveries-queue messages that could not be read, set aside for the DLQ. */
  malformedMessages: 'malformedMessages',
  /** Deliveries ended without an attempt: their subscription is disabled or deleted. */
  deliveriesDisabled: 'deliveriesDisabled',
  /** Subscriptions Hookline disabled (auto-disable, 410 Gone). */
  subscriptionsDisabled: 'subscriptionsDisabled',
  /** Circuits that opened, and circuits a probe closed. */
  circuitOpened: 'circuitOpened',
  circuitClosed: 'circuitClosed',
  /** Deliveries that waited, consuming no attempt: the circuit is open, the rate limit or concurrency cap is reached. */
  circuitOpen: 'circuitOpen',
  rateLimited: 'rateLimited',
  concurrencyCapped: 'concurrencyCapped',
  /** Duplicates that found another POST of their delivery in flight and look again later. */
  claimsDeferred: 'claimsDeferred',
  /** Duplicate or superseded messages dropped without an attempt. */
  duplicatesDropped: 'duplicatesDropped',
  // Fan-out.
  eventsFannedOut: 'eventsFannedOut',
  /** Delivery messages sent to the deliveries queue (one per matching subscription). */
  deliveriesEnqueued: 'deliveriesEnqueued',
  /** Events-queue messages refused (unknown type, invalid), set aside for the DLQ. */
  eventsRejected: 'eventsRejected',
  // API.
  apiRequests: 'apiRequests',
  api4xx: 'api4xx',
  api5xx: 'api5xx',
} as const;

export type MetricName = (typeof METRICS)[keyof typeof METRICS];

/** A dispatcher metric counting deliveries held back without an attempt. */
export type HeldBackMetric = typeof METRICS.circuitOpen | typeof METRICS.rateLimited | typeof METRICS.concurrencyCapped | typeof METRICS.claimsDeferred;

/**
 * The inbound route's counts: one per outcome (`inboundAccepted`, `inboundRejected`, …), and one
 * per provider and outcome (`inboundGithubAccepted`). Outcomes and providers are snake_case words.
 */
export function inboundMetric(outcome: string, provider?: string): string {
  return camelCase(['inbound', ...(provider === undefined ? [] : [provider]), outcome]);
}

function camelCase(words: string[]): string {
  return words
    .flatMap((word) => word.split(/[_\-\s]+/))
    .filter((part) => part !== '')
    .map((part, index) => (index === 0 ? part.toLowerCase() : part.charAt(0).toUpperCase() + part.slice(1).toLowerCase()))
    .join('');
}
