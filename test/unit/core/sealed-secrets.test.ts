import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../../lambdas/core/errors';
import {
  addKeyVersion,
  formatKeyRing,
  generateKeyRing,
  KeyRingError,
  keyVersionsOf,
  MalformedSealedSecretError,
  openSigningSecrets,
  openValue,
  parseKeyRing,
  SealedSecretAuthenticationError,
  sealedKeyVersion,
  sealSigningSecrets,
  sealValue,
  signingSecretContext,
  UnknownKeyVersionError,
} from '../../../lambdas/core/sealed-secrets';

const SECRET = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
const SUBSCRIPTION = 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CD';
const context = signingSecretContext('fleet-a', SUBSCRIPTION, { kind: 'current' });

/** Flips one bit of the base64url part `index` (2 iv, 3 ciphertext, 4 tag). */
function tamper(sealed: string, index: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[index]!, 'base64url');
  bytes[0] = bytes[0]! ^ 1;
  parts[index] = bytes.toString('base64url');
  return parts.join('.');
}

describe('sealValue / openValue', () => {
  it('round-trips in the compact v1.<version>.<iv>.<ct>.<tag> form, with a fresh IV each time', () => {
    const ring = generateKeyRing();
    const sealed = sealValue(ring, context, SECRET);
    expect(sealed).toMatch(/^v1\.1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(sealed).not.toContain(SECRET.slice(6, 20));
    expect(openValue(ring, context, sealed)).toBe(SECRET);
    expect(sealValue(ring, context, SECRET)).not.toBe(sealed);
  });

  it.each([
    ['the IV', 2],
    ['the ciphertext', 3],
    ['the tag', 4],
  ])('refuses a value whose %s was altered, as a PermanentError (set aside, not retried)', (_what, index) => {
    const ring = generateKeyRing();
    const altered = tamper(sealValue(ring, context, SECRET), index);
    expect(() => openValue(ring, context, altered)).toThrow(SealedSecretAuthenticationError);
    expect(() => openValue(ring, context, altered)).toThrow(PermanentError);
    expect(() => openValue(ring, context, altered)).toThrow(/does not authenticate: it was altered, or sealed for another fleet/);
  });

  it.each([
    ['another fleet', signingSecretContext('fleet-b', SUBSCRIPTION, { kind: 'current' })],
    ['another subscription', signingSecretContext('fleet-a', 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CE', { kind: 'current' })],
    ['the previous slot', signingSecretContext('fleet-a', SUBSCRIPTION, { kind: 'previous', expiresAt: '2030-01-01T00:00:00.000Z' })],
    ['inbound credentials', ['inbound-credentials', `fleet-a\0${SUBSCRIPTION}`]],
  ])('refuses a value opened as %s', (_what, other) => {
    const ring = generateKeyRing();
    expect(() => openValue(ring, other, sealValue(ring, context, SECRET))).toThrow(SealedSecretAuthenticationError);
  });

  it('refuses a value opened with another key ring (another deployment)', () => {
    expect(() => openValue(generateKeyRing(), context, sealValue(generateKeyRing(), context, SECRET))).toThrow(SealedSecretAuthenticationError);
  });

  it('binds the grace-period end of a previous secret: extending it breaks the value', () => {
    const ring = generateKeyRing();
    const sealed = sealSigningSecrets(ring, 'f', 'wh_1', { current: SECRET, previous: SECRET.replace('A', 'B'), previousExpiresAt: '2030-01-01T00:00:00.000Z' });
    const extended = { fleetId: 'f', id: 'wh_1', ...sealed, previousSecretExpiresAt: '2031-01-01T00:00:00.000Z' };
    expect(() => openSigningSecrets(ring, extended)).toThrow(SealedSecretAuthenticationError);
    expect(openSigningSecrets(ring, { fleetId: 'f', id: 'wh_1', ...sealed })).toEqual({
      current: SECRET,
      previous: SECRET.replace('A', 'B'),
      previousExpiresAt: '2030-01-01T00:00:00.000Z',
    });
  });

  it('refuses a key version the ring does not hold, and one rewritten to another version', () => {
    const ring = generateKeyRing();
    const next = addKeyVersion(ring);
    const underTwo = sealValue(next, context, SECRET);
    expect(sealedKeyVersion(underTwo)).toBe(2);
    expect(() => openValue(ring, context, underTwo)).toThrow(UnknownKeyVersionError);
    expect(() => openValue(ring, context, underTwo)).toThrow(/key version 2, which the key-encryption key secret does not hold/);
    // Claiming version 1 for a value sealed under 2: the key differs and the version is in the associated data.
    expect(() => openValue(next, context, underTwo.replace(/^v1\.2\./, 'v1.1.'))).toThrow(SealedSecretAuthenticationError);
  });

  it.each(['', 'v2.1.a.b.c', 'v1.0.aaaaaaaaaaaaaaaa.b.cccccccccccccccccccccc', 'v1.1.short.b.cccccccccccccccccccccc', 'v1.1.a+b.c.d', 'v1.x.a.b.c'])(
    'refuses the malformed value %j',
    (value) => {
      expect(() => openValue(generateKeyRing(), context, value)).toThrow(MalformedSealedSecretError);
    },
  );

  it('refuses a subscription record that carries no sealed secret (written before sealing), as a PermanentError', () => {
    const legacy = { fleetId: 'f', id: 'wh_1' } as unknown as Parameters<typeof openSigningSecrets>[1];
    expect(() => openSigningSecrets(generateKeyRing(), legacy)).toThrow(MalformedSealedSecretError);
    expect(() => keyVersionsOf(legacy)).toThrow(PermanentError);
  });
});

describe('key rotation', () => {
  it('seals new values under the newest version while old versions stay readable', () => {
    const one = generateKeyRing();
    const sealedUnderOne = sealSigningSecrets(one, 'f', 'wh_1', { current: SECRET });
    const two = addKeyVersion(one);
    expect(two.current).toBe(2);
    const underTwo = sealSigningSecrets(two, 'f', 'wh_1', { current: SECRET, previous: SECRET, previousExpiresAt: '2030-01-01T00:00:00.000Z' });
    expect(keyVersionsOf(underTwo)).toEqual([2, 2]);
    expect(keyVersionsOf(sealedUnderOne)).toEqual([1]);
    expect(openSigningSecrets(two, { fleetId: 'f', id: 'wh_1', ...sealedUnderOne })).toEqual({ current: SECRET });
  });

  it('reads the secret format back: current defaults to the highest version', () => {
    const two = addKeyVersion(generateKeyRing());
    const parsed = parseKeyRing(formatKeyRing(two));
    expect(parsed.current).toBe(2);
    expect([...parsed.keys.keys()]).toEqual([1, 2]);
    expect(parseKeyRing(JSON.stringify({ 1: 'a'.repeat(64), 2: 'b'.repeat(64) })).current).toBe(2);
    expect(parseKeyRing(JSON.stringify({ current: 1, 1: 'a'.repeat(64), 2: 'b'.repeat(64) })).current).toBe(1);
  });

  it.each([
    ['not JSON', 'nope', /not JSON/],
    ['no key', '{"current":"1"}', /holds no key/],
    ['a short key', JSON.stringify({ 1: 'ab' }), /64 hexadecimal/],
    ['a non-hex key', JSON.stringify({ 1: 'z'.repeat(64) }), /64 hexadecimal/],
    ['a bad version name', JSON.stringify({ one: 'a'.repeat(64) }), /not a key version/],
    ['current naming a missing key', JSON.stringify({ current: '3', 1: 'a'.repeat(64) }), /names key version 3/],
  ])('refuses a key ring with %s, without echoing key material', (_what, text, reason) => {
    let caught: unknown;
    try {
      parseKeyRing(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(KeyRingError);
    expect(String(caught)).toMatch(reason);
    expect(String(caught)).not.toMatch(/zzzz|aaaa/);
  });
});
