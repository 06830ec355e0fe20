import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { MalformedSecretError, PermanentError } from '../../../lambdas/core/errors';
import { newTokenId } from '../../../lambdas/core/ids';
import {
  activeSigningSecrets,
  formatApiToken,
  generateApiTokenSecret,
  generateSigningSecret,
  hashTokenSecret,
  parseApiToken,
  rotateSecretValue,
  signingKeyBytes,
  tokenSecretMatches,
} from '../../../lambdas/core/secrets';

describe('signing secrets', () => {
  it('are whsec_ + padded standard base64 of 32 fresh random bytes', () => {
    const secrets = Array.from({ length: 50 }, generateSigningSecret);
    for (const secret of secrets) {
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(signingKeyBytes(secret)).toHaveLength(32);
    }
    expect(new Set(secrets).size).toBe(secrets.length);
  });

  it('decode to the same key bytes as the standardwebhooks package', () => {
    const secret = generateSigningSecret();
    const key = signingKeyBytes(secret);
    expect(key.equals(Buffer.from(secret.slice(6), 'base64'))).toBe(true);
    // The package signs with its own decoding; equal signatures mean equal keys.
    const at = new Date(1_700_000_000_000);
    const theirs = new Webhook(secret).sign('m', at, 'b');
    const ours = new Webhook(new Uint8Array(key), { format: 'raw' }).sign('m', at, 'b');
    expect(ours).toBe(theirs);
  });

  it.each([
    ['no prefix', 'c2VjcmV0c2VjcmV0c2VjcmV0'],
    ['wrong prefix', 'whsek_c2VjcmV0c2VjcmV0c2VjcmV0'],
    ['empty body', 'whsec_'],
    ['not base64', 'whsec_not base64!'],
    ['base64url alphabet', 'whsec_ab-_'],
    ['missing padding', 'whsec_YWI'],
    ['misplaced padding', 'whsec_YW=I'],
    ['trailing newline', 'whsec_YWJj\n'],
  ])('refuse %s with a MalformedSecretError that does not echo the secret', (_label, secret) => {
    let caught: unknown;
    try {
      signingKeyBytes(secret);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MalformedSecretError);
    expect(caught).toBeInstanceOf(PermanentError);
    const message = (caught as Error).message;
    if (secret.length > 6) expect(message).not.toContain(secret.slice(6));
  });
});

describe('rotation', () => {
  const now = new Date('2025-05-01T12:00:00.000Z');

  it('keeps the previous secret signing for the grace period, then drops it', () => {
    const rotated = rotateSecretValue({ current: 'whsec_old' }, 'whsec_new', now, 24);
    expect(rotated).toEqual({ current: 'whsec_new', previous: 'whsec_old', previousExpiresAt: '2025-05-02T12:00:00.000Z' });
    expect(activeSigningSecrets(rotated, now)).toEqual(['whsec_new', 'whsec_old']);
    expect(activeSigningSecrets(rotated, new Date('2025-05-02T11:59:59.999Z'))).toEqual(['whsec_new', 'whsec_old']);
    expect(activeSigningSecrets(rotated, new Date('2025-05-02T12:00:00.000Z'))).toEqual(['whsec_new']);
  });

  it('supports fractional grace hours', () => {
    const rotated = rotateSecretValue({ current: 'a' }, 'b', now, 0.5);
    expect(rotated.previousExpiresAt).toBe('2025-05-01T12:30:00.000Z');
  });

  it.each([0, -1, Number.NaN])('with grace %s keeps no previous secret', (grace) => {
    expect(rotateSecretValue({ current: 'a', previous: 'z', previousExpiresAt: '2999-01-01T00:00:00Z' }, 'b', now, grace)).toEqual({
      current: 'b',
    });
  });

  it('replaces an older previous secret when rotating again inside the grace period', () => {
    const once = rotateSecretValue({ current: 'a' }, 'b', now, 24);
    const twice = rotateSecretValue(once, 'c', new Date(now.getTime() + 60_000), 24);
    expect(activeSigningSecrets(twice, now)).toEqual(['c', 'b']);
  });

  it('signs with the current secret only when the previous one lacks a valid expiry', () => {
    expect(activeSigningSecrets({ current: 'a' }, now)).toEqual(['a']);
    expect(activeSigningSecrets({ current: 'a', previous: 'b' }, now)).toEqual(['a']);
    expect(activeSigningSecrets({ current: 'a', previous: 'b', previousExpiresAt: 'soon' }, now)).toEqual(['a']);
  });
});

describe('API tokens', () => {
  it('have 43-char base64url secrets of fresh randomness', () => {
    const secrets = Array.from({ length: 50 }, generateApiTokenSecret);
    for (const secret of secrets) {
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    }
    expect(new Set(secrets).size).toBe(secrets.length);
  });

  it('are stored as hex SHA-256 of the secret', () => {
    expect(hashTokenSecret('abc')).toBe(createHash('sha256').update('abc').digest('hex'));
    expect(hashTokenSecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('match only their own hash', () => {
    const secret = generateApiTokenSecret();
    const hash = hashTokenSecret(secret);
    expect(tokenSecretMatches(secret, hash)).toBe(true);
    expect(tokenSecretMatches(secret, hash.toUpperCase())).toBe(true);
    expect(tokenSecretMatches(`${secret}x`, hash)).toBe(false);
    expect(tokenSecretMatches(secret, hashTokenSecret(generateApiTokenSecret()))).toBe(false);
    expect(tokenSecretMatches(secret, hash.slice(0, 63))).toBe(false);
    expect(tokenSecretMatches(secret, '')).toBe(false);
    expect(tokenSecretMatches(secret, `${hash}00`)).toBe(false);
  });

  it('round-trip through format and parse, even with _ in the secret', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{20,256}$/), fc.integer({ min: 0, max: 2 ** 47 }), (secret, time) => {
        const tokenId = newTokenId(time);
        const token = formatApiToken(tokenId, secret);
        expect(token).toBe(`hlk_${tokenId}_${secret}`);
        expect(parseApiToken(token)).toEqual({ tokenId, secret });
      }),
    );
    const secret = generateApiTokenSecret();
    expect(parseApiToken(formatApiToken('tok_01JNKV3Y0RZ8W5T2P4M6Q9B7CD', secret))).toEqual({
      tokenId: 'tok_01JNKV3Y0RZ8W5T2P4M6Q9B7CD',
      secret,
    });
  });

  const id = 'tok_01JNKV3Y0RZ8W5T2P4M6Q9B7CD';
  const secret = 'A'.repeat(43);
  it.each([
    ['empty', ''],
    ['no hlk_ prefix', `${id}_${secret}`],
    ['Bearer prefix kept', `Bearer hlk_${id}_${secret}`],
    ['wrong id prefix', `hlk_wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CD_${secret}`],
    ['lower-case ULID', `hlk_${id.toLowerCase()}_${secret}`],
    ['short ULID', `hlk_tok_01JNKV3Y0RZ8W5T2P4M6Q9B7C_${secret}`],
    ['no secret', `hlk_${id}_`],
    ['too short a secret', `hlk_${id}_${'A'.repeat(19)}`],
    ['too long a secret', `hlk_${id}_${'A'.repeat(257)}`],
    ['standard base64 chars', `hlk_${id}_${'A'.repeat(42)}+`],
    ['padding', `hlk_${id}_${'A'.repeat(42)}=`],
    ['whitespace', `hlk_${id}_${secret} `],
  ])('parse refuses %s', (_label, token) => {
    expect(parseApiToken(token)).toBeUndefined();
  });
});
