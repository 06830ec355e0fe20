/**
 * Shapes of what Hookline stores and passes between stages. Pure types: the DynamoDB layout
 * they live in is `table-schema.ts`; the stores in `lambdas/shared/` read and write them.
 */

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'disabled';

/** Why an attempt did not succeed; `http` means the receiver answered with a non-2xx status. */
export type AttemptErrorKind = 'timeout' | 'connection' | 'dns' | 'tls' | 'http' | 'blocked';

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
}

/** A subscription's signing secrets in clear: what the sealed fields of its record hold. */
export interface SigningSecretValue {
  /** `whsec_` + base64 of 32 random bytes. */
  current: string;
  /** The rotated-out secret, still signing until `previousExpiresAt`. */
  previous?: string;
  previousExpiresAt?: string;
}

/**
 * An event as published and stored for replay (events table, PK fleetId, SK id). The fan-out stores
 * it once every delivery message is sent, so a stored event is a fanned-out event.
 */
export interface EventRecord {
  fleetId: string;
  /** `evt_` + ULID, or the producer's own id. */
  id: string;
  type: string;
  /** ISO-8601 time the event was accepted. */
  timestamp: string;
  data: unknown;
  source: 'api' | 'eventbridge';
  /** Epoch seconds, DynamoDB TTL. */
  expiresAt: number;
}

/** Maps an `idempotency-key` to the event it created (events table, SK `idem#<key>`). */
export interface IdempotencyRecord {
  fleetId: string;
  id: string;
  eventId: string;
  /** The event's time as first published, so a repeat derives the same delivery ids. */
  timestamp: string;
  expiresAt: number;
}

/** One HTTP attempt, embedded in its delivery record so an attempt costs one write. */
export interface AttemptRecord {
  /** `${sqsMessageId}:${receiveCount}`: makes the write idempotent under duplicate messages. */
  key: string;
  /** 1-based attempt number within its round (the SQS ApproximateReceiveCount). */
  attempt: number;
  at: string;
  statusCode?: number;
  latencyMs: number;
  responseContentLength?: number;
  responseHeaders?: Record<string, string>;
  /** At most a few KB of the response body; the body is never read past the cap. */
  responseBodyExcerpt?: string;
  errorKind?: AttemptErrorKind;
  errorMessage?: string;
  /** Seconds until the next attempt, when one was scheduled. */
  retryInSeconds?: number;
}

/** Deliveries table item (PK id). Field names follow seed 003. */
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
  responseHeaders?: Record<string, string>;
  errorMessage?: string;
  errorKind?: AttemptErrorKind;
  nextAttemptAt?: string;
  createdAt: string;
  updatedAt: string;
  attempts: AttemptRecord[];
  /** `${createdAt}#${id}`: sort key of the by-subscription indexes (newest first). */
  createdKey: string;
  /** `${subscriptionId}#${status}`: partition key of the by-status index. */
  subscriptionStatus: string;
  expiresAt: number;
}

/** The part of an event a delivery needs; the envelope is built from it byte for byte. */
export interface DeliveryEvent {
  id: string;
  type: string;
  timestamp: string;
  data: unknown;
}

/** Body of a deliveries-queue message: one event to one subscription. */
export interface DeliveryMessage {
  v: 1;
  deliveryId: string;
  fleetId: string;
  subscriptionId: string;
  event: DeliveryEvent;
  /** What enqueued it; informational only. */
  reason: 'fanout' | 'retry' | 'replay' | 'test';
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
