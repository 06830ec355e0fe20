import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { MalformedSecretError } from './errors';
import type { SigningSecretValue } from './records';

export const SIGNING_SECRET_PREFIX = 'whsec_';
const SIGNING_KEY_BYTES = 32;
const TOKEN_SECRET_BYTES = 32;
const HOUR_MS = 3_600_000;

/** Canonical standard base64 with padding: what `Buffer#toString('base64')` produces. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * `hlk_` + token id + `_` + secret. The id is a ULID (no `_`), so the first `_` after it ends the
 * id even though base64url secrets may themselves contain `_`. Secrets we issue are 43 chars; a
 * wider range lets an operator choose a development token (HOOKLINE_TOKEN) by hand.
 */
const API_TOKEN = /^hlk_(tok_[0-7][0-9A-HJKMNP-TV-Z]{25})_([A-Za-z0-9_-]{20,256})$/;

export function generateSigningSecret(): string {
  return SIGNING_SECRET_PREFIX + randomBytes(SIGNING_KEY_BYTES).toString('base64');
}

/** The HMAC key of a Standard Webhooks secret, decoded exactly as the `standardwebhooks` package does. */
export function signingKeyBytes(secret: string): Buffer {
  if (!secret.startsWith(SIGNING_SECRET_PREFIX)) {
    throw new MalformedSecretError(`Signing secret must start with ${SIGNING_SECRET_PREFIX}`);
  }
  const encoded = secret.slice(SIGNING_SECRET_PREFIX.length);
  if (encoded.length === 0 || !BASE64.test(encoded)) {
    throw new MalformedSecretError(`Signing secret must be ${SIGNING_SECRET_PREFIX} followed by standard base64`);
  }
  return Buffer.from(encoded, 'base64');
}

/** Secrets to sign with, newest first: the previous one keeps signing until its grace period ends. */
export function activeSigningSecrets(value: SigningSecretValue, now: Date): string[] {
  const { current, previous, previousExpiresAt } = value;
  if (previous === undefined || previousExpiresAt === undefined) return [current];
  // An unparsable expiry gives NaN, which compares false: the previous secret is then dropped.
  return now.getTime() < Date.parse(previousExpiresAt) ? [current, previous] : [current];
}

/**
 * The stored value after a rotation. Only one previous secret is kept: rotating again inside a
 * grace period retires the older one at once.
 */
export function rotateSecretValue(
  value: SigningSecretValue,
  newSecret: string,
  now: Date,
  graceHours: number,
): SigningSecretValue {
  if (!(graceHours > 0)) return { current: newSecret };
  return {
    current: newSecret,
    previous: value.current,
    previousExpiresAt: new Date(now.getTime() + graceHours * HOUR_MS).toISOString(),
  };
}

/** 43 chars of base64url (32 random bytes). */
export function generateApiTokenSecret(): string {
  return randomBytes(TOKEN_SECRET_BYTES).toString('base64url');
}

/** Hex SHA-256: the only form in which a token secret is stored. */
export function hashTokenSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function tokenSecretMatches(secret: string, expectedHash: string): boolean {
  const actual = Buffer.from(hashTokenSecret(secret), 'utf8');
  const expected = Buffer.from(expectedHash.toLowerCase(), 'utf8');
  // The stored hash's length is not secret; timingSafeEqual needs equal lengths.
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export function formatApiToken(tokenId: string, secret: string): string {
  return `hlk_${tokenId}_${secret}`;
}

export function parseApiToken(token: string): { tokenId: string; secret: string } | undefined {
  const match = API_TOKEN.exec(token);
  // Both groups are mandatory in the pattern, so a match always has them.
  return match ? { tokenId: match[1]!, secret: match[2]! } : undefined;
}
