import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuthenticator, TOKEN_CACHE_TTL_MS } from '../../../lambdas/api/auth';
import { isClientError } from '../../../lambdas/core/errors';
import { chosenTokenId, isChosenToken } from '../../../lambdas/core/chosen-token';
import { formatApiToken, hashTokenSecret } from '../../../lambdas/core/secrets';
import { createHarness, FLEET, makeToken, OTHER_FLEET, subscription, TABLES, type Harness } from './harness';

let h: Harness;
beforeEach(() => {
  h = createHarness();
});
afterEach(() => h.restore());

describe('bearer tokens', () => {
  it.each([
    ['no header', undefined],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['a bare token', 'hlk_x'],
    ['a token that is not hlk_', 'Bearer sk_live_123'],
  ])('401 with WWW-Authenticate for %s', async (_, authorization) => {
    const event = await h.api(
      {
        httpMethod: 'GET',
        path: `/fleets/${FLEET}/webhooks`,
        headers: authorization === undefined ? {} : { authorization },
        body: null,
        requestContext: { requestId: 'r' },
      } as never,
    );
    expect(event.statusCode).toBe(401);
    expect(event.headers?.['www-authenticate']).toBe('Bearer realm="hookline"');
    const body = JSON.parse(event.body);
    expect(body.error.code).toBe('unauthorized');
    expect(body.error.details).toEqual([{ field: 'authorization', reason: expect.any(String) }]);
  });

  it('401 for a wrong secret and for an unknown token id, with the same body', async () => {
    const [, tokenId] = /^hlk_(tok_[^_]+)_/.exec(h.token)!;
    const wrongSecret = await h.call('GET', `/fleets/${FLEET}/webhooks`, { token: formatApiToken(tokenId!, 'A'.repeat(43)) });
    h.ddb.on(GetCommand, { TableName: TABLES.tokens }).resolves({});
    const unknown = await h.call('GET', `/fleets/${FLEET}/webhooks`, { token: makeToken([FLEET]).token });
    expect(wrongSecret.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(unknown.raw).toBe(wrongSecret.raw);
  });

  it('accepts a token a person chose (any 16-256 visible ASCII), found by its derived id and checked by hash', async () => {
    const chosen = 'my local dev token!'.replaceAll(' ', '-');
    const record = { id: chosenTokenId(chosen), secretHash: hashTokenSecret(chosen), fleets: ['*'], createdAt: '2026-01-01T00:00:00.000Z' };
    h.ddb.on(GetCommand, { TableName: TABLES.tokens }).resolves({});
    h.ddb.on(GetCommand, { TableName: TABLES.tokens, Key: { id: record.id } }).resolves({ Item: record });
    h.ddb.on(QueryCommand, { TableName: TABLES.subscriptions }).resolves({ Items: [] });
    const accepted = await h.call('GET', `/fleets/${FLEET}/webhooks`, { token: chosen });
    expect(accepted.status, accepted.raw).toBe(200);
    const wrong = await h.call('GET', `/fleets/${FLEET}/webhooks`, { token: `${chosen}x` });
    expect(wrong.status).toBe(401);
    expect(chosenTokenId(chosen)).toMatch(/^tok_[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
    expect(chosenTokenId(chosen)).not.toBe(chosenTokenId(`${chosen}x`));
    expect(isChosenToken('short')).toBe(false);
    expect(isChosenToken('has a space in it!')).toBe(false);
    expect(isChosenToken('x'.repeat(257))).toBe(false);
  });

  it('accepts the scheme case-insensitively', async () => {
    h.ddb.on(GetCommand, { TableName: TABLES.subscriptions }).resolves({});
    const result = await h.api({
      httpMethod: 'GET',
      path: `/fleets/${FLEET}/webhooks/wh_01HZZZZZZZZZZZZZZZZZZZZZZZ`,
      headers: { AUTHORIZATION: `bearer ${h.token}` },
      body: null,
      requestContext: { requestId: 'r' },
    } as never);
    expect(result.statusCode).toBe(404);
  });

  it('never logs the token', async () => {
    await h.call('GET', `/fleets/${FLEET}/webhooks`, { token: 'hlk_tok_01HZZZZZZZZZZZZZZZZZZZZZZZ_secretsecretsecretsecret' });
    await h.call('GET', `/fleets/${FLEET}/webhooks`);
    const logged = JSON.stringify(h.logs);
    expect(logged).not.toContain('secretsecret');
    expect(logged).not.toContain(h.token.slice(-20));
  });
});

describe('fleet grants', () => {
  it('404 (never 403) for a fleet the token does not grant, identical to a missing webhook', async () => {
    const record = subscription({ fleetId: OTHER_FLEET });
    h.ddb.on(GetCommand, { TableName: TABLES.subscriptions }).resolves({});
    h.ddb.on(GetCommand, { TableName: TABLES.subscriptions, Key: { fleetId: OTHER_FLEET, id: record.id } }).resolves({ Item: record });
    const ungranted = await h.call('GET', `/fleets/${OTHER_FLEET}/webhooks/${record.id}`);
    const missing = await h.call('GET', `/fleets/${FLEET}/webhooks/${record.id}`);
    expect(ungranted.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(ungranted.raw).toBe(missing.raw);
    // The ungranted fleet was never read.
    const reads = h.ddb.commandCalls(GetCommand).filter((c) => c.args[0].input.TableName === TABLES.subscriptions);
    expect(reads.map((c) => (c.args[0].input.Key as { fleetId: string }).fleetId)).toEqual([FLEET]);
  });

  it('a * token reaches every fleet', async () => {
    const all = createHarness({ fleets: ['*'] });
    try {
      all.ddb.on(GetCommand, { TableName: TABLES.subscriptions }).resolves({});
      expect((await all.call('GET', `/fleets/${OTHER_FLEET}/webhooks/wh_01HZZZZZZZZZZZZZZZZZZZZZZZ`)).status).toBe(404);
      const reads = all.ddb.commandCalls(GetCommand).filter((c) => c.args[0].input.TableName === TABLES.subscriptions);
      expect(reads).toHaveLength(1);
    } finally {
      all.restore();
    }
  });

  it('refuses a malformed fleet id naming fleetId', async () => {
    const response = await h.call('GET', `/fleets/${encodeURIComponent('bad fleet!')}/webhooks`);
    expect(response.status).toBe(400);
    expect(response.body.error.details).toEqual([{ field: 'fleetId', reason: expect.any(String) }]);
  });
});

describe('createAuthenticator cache', () => {
  it('reuses a record for at most the TTL, so a revoked token stops working right after', async () => {
    const { token, record } = makeToken(['*']);
    let stored: typeof record | undefined = record;
    let reads = 0;
    let clock = 1_000_000;
    const authenticate = createAuthenticator({
      tokens: { get: async () => ((reads += 1), stored) },
      now: () => clock,
    });
    await expect(authenticate(`Bearer ${token}`)).resolves.toEqual({ tokenId: record.id, fleets: ['*'] });
    await authenticate(`Bearer ${token}`);
    expect(reads).toBe(1);

    stored = undefined; // revoked
    clock += TOKEN_CACHE_TTL_MS - 1;
    await expect(authenticate(`Bearer ${token}`)).resolves.toBeDefined();
    clock += 1;
    const revoked = await authenticate(`Bearer ${token}`).catch((error: unknown) => error);
    expect(isClientError(revoked) && revoked.statusCode).toBe(401);
    expect(reads).toBe(2);
  });

  it('checks the secret on every request even when the record is cached', async () => {
    const { token, record } = makeToken(['*']);
    const authenticate = createAuthenticator({ tokens: { get: async () => record } });
    await authenticate(`Bearer ${token}`);
    const forged = `${token.slice(0, -4)}AAAA`;
    const result = await authenticate(`Bearer ${forged}`).catch((error: unknown) => error);
    expect(isClientError(result) && result.statusCode).toBe(401);
  });
});
