/**
 * Shapes of what Hookline stores and passes between stages. Pure types: the DynamoDB layout
 * they live in is `table-schema.ts`; the stores in `lambdas/shared/` read and write them.
 */

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'disabled';

/**
 * Why an attempt did not succeed; `http` means the receiver answered with a non-2xx status;
 * `interrupted` means the dispatcher stopped (crash, timeout) after claiming the attempt, so the
 * POST may have gone out and the attempt counts.
 */
export type AttemptErrorKind = 'timeout' | 'connection' | 'dns' | 'tls' | 'http' | 'blocked' | 'interrupted';

/** Subscriptions table item (PK fleetId, SK id). */
export interface SubscriptionRecord {
  fleetId: string;
  /** `wh_` + ULID. */
  id: string;
  url: string;
  /** Absent or empty: every catalog type except `webhook.test`. */
  events?: string[];
  enabled: boolean;
  name?: string;
  description?: string;
  headers?: Record<string, string>;
  timeoutSeconds?: number;
  maxAttempts?: number;
  /** `false`: deliveries skip TLS certificate verification (only where allowInsecureTls is on). Absent: true. */
  tlsVerify?: boolean;
  /** The current signing secret, sealed under the deployment's key-encryption key (core/sealed-secrets.ts). */
  sealedSecret: string;
  /** The rotated-out secret, sealed, still signing until `previousSecretExpiresAt`. */
  sealedPreviousSecret?: string;
  previousSecretExpiresAt?: string;
  createdAt: string;
  updatedAt: string;
  /** Why the service disabled it (410 from the endpoint, failing for too long); absent when a user did. */
  disabledReason?: string;
  /** ISO time of the first failure since the last success; drives the auto-disable rule. */
  failingSince?: string;
  /** ISO time of the latest attempt to this endpoint, kept to the minute (one write a minute at most). */
  lastTriggeredAt?: string;
  /** Deliveries per second to this endpoint across all dispatchers; the deployment's default when absent. */
  rateLimitPerSecond?: number;
  /** POSTs in flight at once to this endpoint across all dispatchers; always enforced when set. */
  maxConcurrency?: number;
  /** Failed attempts in a row (timeouts, connection errors, 5xx, 429); absent after a success. */
  consecutiveFailures?: number;
  /** What the latest failed attempt met, for the health view. */
  lastError?: string;
  /** Present while the endpoint's circuit is not closed. */
  circuit?: CircuitRecord;
  /** ISO time since which attempts take longer than `slowEndpointMs`; absent while the endpoint is fast. */
  slowSince?: string;
}

/** An endpoint's open (or half-open) circuit, stored with its subscription. */
export interface CircuitRecord {
  state: 'open' | 'half-open';
  /** When it opened. */
  since: string;
  /** When the next probe may go out. */
  openUntil: string;
  cooldownSeconds: number;
  /** Epoch ms until which the probe in flight holds the half-open circuit. */
  probeUntil?: number;
}

/** A subscription's signing secrets in clear: what the sealed fields of its record hold. */
export interface SigningSecretValue {
  /** `whsec_` + base64 of 32 random bytes. */
  current: string;
  /** The rotated-out secret, still signing until `previousExpiresAt`. */
  previous?: string;
  previousExpiresAt?: string;
}

/** An event as published and stored for replay (events table, PK fleetId, SK id). */
export interface EventRecord {
  fleetId: string;
  /** `evt_` + ULID, or the producer's own id. */
  id: string;
  type: string;
  /** ISO-8601 time the event was accepted. */
  timestamp: string;
  data: unknown;
  /** `${timestamp}#${id}`: the by-time sort key (stored as `eventTime`; `timeKey` on items stored before the narrow index). */
  timeKey: string;
  source: 'api' | 'eventbridge';
  /** ISO time the fan-out finished; absent while fan-out may still have to run. */
  fannedOutAt?: string;
  /** Epoch seconds, DynamoDB TTL. */
  expiresAt: number;
}

/** Maps an `idempotency-key` to the event it created (events table, SK `idem#<key>`). */
export interface IdempotencyRecord {
  fleetId: string;
  id: string;
  eventId: string;
  expiresAt: number;
}

/** One HTTP attempt, embedded in its delivery record so an attempt costs one write. */
export interface AttemptRecord {
  /** 1-based round of the delivery this attempt belongs to (a retry request, replay or DLQ redrive starts a new one). */
  round: number;
  /** 1-based attempt number within its round, counted by Hookline (it travels in the delivery message). */
  attempt: number;
  at: string;
  statusCode?: number;
  latencyMs: number;
  responseContentLength?: number;
  /** A bounded selection of the response headers (core/attempt-excerpt.ts): boilerplate dropped, at most 256 bytes. */
  responseHeaders?: Record<string, string>;
  /** At most 1 KB of the response body; the body is never read past the cap. */
  responseBodyExcerpt?: string;
  errorKind?: AttemptErrorKind;
  errorMessage?: string;
  /** Seconds until the next attempt, when one was scheduled. */
  retryInSeconds?: number;
}

