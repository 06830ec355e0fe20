import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { HooklineError, PermanentError } from './errors';
import type { SigningSecretValue, SubscriptionRecord } from './records';

/**
 * Secret material sealed with AES-256-GCM under the deployment's key-encryption key, so each
 * subscription's signing secret (and each inbound source's credentials) lives on its own table item
 * instead of in a Secrets Manager secret of its own: $0.40 a month each, and creation bound to
 * Secrets Manager's write rate.
 *
 * The key-encryption key is a key ring: numbered 256-bit keys and the number that seals new values.
 * Old numbers stay readable after a key rotation; `hookline secrets rekey` moves every subscription
 * to the newest one.
 *
 * Sealed form: `v1.<keyVersion>.<iv>.<ciphertext>.<tag>` (iv, ciphertext and tag base64url). The
 * associated data binds the value to the key version and to where it belongs (purpose, fleet,
 * record id, slot), so a value copied to another record, fleet, slot or key version, or an extended
 * grace period, fails authentication instead of opening.
 */

export const SEALED_FORMAT = 'v1';
const KEY_BYTES = 32;
/** 96-bit IVs, GCM's native size, random per seal: NIST SP 800-38D allows 2^32 such seals per key. */
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_HEX = /^[0-9a-f]{64}$/i;
const VERSION = /^[1-9][0-9]{0,8}$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

export interface KeyRing {
  /** Version that seals new values: the highest one present unless the ring names another. */
  readonly current: number;
  readonly keys: ReadonlyMap<number, Buffer>;
}

/** The key ring secret's value is not what Hookline expects: a deployment fault, not a bad item. */
export class KeyRingError extends HooklineError {
  override name = 'KeyRingError';
}

/** A sealed value that cannot be opened; retrying cannot help, so a delivery needing it is set aside. */
export class SealedSecretError extends PermanentError {
  override name = 'SealedSecretError';
}

/** Not a `v1.<version>.<iv>.<ct>.<tag>` string. */
export class MalformedSealedSecretError extends SealedSecretError {
  override name = 'MalformedSealedSecretError';
}

/** Sealed under a key version the key ring does not hold (even after a refresh). */
export class UnknownKeyVersionError extends SealedSecretError {
  override name = 'UnknownKeyVersionError';
  constructor(readonly keyVersion: number) {
    super(`the secret is sealed under key version ${keyVersion}, which the key-encryption key secret does not hold`);
  }
}

/** GCM refused: the ciphertext, IV or tag was altered, or the value belongs to another record, slot or key. */
export class SealedSecretAuthenticationError extends SealedSecretError {
  override name = 'SealedSecretAuthenticationError';
  constructor() {
    super('the sealed secret does not authenticate: it was altered, or sealed for another fleet, record, slot or key version');
  }
}

/**
 * Parses the key ring secret: `{"current": "2", "1": "<64 hex>", "2": "<64 hex>"}`. Property names
 * are key versions (1, 2, …); `current` is optional and defaults to the highest version.
 */
export function parseKeyRing(text: string | undefined): KeyRing {
  let raw: unknown;
  try {
    raw = JSON.parse(text ?? '');
  } catch {
    throw new KeyRingError('the key-encryption key secret is not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new KeyRingError('the key-encryption key secret is not a JSON object');
  }
  const keys = new Map<number, Buffer>();
  let named: number | undefined;
  for (const [name, value] of Object.entries(raw)) {
    if (name === 'current') {
      named = parseVersion(String(value), () => new KeyRingError('"current" of the key-encryption key secret is not a key version'));
      continue;
    }
    const version = parseVersion(name, () => new KeyRingError(`key-encryption key secret property "${name.slice(0, 20)}" is not a key version`));
    // The value itself is never echoed: it is key material.
    if (typeof value !== 'string' || !KEY_HEX.test(value)) {
      throw new KeyRingError(`key version ${version} must be 64 hexadecimal characters (32 bytes)`);
    }
    keys.set(version, Buffer.from(value, 'hex'));
  }
  if (keys.size === 0) throw new KeyRingError('the key-encryption key secret holds no key');
  const current = named ?? Math.max(...keys.keys());
  if (!keys.has(current)) throw new KeyRingError(`"current" names key version ${current}, which the secret does not hold`);
  return { current, keys };
}

/** Serialises a ring in the form parseKeyRing reads (local mode, the CLI and tests write it). */
export function formatKeyRing(ring: KeyRing): string {
  const entries = [...ring.keys].sort(([a], [b]) => a - b).map(([version, key]) => [String(version), key.toString('hex')]);
  return JSON.stringify({ current: String(ring.current), ...Object.fromEntries(entries) });
}

/** A fresh ring with one random key, version 1. */
export function generateKeyRing(): KeyRing {
  return { current: 1, keys: new Map([[1, randomBytes(KEY_BYTES)]]) };
}

/** `ring` plus a new random key that becomes current; the old versions stay. */
export function addKeyVersion(ring: KeyRing): KeyRing {
  const next = Math.max(...ring.keys.keys()) + 1;
  return { current: next, keys: new Map([...ring.keys, [next, randomBytes(KEY_BYTES)]]) };
}

/**
 * Seals `plaintext` under the ring's current key. `context` names where the value belongs (purpose
 * first, then ids); the same context must be given to open it.
 */
export function sealValue(ring: KeyRing, context: readonly string[], plaintext: string): string {
  const key = ring.keys.get(ring.current);
  if (key === undefined) throw new KeyRingError(`the key ring holds no key version ${ring.current}`);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(context, ring.current));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [SEALED_FORMAT, String(ring.current), b64(iv), b64(ciphertext), b64(cipher.getAuthTag())].join('.');
}

