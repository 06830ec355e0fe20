import type { AttemptErrorKind, AttemptRecord } from './records';

/**
 * What an attempt keeps of the endpoint's response, and the shape it is stored in. Attempts are
 * embedded in their delivery item, and DynamoDB bills every later write of that item (the next
 * claim, the next result) by its whole size in 1 KB units, so each byte kept here is paid again on
 * every write that follows. The body is
 * what a delivery log reader looks at (an endpoint's error answer); most response headers are
 * boilerplate a gateway or framework adds to every answer. So: the body up to
 * {@link MAX_BODY_EXCERPT_BYTES}, and a bounded selection of the headers.
 */

/** Response body bytes kept per attempt: any JSON error answer, or the head of an HTML error page. */
export const MAX_BODY_EXCERPT_BYTES = 1_024;
/** Bytes of response headers (names + values) kept per attempt, after the boilerplate is dropped. */
export const MAX_STORED_HEADER_BYTES = 256;
/** Longest header value kept; a longer one is cut and ends with '…'. */
export const MAX_STORED_HEADER_VALUE_BYTES = 128;

/**
 * Headers that say nothing about why a delivery failed or which request it was: already recorded
 * otherwise (date is the attempt's time, content-length its responseContentLength), connection
 * management, caching and browser security policy. `set-cookie` is dropped because a receiver's
 * session cookie is a credential that belongs to the receiver, not to the delivery log.
 */
const DROPPED = new Set([
  'date',
  'content-length',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'proxy-connection',
  'cache-control',
  'expires',
  'pragma',
  'age',
  'etag',
  'last-modified',
  'vary',
  'accept-ranges',
  'alt-svc',
  'strict-transport-security',
  'content-security-policy',
  'content-security-policy-report-only',
  'x-content-type-options',
  'x-frame-options',
  'x-xss-protection',
  'x-download-options',
  'x-permitted-cross-domain-policies',
  'x-dns-prefetch-control',
  'referrer-policy',
  'permissions-policy',
  'nel',
  'report-to',
  'reporting-endpoints',
  'server-timing',
  'set-cookie',
  'via',
  'x-powered-by',
]);
const DROPPED_PREFIXES = ['access-control-', 'cross-origin-'];

/** Headers worth their bytes first, whatever order the endpoint sent them in. */
const FIRST = ['content-type', 'retry-after', 'location', 'www-authenticate', 'content-encoding'];

/**
 * The headers an attempt keeps: boilerplate dropped, the useful ones first, each value at most
 * {@link MAX_STORED_HEADER_VALUE_BYTES}, all together at most {@link MAX_STORED_HEADER_BYTES}.
 * Undefined when none is left, so the attempt stores no empty map.
 */
export function storedResponseHeaders(headers: Readonly<Record<string, string>>): Record<string, string> | undefined {
  const candidates = Object.entries(headers)
    .map(([name, value]) => [name.toLowerCase(), value] as const)
    .filter(([name]) => !DROPPED.has(name) && !DROPPED_PREFIXES.some((prefix) => name.startsWith(prefix)));
  const rank = (name: string) => {
    const index = FIRST.indexOf(name);
    return index === -1 ? FIRST.length : index;
  };
  // Array.prototype.sort is stable: headers of equal rank keep the endpoint's order.
  candidates.sort(([a], [b]) => rank(a) - rank(b));
  const kept: Record<string, string> = {};
  let used = 0;
  for (const [name, raw] of candidates) {
    const value = truncateUtf8(raw, MAX_STORED_HEADER_VALUE_BYTES);
    const size = Buffer.byteLength(name) + Buffer.byteLength(value);
    if (used + size > MAX_STORED_HEADER_BYTES) continue;
    used += size;
    kept[name] = value;
  }
  return Object.keys(kept).length > 0 ? kept : undefined;
}

/** Cuts `text` to at most `maxBytes` of UTF-8, on a whole character, marking the cut with '…'. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const ellipsis = '…';
  const budget = maxBytes - Buffer.byteLength(ellipsis);
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > budget) break;
    bytes += size;
    end += char.length;
  }
  return `${text.slice(0, end)}${ellipsis}`;
}

/**
 * An attempt as stored in its delivery item: {@link AttemptRecord} under short attribute names, since
 * the names are stored (and billed) in every attempt of every delivery, again on each later write of
 * the item.
 */
export interface StoredAttempt {
  round: number;
  attempt: number;
  at: string;
  code?: number;
  ms: number;
  size?: number;
  headers?: Record<string, string>;
  body?: string;
  kind?: AttemptErrorKind;
  error?: string;
  retryIn?: number;
}

export function toStoredAttempt(attempt: AttemptRecord): StoredAttempt {
  const stored: StoredAttempt = { round: attempt.round, attempt: attempt.attempt, at: attempt.at, ms: attempt.latencyMs };
  if (attempt.statusCode !== undefined) stored.code = attempt.statusCode;
  if (attempt.responseContentLength !== undefined) stored.size = attempt.responseContentLength;
  if (attempt.responseHeaders !== undefined) stored.headers = attempt.responseHeaders;
  if (attempt.responseBodyExcerpt !== undefined) stored.body = attempt.responseBodyExcerpt;
  if (attempt.errorKind !== undefined) stored.kind = attempt.errorKind;
  if (attempt.errorMessage !== undefined) stored.error = attempt.errorMessage;
  if (attempt.retryInSeconds !== undefined) stored.retryIn = attempt.retryInSeconds;
  return stored;
}

/** An attempt as read back: the stored shape, or the long-named shape that earlier versions stored. */
export function fromStoredAttempt(item: StoredAttempt | AttemptRecord): AttemptRecord {
  const stored = item as Partial<StoredAttempt> & Partial<AttemptRecord>;
  const statusCode = stored.code ?? stored.statusCode;
  const errorKind = stored.kind ?? stored.errorKind;
  const errorMessage = stored.error ?? stored.errorMessage;
  const attempt: AttemptRecord = {
    round: stored.round ?? 1,
    attempt: stored.attempt as number,
    at: stored.at as string,
    latencyMs: (stored.ms ?? stored.latencyMs) as number,
  };
  const optional: Partial<AttemptRecord> = {
    statusCode,
    responseContentLength: stored.size ?? stored.responseContentLength,
    responseHeaders: stored.headers ?? stored.responseHeaders,
    responseBodyExcerpt: stored.body ?? stored.responseBodyExcerpt,
    errorKind,
    errorMessage,
    retryInSeconds: stored.retryIn ?? stored.retryInSeconds,
  };
  for (const [name, value] of Object.entries(optional)) {
    if (value !== undefined) (attempt as unknown as Record<string, unknown>)[name] = value;
  }
  return attempt;
}
