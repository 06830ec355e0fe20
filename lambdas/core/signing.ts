import { createHmac } from 'node:crypto';
import { signingKeyBytes } from './secrets';

/**
 * Request signing, two schemes side by side (README, "Delivery contract"): Standard Webhooks,
 * which the `standardwebhooks` and `svix` packages verify as they are, and the hex scheme's
 * `<prefix>-Signature: sha256=<hex>` keyed with the whole secret string.
 */

export interface StandardWebhooksInput {
  msgId: string;
  /** Unix seconds of this attempt. */
  timestamp: number;
  body: string;
  /** Newest first; each one adds a `v1,` signature so a receiver mid-rotation accepts either. */
  secrets: string[];
}

export function signStandardWebhooks(input: StandardWebhooksInput): string {
  assertUnixSeconds(input.timestamp);
  if (input.secrets.length === 0) throw new TypeError('At least one signing secret is required');
  const signedContent = `${input.msgId}.${input.timestamp}.${input.body}`;
  return input.secrets
    .map((secret) => `v1,${createHmac('sha256', signingKeyBytes(secret)).update(signedContent, 'utf8').digest('base64')}`)
    .join(' ');
}

export function signHexScheme(input: { timestamp: number; body: string; secret: string }): string {
  assertUnixSeconds(input.timestamp);
  const mac = createHmac('sha256', Buffer.from(input.secret, 'utf8'));
  return `sha256=${mac.update(`${input.timestamp}.${input.body}`, 'utf8').digest('hex')}`;
}

export interface DeliveryHeadersInput {
  deliveryId: string;
  timestamp: number;
  body: string;
  secrets: string[];
  headerPrefix: string;
  userAgent: string;
  customHeaders?: Record<string, string>;
}

/**
 * Every header of one attempt, names lower-cased so a custom header can't sit next to a signed
 * one under a different spelling. Custom headers come first and never replace a reserved one.
 */
export function buildDeliveryHeaders(input: DeliveryHeadersInput): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.customHeaders ?? {})) {
    if (!isReservedHeaderName(name, input.headerPrefix)) headers[name.trim().toLowerCase()] = value;
  }
  const [current] = input.secrets;
  if (current === undefined) throw new TypeError('At least one signing secret is required');
  const prefix = input.headerPrefix.toLowerCase();
  const timestamp = String(input.timestamp);
  headers['content-type'] = 'application/json';
  headers['user-agent'] = input.userAgent;
  headers['webhook-id'] = input.deliveryId;
  headers['webhook-timestamp'] = timestamp;
  headers['webhook-signature'] = signStandardWebhooks({
    msgId: input.deliveryId,
    timestamp: input.timestamp,
    body: input.body,
    secrets: input.secrets,
  });
  headers[`${prefix}-delivery-id`] = input.deliveryId;
  headers[`${prefix}-timestamp`] = timestamp;
  headers[`${prefix}-signature`] = signHexScheme({ timestamp: input.timestamp, body: input.body, secret: current });
  return headers;
}

/** Headers Hookline sets on every attempt; the signature covers what they describe. */
const SET_BY_HOOKLINE: ReadonlySet<string> = new Set(['content-type', 'user-agent']);

/**
 * Headers that change how the receiver (or a proxy on the way) frames, decodes or routes the
 * request: a custom `content-encoding: gzip` would make the receiver gunzip a plain body, a
 * `transfer-encoding` or `content-length` would reframe it, `host` would route it elsewhere.
 * undici refuses several of them outright.
 */
const CHANGES_HOW_THE_BODY_IS_READ: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'content-encoding',
  'content-range',
  'transfer-encoding',
  'te',
  'trailer',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'http2-settings',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
]);

/** Why a custom header name is refused, or undefined when a subscription may set it. */
export function reservedHeaderReason(name: string, headerPrefix: string): string | undefined {
  const lower = name.trim().toLowerCase();
  if (SET_BY_HOOKLINE.has(lower) || lower.startsWith('webhook-') || lower.startsWith(`${headerPrefix.toLowerCase()}-`)) {
    return `${name} is set by Hookline and cannot be overridden`;
  }
  if (CHANGES_HOW_THE_BODY_IS_READ.has(lower) || lower.startsWith('proxy-')) {
    return `${name} changes how the request is framed, decoded or routed and cannot be set`;
  }
  return undefined;
}

export function isReservedHeaderName(name: string, headerPrefix: string): boolean {
  return reservedHeaderReason(name, headerPrefix) !== undefined;
}

/** RFC 9110 field-name: a non-empty token. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 9110 field-value without obs-text, and no leading/trailing whitespace (undici would trim it). */
const HEADER_VALUE = /^(?:[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?)?$/;

export function isValidHeaderName(name: string): boolean {
  return HEADER_NAME.test(name);
}

export function isValidHeaderValue(value: string): boolean {
  return HEADER_VALUE.test(value);
}

function assertUnixSeconds(timestamp: number): void {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new TypeError(`Signature timestamp must be whole unix seconds, got ${timestamp}`);
  }
}
