import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Verifies a Hookline delivery on the receiving side. Hookline signs every attempt two ways:
 *
 * - Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>` (one
 *   `v1,` entry per active secret while a rotated-out secret is in its grace period), HMAC-SHA256
 *   keyed with the base64-decoded part of the `whsec_…` secret over `{id}.{timestamp}.{body}`.
 * - The hex X-Webhook-Signature scheme: `<prefix>-Timestamp` and
 *   `<prefix>-Signature: sha256=<hex>`, HMAC-SHA256 keyed with the whole secret string over
 *   `{timestamp}.{body}`; the prefix is the deployment's `signatureHeaderPrefix` (default `X-Webhook`).
 *
 * A delivery is accepted when either scheme verifies under any of the given secrets, so a receiver
 * rolling a rotation out keeps accepting deliveries with the old or the new secret.
 */

export type VerifyFailureReason =
  /** Neither scheme's signature header is there (or its companions are missing). */
  | 'no_signature_header'
  /** A secret is not a `whsec_…` Hookline signing secret (e.g. only its base64 part was copied). */
  | 'secret_not_whsec'
  /** The timestamp header is not whole unix seconds. */
  | 'timestamp_invalid'
  /** The timestamp is further from now than the tolerance: a replayed or badly delayed request, or a skewed clock. */
  | 'timestamp_outside_tolerance'
  /** No signature matches: the body was changed or re-serialised (verify the raw bytes), or the secret is another one. */
  | 'signature_mismatch';

export type SignatureScheme = 'standard-webhooks' | 'hex';

export type VerifyResult =
  | {
      ok: true;
      /** The scheme that verified (Standard Webhooks is tried first). */
      scheme: SignatureScheme;
      /** Index in `secrets` of the secret that verified. */
      secretIndex: number;
      /** The delivery id (`webhook-id`, or `<prefix>-Delivery-Id`): stable across retries, use it to deduplicate. */
      deliveryId: string | undefined;
      timestamp: number;
    }
  | { ok: false; reason: VerifyFailureReason; message: string };

export interface VerifyOptions {
  /** Largest accepted distance between the signed timestamp and now, in seconds (default 300). */
  toleranceSeconds?: number;
  /** The deployment's `signatureHeaderPrefix` (default `X-Webhook`). */
  headerPrefix?: string;
  /** Current time in unix seconds (tests). */
  nowSeconds?: number;
}

/** Node's IncomingHttpHeaders, a plain record, or fetch's Headers. */
export type HeadersInput =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

export const DEFAULT_TOLERANCE_SECONDS = 300;
export const DEFAULT_HEADER_PREFIX = 'X-Webhook';
const SECRET_PREFIX = 'whsec_';
const SHA256_BYTES = 32;

export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError';
  constructor(
    readonly reason: VerifyFailureReason,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Checks a delivery against one or several secrets. Pass the body exactly as received (the raw
 * bytes or their UTF-8 string): a body parsed and serialised again no longer verifies.
 */
export function verify(
  headers: HeadersInput,
  body: string | Uint8Array,
  secrets: string | readonly string[],
  options: VerifyOptions = {},
): VerifyResult {
  const list = typeof secrets === 'string' ? [secrets] : [...secrets];
  if (list.length === 0) throw new TypeError('verify() needs at least one secret');
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const prefix = (options.headerPrefix ?? DEFAULT_HEADER_PREFIX).toLowerCase();
  const read = headerReader(headers);
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);

  const attempts: Failure[] = [];
  const standard = read('webhook-signature');
  if (standard !== undefined) {
    const outcome = verifyStandard(read, standard, bytes, list, now, tolerance);
    if (outcome.ok) return outcome;
    attempts.push(outcome);
  }
  const hex = read(`${prefix}-signature`);
  if (hex !== undefined) {
    const outcome = verifyHex(read, prefix, hex, bytes, list, now, tolerance);
    if (outcome.ok) return outcome;
    attempts.push(outcome);
  }
  if (attempts.length === 0) {
    return fail('no_signature_header', `Neither webhook-signature nor ${prefix}-signature is present: not a signed Hookline delivery`);
  }
  const malformed = list.findIndex((secret) => !secret.startsWith(SECRET_PREFIX));
  if (malformed !== -1) {
    return fail('secret_not_whsec', `Secret #${malformed + 1} does not start with whsec_: pass the whole secret Hookline returned`);
  }
  // The most telling failure first: a bad timestamp explains a mismatch, not the other way round.
  const order: VerifyFailureReason[] = ['no_signature_header', 'timestamp_invalid', 'timestamp_outside_tolerance', 'signature_mismatch'];
  attempts.sort((a, b) => order.indexOf(a.reason) - order.indexOf(b.reason));
  const worst = attempts.find((attempt) => attempt.reason !== 'no_signature_header') ?? attempts[0]!;
  return worst;
}

