import { createHmac } from 'node:crypto';
import * as crypto from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createAuthenticator } from '../../lambdas/api/auth';
import { newTokenId } from '../../lambdas/core/ids';
import { generateApiTokenSecret, generateSigningSecret, hashTokenSecret, tokenSecretMatches } from '../../lambdas/core/secrets';
import { verifyDelivery } from '../../local/receiver';

/**
 * Wherever Hookline compares a secret-derived value it must use a constant-time comparison. The
 * comparison primitive is wrapped in a spy, so each check below fails if a path compares with
 * `===` (or returns early) instead of going through crypto.timingSafeEqual with equal lengths.
 */
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const timingSafeEqual = vi.mocked(crypto.timingSafeEqual);

beforeEach(() => {
  timingSafeEqual.mockClear();
});

function comparedEqualLengths(): boolean {
  return timingSafeEqual.mock.calls.length > 0 && timingSafeEqual.mock.calls.every(([a, b]) => a.byteLength === b.byteLength);
}

describe('constant-time comparisons', () => {
  it('API token secrets: the stored hash is compared with timingSafeEqual, match or not', () => {
    const secret = generateApiTokenSecret();
    const hash = hashTokenSecret(secret);
    expect(tokenSecretMatches(secret, hash)).toBe(true);
    expect(comparedEqualLengths()).toBe(true);
    timingSafeEqual.mockClear();
    expect(tokenSecretMatches(`${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`, hash)).toBe(false);
    expect(comparedEqualLengths()).toBe(true);
  });

  it('the API authenticator goes through the same comparison for a wrong secret of a real token id', async () => {
    const id = newTokenId();
    const secret = generateApiTokenSecret();
    const authenticate = createAuthenticator({
      tokens: { get: async (tokenId) => (tokenId === id ? { id, secretHash: hashTokenSecret(secret), fleets: ['*'], createdAt: '' } : undefined) },
    });
    await expect(authenticate(`Bearer hlk_${id}_${generateApiTokenSecret()}`)).rejects.toMatchObject({ statusCode: 401 });
    expect(comparedEqualLengths()).toBe(true);
    timingSafeEqual.mockClear();
    await expect(authenticate(`Bearer hlk_${id}_${secret}`)).resolves.toMatchObject({ tokenId: id });
    expect(comparedEqualLengths()).toBe(true);
  });

  it('verify() (used by the example receiver) checks the hex X-Webhook-Signature scheme with timingSafeEqual', () => {
    const secret = generateSigningSecret();
    const body = JSON.stringify({ id: 'dlv_x', type: 'thread.completed' });
    const timestamp = Math.floor(Date.now() / 1000);
    const good = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
    const headers = { 'x-webhook-timestamp': String(timestamp), 'x-webhook-signature': good };
    expect(verifyDelivery([secret], headers, body, 'X-Webhook')).toMatchObject({ ok: true, scheme: 'hex' });
    expect(comparedEqualLengths()).toBe(true);
    timingSafeEqual.mockClear();
    const forged = `${good.slice(0, -1)}${good.endsWith('0') ? '1' : '0'}`;
    expect(verifyDelivery([secret], { ...headers, 'x-webhook-signature': forged }, body, 'X-Webhook').ok).toBe(false);
    expect(comparedEqualLengths()).toBe(true);
  });
});