/** Opens a sealed value; throws a {@link SealedSecretError} saying why it cannot. */
export function openValue(ring: KeyRing, context: readonly string[], sealed: string): string {
  const parts = parseSealed(sealed);
  const key = ring.keys.get(parts.keyVersion);
  if (key === undefined) throw new UnknownKeyVersionError(parts.keyVersion);
  const decipher = createDecipheriv('aes-256-gcm', key, parts.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(associatedData(context, parts.keyVersion));
  decipher.setAuthTag(parts.tag);
  try {
    return Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new SealedSecretAuthenticationError();
  }
}

/** The key version a sealed value names (to refresh the ring, or to tell whether a rekey is due). */
export function sealedKeyVersion(sealed: string): number {
  return parseSealed(sealed).keyVersion;
}

interface SealedParts {
  keyVersion: number;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

function parseSealed(sealed: string): SealedParts {
  const parts = sealed.split('.');
  const malformed = () => new MalformedSealedSecretError(`the stored secret is not a ${SEALED_FORMAT} sealed value`);
  if (parts.length !== 5 || parts[0] !== SEALED_FORMAT) throw malformed();
  const [, version, iv, ciphertext, tag] = parts as [string, string, string, string, string];
  if (![iv, ciphertext, tag].every((part) => BASE64URL.test(part))) throw malformed();
  const parsed = {
    keyVersion: parseVersion(version, malformed),
    iv: Buffer.from(iv, 'base64url'),
    ciphertext: Buffer.from(ciphertext, 'base64url'),
    tag: Buffer.from(tag, 'base64url'),
  };
  if (parsed.iv.length !== IV_BYTES || parsed.tag.length !== TAG_BYTES) throw malformed();
  return parsed;
}

function parseVersion(text: string, error: () => Error): number {
  if (!VERSION.test(text)) throw error();
  return Number(text);
}

/**
 * NUL-separated. Every field but the last is a fleet id, record id, purpose or ISO time, none of
 * which holds NUL, so fields cannot run together; the key version is bound too, so a value cannot
 * be relabelled as sealed under another version.
 */
function associatedData(context: readonly string[], keyVersion: number): Buffer {
  return Buffer.from(['hookline-sealed', SEALED_FORMAT, String(keyVersion), ...context].join('\0'), 'utf8');
}

function b64(buffer: Buffer): string {
  return buffer.toString('base64url');
}

/** Where a subscription's signing secret sits: the current slot, or the previous one with its grace end. */
export type SigningSecretSlot = { kind: 'current' } | { kind: 'previous'; expiresAt: string };

/** The associated data of a subscription's signing secret in one slot. */
export function signingSecretContext(fleetId: string, subscriptionId: string, slot: SigningSecretSlot): string[] {
  const base = ['signing-secret', fleetId, subscriptionId];
  return slot.kind === 'current' ? [...base, 'current'] : [...base, 'previous', slot.expiresAt];
}

/** The sealed fields of a subscription record. */
export type SealedSigningSecrets = Pick<SubscriptionRecord, 'sealedSecret' | 'sealedPreviousSecret' | 'previousSecretExpiresAt'>;

/** Seals a subscription's secrets under the ring's current key. */
export function sealSigningSecrets(ring: KeyRing, fleetId: string, subscriptionId: string, value: SigningSecretValue): SealedSigningSecrets {
  const sealed: SealedSigningSecrets = {
    sealedSecret: sealValue(ring, signingSecretContext(fleetId, subscriptionId, { kind: 'current' }), value.current),
  };
  if (value.previous !== undefined && value.previousExpiresAt !== undefined) {
    const slot = { kind: 'previous', expiresAt: value.previousExpiresAt } as const;
    sealed.sealedPreviousSecret = sealValue(ring, signingSecretContext(fleetId, subscriptionId, slot), value.previous);
    sealed.previousSecretExpiresAt = value.previousExpiresAt;
  }
  return sealed;
}

/** A subscription record's identity and sealed secrets: all that opening them needs. */
export type SealedSubscription = Pick<SubscriptionRecord, 'fleetId' | 'id'> & SealedSigningSecrets;

/** Opens a subscription's sealed secrets; throws a {@link SealedSecretError} when one cannot be. */
export function openSigningSecrets(ring: KeyRing, record: SealedSubscription): SigningSecretValue {
  const { fleetId, id } = record;
  if (typeof record.sealedSecret !== 'string') throw new MalformedSealedSecretError('the subscription has no sealed signing secret');
  const value: SigningSecretValue = {
    current: openValue(ring, signingSecretContext(fleetId, id, { kind: 'current' }), record.sealedSecret),
  };
  if (record.sealedPreviousSecret !== undefined && record.previousSecretExpiresAt !== undefined) {
    const slot = { kind: 'previous', expiresAt: record.previousSecretExpiresAt } as const;
    value.previous = openValue(ring, signingSecretContext(fleetId, id, slot), record.sealedPreviousSecret);
    value.previousExpiresAt = record.previousSecretExpiresAt;
  }
  return value;
}

/** Key versions a record's sealed values name: the ones a loader must hold to open it. */
export function keyVersionsOf(record: SealedSigningSecrets): number[] {
  if (typeof record.sealedSecret !== 'string') throw new MalformedSealedSecretError('the subscription has no sealed signing secret');
  const versions = [sealedKeyVersion(record.sealedSecret)];
  if (record.sealedPreviousSecret !== undefined) versions.push(sealedKeyVersion(record.sealedPreviousSecret));
  return versions;
}
