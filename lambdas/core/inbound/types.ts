/**
 * The contract every inbound provider implements. A provider is one small module that turns a raw
 * HTTP request into "verified event" or "handshake answer" or "rejected (reason for the logs)";
 * the ingest route does everything else (lookup, size limit, time window, dedupe, publish).
 * Pure: node:crypto only, no AWS SDK.
 */

export const PROVIDER_IDS = ['github', 'gitlab', 'gitee', 'gerrit', 'feishu', 'wecom', 'generic'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

/** A request as the provider sent it: lower-case header names, the raw body bytes. */
export interface InboundRequest {
  method: string;
  headers: Readonly<Record<string, string>>;
  query: Readonly<Record<string, string>>;
  body: Buffer;
}

/** Secret material of a source, by field name (`secret`, `token`, `encryptKey`, …). */
export type Credentials = Readonly<Record<string, string>>;

/** Non-secret per-source settings (header names, modes); validated by the provider's schema. */
export type SourceSettings = Readonly<Record<string, string | number | boolean>>;

export interface VerifyContext {
  /** Newest first: the current credentials, then a rotated-out set still in its grace period. */
  credentials: readonly Credentials[];
  settings: SourceSettings;
  /** The source's name (generic sources take their event type from it). */
  sourceName: string;
}

/** An authentic provider request carrying an event. */
export interface VerifiedEvent {
  kind: 'event';
  /** The provider's event name before normalisation (`push`, `Merge Request Hook`, …). */
  eventName: string;
  /** The provider's own delivery id, when it sends one. */
  deliveryId?: string;
  /** When the provider signed the request (ms since epoch), if it says. */
  timestampMs?: number;
  /** How far that time may be from ours; absent: the provider's scheme has no time window. */
  toleranceMs?: number;
  /** What the signature covered, for the replay key when there is no delivery id. */
  signature: string;
  /** The payload: parsed JSON, a parsed XML message, or the raw text. */
  body: unknown;
}

/** An authentic handshake (URL verification) with the answer the provider expects. */
export interface Handshake {
  kind: 'handshake';
  statusCode: number;
  /** JSON answer, or `text` for providers that want the bare value. */
  json?: unknown;
  text?: string;
}

export interface Rejected {
  kind: 'rejected';
  /** For logs and metrics only; the caller gets a generic answer. */
  reason: string;
}

export type Verification = VerifiedEvent | Handshake | Rejected;

export interface CredentialField {
  name: string;
  /** A fresh value when the caller does not bring one. */
  generate(): string;
  /** A problem with a value the caller brings, or undefined. */
  check?(value: string): string | undefined;
  /** May be omitted entirely (no value is generated either). */
  optional?: boolean;
  description: string;
}

export interface SettingField {
  name: string;
  kind: 'string' | 'number' | 'boolean' | 'header';
  /** Allowed values for a string setting. */
  values?: readonly string[];
  min?: number;
  max?: number;
  default?: string | number | boolean;
  description: string;
}

export interface InboundProvider {
  readonly id: ProviderId;
  /** Methods the provider uses on the ingest URL (GET only for handshakes). */
  readonly methods: readonly ('GET' | 'POST')[];
  readonly credentials: readonly CredentialField[];
  readonly settings: readonly SettingField[];
  /** Request headers copied into the event's `data.headers` (lower-case). */
  readonly keptHeaders: readonly string[];
  /**
   * How an accepted request is answered when the provider insists: Feishu counts only HTTP 200 as
   * received, WeCom wants 200 with an empty body. Default: 202 with `{id, type}`.
   */
  readonly acceptedAnswer?: { statusCode: 200; empty?: boolean };
  /** Common event names listed by GET /event-types (already normalised). */
  readonly documentedEvents: readonly string[];
  /** Authenticates the request and extracts the event, or answers a handshake. */
  verify(request: InboundRequest, context: VerifyContext): Promise<Verification>;
}
