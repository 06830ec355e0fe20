import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { InboundRequest, Rejected } from './types';

/** Equal strings in time independent of where they differ (lengths still leak, as everywhere). */
export function safeEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a, 'utf8').digest();
  const right = createHash('sha256').update(b, 'utf8').digest();
  // Comparing digests keeps timingSafeEqual's equal-length requirement from leaking the length.
  return timingSafeEqual(left, right) && a === b;
}

export function reject(reason: string): Rejected {
  return { kind: 'rejected', reason };
}

/** A random credential: base64url of `bytes` random bytes, with an optional prefix. */
export function randomToken(bytes = 32, prefix = ''): string {
  return prefix + randomBytes(bytes).toString('base64url');
}

/** Lower-case dotted-word form of a provider's event name: `Merge Request Hook` → `merge_request_hook`. */
export function normaliseEventName(name: string): string {
  const words = name
    .toLowerCase()
    .split('.')
    .map((part) => part.replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, ''))
    .filter((part) => part !== '');
  return words.join('.').slice(0, 96) || 'unknown';
}

/** The body as text when it is valid UTF-8 (every provider here sends UTF-8), else undefined. */
export function utf8(body: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
  } catch {
    return undefined;
  }
}

/** Parsed JSON when the text is JSON, else the text itself. */
export function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * The payload of a JSON or form-encoded (`payload=<json>`, as GitHub and Gitee can send) body.
 */
export function parseBody(request: InboundRequest, text: string): unknown {
  const type = (request.headers['content-type'] ?? '').toLowerCase();
  if (type.startsWith('application/x-www-form-urlencoded')) {
    const payload = new URLSearchParams(text).get('payload');
    if (payload !== null) return jsonOrText(payload);
  }
  return jsonOrText(text);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function stringField(value: unknown, key: string): string | undefined {
  if (!isRecord(value)) return undefined;
  const field = value[key];
  return typeof field === 'string' ? field : undefined;
}

/** Unix time in seconds or milliseconds (told apart by magnitude) as ms; undefined when not a number. */
export function parseTimestamp(raw: string | undefined): number | undefined {
  if (raw === undefined || !/^\d{1,16}$/.test(raw.trim())) return undefined;
  const value = Number(raw.trim());
  return value < 100_000_000_000 ? value * 1000 : value;
}
