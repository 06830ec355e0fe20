import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../../lambdas/core/errors';
import {
  addKeyVersion,
  formatKeyRing,
  generateKeyRing,
  KeyRingError,
  MalformedSealedSecretError,
  openSecret,
  openSigningSecrets,
  parseKeyRing,
  SealedSecretAuthenticationError,
  sealedKeyVersion,
  sealSecret,
  sealSigningSecrets,
  UnknownKeyVersionError,
  type SealContext,
} from '../../../lambdas/core/sealed-secrets';

const SECRET = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
const context: SealContext = { fleetId: 'fleet-a', subscriptionId: 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CD', slot: { kind: 'current' } };

/** Flips one bit of the base64url part `index` (2 iv, 3 ciphertext, 4 tag). */
function tamper(sealed: string, index: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[index]!, 'base64url');
  bytes[0] = bytes[0]! ^ 1;
  parts[index] = bytes.toString('base64url');
  return parts.join('.');
}

describe('sealSecret / openSecret', () => {
  it('round-trips in the compact v1.<version>.<iv>.<ct>.<tag> form, with a fresh IV each time', () => {
    const ring = generateKeyRing();
    const sealed = sealSecret(ring, context, SECRET);
    expect(sealed).toMatch(/^v1\.1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(sealed).not.toContain(SECRET.slice(6, 20));
    expect(openSecret(ring, context, sealed)).toBe(SECRET);
    expect(sealSecret(ring, context, SECRET)).not.toBe(sealed);
  });

  it.each([
    ['the IV', 2],
    ['the ciphertext', 3],
    ['the tag', 4],
  ])('refuses a value whose %s was altered, as a PermanentError', (_what, index) => {
    const ring = generateKeyRing();
    const altered = tamper(sealSecret(ring, context, SECRET), index);
    expect(() => openSecret(ring, context, altered)).toThrow(SealedSecretAuthenticationError);
    expect(() => openSecret(ring, context, altered)).toThrow(PermanentError);
    expect(() => openSecret(ring, context, altered)).toThrow(/does not authenticate: it was altered, or sealed for another fleet/);
  });

  it.each([
    ['another fleet', { ...context, fleetId: 'fleet-b' }],
    ['another subscription', { ...context, subscriptionId: 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CE' }],
    ['the previous slot', { ...context, slot: { kind: 'previous', expiresAt: '2030-01-01T00:00:00.000Z' } }],
  ] as [string, SealContext][])('refuses a value opened for %s', (_what, other) => {
    const ring = generateKeyRing();
    expect(() => openSecret(ring, other, sealSecret(ring, context, SECRET))).toThrow(SealedSecretAuthenticationError);
  });

  it('binds the grace-period end of a previous secret: extending it breaks the value', () => {
    const ring = generateKeyRing();
    const sealed = sealSigningSecrets(ring, 'f', 'wh_1', { current: SECRET, previous: SECRET.replace('A', 'B'), previousExpiresAt: '2030-01-01T00:00:00.000Z' });
    const extended = { fleetId: 'f', id: 'wh_1', ...sealed, previousSecretExpiresAt: '2031-01-01T00:00:00.000Z' };
    expect(() => openSigningSecrets(ring, extended)).toThrow(SealedSecretAuthenticationError);
    expect(openSigningSecrets(ring, { fleetId: 'f', id: 'wh_1', ...sealed })).toMatchObject({ previousExpiresAt: '2030-01-01T00:00:00.000Z' });
  });

  it('refuses a key version the ring does not hold, and one rewritten to another version', () => {
    const ring = generateKeyRing();
    const next = addKeyVersion(ring);
    const underTwo = sealSecret(next, context, SECRET);
    expect(sealedKeyVersion(underTwo)).toBe(2);
    expect(() => openSecret(ring, context, underTwo)).toThrow(UnknownKeyVersionError);
    expect(() => openSecret(ring, context, underTwo)).toThrow(/key version 2, which the signing key secret does not hold/);
    // Claiming version 1 for a value sealed under 2: the key differs and the version is in the associated data.
    expect(() => openSecret(next, context, underTwo.replace(/^v1\.2\./, 'v1.1.'))).toThrow(SealedSecretAuthenticationError);
  });

  it.each(['', 'v2.1.a.b.c', 'v1.0.aaaaaaaaaaaaaaaa.b.cccccccccccccccccccccc', 'v1.1.short.b.cccccccccccccccccccccc', 'v1.1.a+b.c.d', 'v1.x.a.b.c'])(
    'refuses the malformed value %j',
    (value) => {
      expect(() => openSecret(generateKeyRing(), context, value)).toThrow(MalformedSealedSecretError);
    },
  );
});

describe('key rotation', () => {
  it('seals new values under the newest version while old versions stay readable', () => {
    const one = generateKeyRing();
    const sealedUnderOne = sealSecret(one, context, SECRET);
    const two = addKeyVersion(one);
    expect(two.current).toBe(2);
    expect(sealedKeyVersion(sealSecret(two, context, SECRET))).toBe(2);
    expect(openSecret(two, context, sealedUnderOne)).toBe(SECRET);
  });

  it('reads the secret format back: current defaults to the highest version', () => {
    const two = addKeyVersion(generateKeyRing());
    const parsed = parseKeyRing(formatKeyRing(two));
    expect(parsed.current).toBe(2);
    expect([...parsed.keys.keys()]).toEqual([1, 2]);
    const text = JSON.stringify({ 1: 'a'.repeat(64), 2: 'b'.repeat(64) });
    expect(parseKeyRing(text).current).toBe(2);
    expect(parseKeyRing(JSON.stringify({ current: 1, 1: 'a'.repeat(64), 2: 'b'.repeat(64) })).current).toBe(1);
  });

  it.each([
    ['not JSON', 'nope', /not JSON/],
    ['no key', '{"current":"1"}', /holds no key/],
    ['a short key', JSON.stringify({ 1: 'ab' }), /64 hexadecimal/],
    ['a bad version name', JSON.stringify({ one: 'a'.repeat(64) }), /not a key version/],
    ['current naming a missing key', JSON.stringify({ current: '3', 1: 'a'.repeat(64) }), /names key version 3/],
  ])('refuses a key ring with %s, without echoing key material', (_what, text, reason) => {
    expect(() => parseKeyRing(text)).toThrow(KeyRingError);
    expect(() => parseKeyRing(text)).toThrow(reason);
    try {
      parseKeyRing(JSON.stringify({ 1: 'z'.repeat(64) }));
    } catch (error) {
      expect(String(error)).not.toContain('zzzz');
    }
  });
});