/** Like {@link verify}, but throws a {@link WebhookVerificationError} carrying the reason. */
export function verifyOrThrow(
  headers: HeadersInput,
  body: string | Uint8Array,
  secrets: string | readonly string[],
  options: VerifyOptions = {},
): Extract<VerifyResult, { ok: true }> {
  const result = verify(headers, body, secrets, options);
  if (!result.ok) throw new WebhookVerificationError(result.reason, result.message);
  return result;
}

type Failure = Extract<VerifyResult, { ok: false }>;
type Reader = (name: string) => string | undefined;

function fail(reason: VerifyFailureReason, message: string): Failure {
  return { ok: false, reason, message };
}

function headerReader(headers: HeadersInput): Reader {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    const fetchHeaders = headers as { get(name: string): string | null };
    return (name) => fetchHeaders.get(name) ?? undefined;
  }
  const lower = new Map<string, string>();
  for (const [name, value] of Object.entries(headers as Record<string, string | readonly string[] | undefined>)) {
    const text = typeof value === 'string' ? value : value?.[0];
    if (text !== undefined) lower.set(name.toLowerCase(), text);
  }
  return (name) => lower.get(name);
}

function checkTimestamp(raw: string | undefined, name: string, now: number, tolerance: number): number | Failure {
  if (raw === undefined) return fail('no_signature_header', `${name} is missing`);
  if (!/^\d{1,12}$/.test(raw.trim())) return fail('timestamp_invalid', `${name} ${JSON.stringify(raw)} is not unix seconds`);
  const timestamp = Number(raw.trim());
  const skew = now - timestamp;
  if (Math.abs(skew) > tolerance) {
    const when = skew > 0 ? `${skew} s old` : `${-skew} s in the future`;
    return fail('timestamp_outside_tolerance', `${name} is ${when}, beyond the ${tolerance} s tolerance (replayed request or skewed clock)`);
  }
  return timestamp;
}

const MISMATCH = 'No signature matches: the body was changed or re-serialised (verify the raw body), or it was signed with another secret';

function verifyStandard(
  read: Reader,
  header: string,
  body: Buffer,
  secrets: readonly string[],
  now: number,
  tolerance: number,
): VerifyResult {
  const id = read('webhook-id');
  if (id === undefined) return fail('no_signature_header', 'webhook-signature is present but webhook-id is missing');
  const timestamp = checkTimestamp(read('webhook-timestamp'), 'webhook-timestamp', now, tolerance);
  if (typeof timestamp !== 'number') return timestamp;
  const given = header
    .split(' ')
    .map((entry) => entry.split(','))
    .filter(([version, value]) => version === 'v1' && value !== undefined)
    .map(([, value]) => Buffer.from(value as string, 'base64'))
    .filter((signature) => signature.length === SHA256_BYTES);
  const signedPrefix = Buffer.from(`${id}.${timestamp}.`, 'utf8');
  for (const [index, secret] of secrets.entries()) {
    const key = standardKey(secret);
    if (key === undefined) continue;
    const expected = createHmac('sha256', key).update(signedPrefix).update(body).digest();
    if (given.some((signature) => timingSafeEqual(signature, expected))) {
      return { ok: true, scheme: 'standard-webhooks', secretIndex: index, deliveryId: id, timestamp };
    }
  }
  return fail('signature_mismatch', MISMATCH);
}

function verifyHex(
  read: Reader,
  prefix: string,
  header: string,
  body: Buffer,
  secrets: readonly string[],
  now: number,
  tolerance: number,
): VerifyResult {
  const timestamp = checkTimestamp(read(`${prefix}-timestamp`), `${prefix}-timestamp`, now, tolerance);
  if (typeof timestamp !== 'number') return timestamp;
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (match === null) return fail('signature_mismatch', `${prefix}-signature is not sha256=<64 hex digits>`);
  const given = Buffer.from(match[1] as string, 'hex');
  for (const [index, secret] of secrets.entries()) {
    if (!secret.startsWith(SECRET_PREFIX)) continue;
    const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${timestamp}.`).update(body).digest();
    if (timingSafeEqual(given, expected)) {
      return { ok: true, scheme: 'hex', secretIndex: index, deliveryId: read(`${prefix}-delivery-id`), timestamp };
    }
  }
  return fail('signature_mismatch', MISMATCH);
}

/** The HMAC key of a `whsec_<base64>` secret, or undefined when it is not one. */
function standardKey(secret: string): Buffer | undefined {
  if (!secret.startsWith(SECRET_PREFIX)) return undefined;
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  return key.length === 0 ? undefined : key;
}