/** Deliveries table item (PK id). Field names follow the delivery-log shape customers know from other webhook services. */
export interface DeliveryRecord {
  /** `dlv_` + 26 chars, deterministic per (fleet, event, subscription). */
  id: string;
  fleetId: string;
  subscriptionId: string;
  eventId: string;
  eventType: string;
  webhookUrl: string;
  status: DeliveryStatus;
  attemptCount: number;
  lastAttemptAt?: string;
  httpStatusCode?: number;
  latencyMs?: number;
  responseContentLength?: number;
  /**
   * Written by earlier versions only, a second copy of the latest attempt's headers; the next
   * attempt's write removes it. The headers live in the attempt alone.
   */
  responseHeaders?: Record<string, string>;
  errorMessage?: string;
  errorKind?: AttemptErrorKind;
  nextAttemptAt?: string;
  createdAt: string;
  updatedAt: string;
  attempts: AttemptRecord[];
  /** `${createdAt}#${id}`: sort key of the by-subscription indexes (newest first). */
  createdKey: string;
  /** `${subscriptionId}#${status}`: partition key of the by-status index; absent once the delivery succeeded. */
  subscriptionStatus?: string;
  expiresAt: number;
  /** Rounds started so far (1 for the first). */
  rounds?: number;
}

/**
 * The attempt bookkeeping kept on a delivery item beside what the API shows. It makes duplicates
 * harmless: an attempt is claimed with a conditional write before its POST, so at most one POST of a
 * delivery is in flight, and an attempt is made once per round.
 */
export interface DeliveryProgress {
  id: string;
  status?: DeliveryStatus;
  /** Id of the current round: `0` for the fan-out's round, else a ULID, so later rounds sort higher. */
  round?: string;
  rounds?: number;
  /** Last attempt claimed in the current round. */
  started?: number;
  /** Last attempt whose result is recorded in the current round. */
  completed?: number;
  /** Epoch ms until which the claimed attempt may still be running (its invocation's deadline). */
  leaseUntil?: number;
  /** SQS message id of the claimed attempt's message. */
  leaseHolder?: string;
  /** SQS message id of the redriven message that began the current round. */
  roundTrigger?: string;
  /** SQS message id of an exhausted delivery's message on its way to the DLQ. */
  parkedMessageId?: string;
  /** That message's nonce: a copy redriven from the DLQ carries it under a new message id. */
  parkedNonce?: string;
  nextAttemptAt?: string;
}

/** The part of an event a delivery needs; the envelope is built from it byte for byte. */
export interface DeliveryEvent {
  id: string;
  type: string;
  timestamp: string;
  data: unknown;
}

/** Round id of the fan-out's first round; every later round's id (a ULID) sorts after it. */
export const FIRST_ROUND = '0';

/** Body of a deliveries-queue message: one attempt of one event to one subscription. */
export interface DeliveryMessage {
  v: 1;
  deliveryId: string;
  fleetId: string;
  subscriptionId: string;
  event: DeliveryEvent;
  /** What enqueued it; informational only. */
  reason: 'fanout' | 'retry' | 'replay' | 'test';
  /** Round id; absent means {@link FIRST_ROUND}. */
  round?: string;
  /** 1-based attempt number within the round; absent means 1. */
  attempt?: number;
  /**
   * Random, new for every message a Hookline stage sends. A copy that the console's "Start DLQ
   * redrive" moves back carries the same one, which tells it from a stray duplicate.
   */
  nonce?: string;
  /**
   * ISO time before which the attempt must not be made. Set when a wait is longer than SQS's
   * 15-minute message delay: the message is re-sent in hops until then.
   */
  notBefore?: string;
}

/** Events-queue message sent by the API's publish route (EventBridge events arrive in their own shape). */
export interface PublishedEventMessage {
  v: 1;
  kind: 'event';
  fleetId: string;
  event: DeliveryEvent;
}

/** Events-queue message that continues a replay too large for one API invocation. */
export interface ReplayJobMessage {
  v: 1;
  kind: 'replay';
  fleetId: string;
  subscriptionId: string;
  since: string;
  until: string;
  /** Opaque pagination cursor of the by-time index; absent on the first page. */
  cursor?: string;
}

/** API tokens table item (PK id). The token itself is `hlk_<id>_<secret>`; only a hash of the secret is kept. */
export interface TokenRecord {
  id: string;
  /** Hex SHA-256 of the token's secret part. */
  secretHash: string;
  /** Fleets the token grants; `['*']` for every fleet. */
  fleets: string[];
  name?: string;
  createdAt: string;
}
