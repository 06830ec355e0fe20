import { ClientError } from '../core/errors';
import { chosenTokenId, isChosenToken } from '../core/chosen-token';
import { parseApiToken, tokenSecretMatches } from '../core/secrets';
import type { TokenRecord } from '../core/records';

/** What a valid token may touch. */
export interface Principal {
  tokenId: string;
  /** Granted fleet ids; `*` grants every fleet. */
  fleets: readonly string[];
  /** Set for a console portal session: one fleet, its own routes only, perhaps read-only. */
  portal?: { readOnly: boolean };
}

/**
 * A tokens-table item as the authenticator reads it. Portal sessions are token records with an
 * expiry (also the table's TTL attribute: DynamoDB deletes them lazily, so expiry is checked here).
 */
export type StoredToken = TokenRecord & { kind?: 'portal'; readOnly?: boolean; expiresAt?: number };

export interface TokenLookup {
  get(id: string): Promise<TokenRecord | undefined>;
}

export interface AuthenticatorOptions {
  tokens: TokenLookup;
  now?: () => number;
  /** The time portal-session expiries are checked against (the API's injectable clock); default `now`. */
  clock?: () => number;
  /**
   * How long a token record read from the table is reused. This bounds how long a revoked token
   * keeps working on one warm Lambda instance: at most this many milliseconds after `token revoke`.
   */
  cacheTtlMs?: number;
  maxCachedTokens?: number;
}

/** Default revocation bound: a revoked token stops working within 5 seconds. */
export const TOKEN_CACHE_TTL_MS = 5_000;

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

export function grantsFleet(principal: Principal, fleetId: string): boolean {
  return principal.fleets.includes('*') || principal.fleets.includes(fleetId);
}

/**
 * Bearer token check: parse `hlk_<tokenId>_<secret>`, fetch the record by id, compare the secret's
 * hash in constant time. Only records are cached (never a verdict), so every request still proves
 * it holds the secret; unknown ids are not cached, so a just-created token works at once.
 */
export function createAuthenticator(options: AuthenticatorOptions): (authorization: string | undefined) => Promise<Principal> {
  const { tokens, now = Date.now, cacheTtlMs = TOKEN_CACHE_TTL_MS, maxCachedTokens = 1_000 } = options;
  const clock = options.clock ?? now;
  const cache = new Map<string, { record: TokenRecord; fetchedAt: number }>();

  async function lookup(tokenId: string): Promise<TokenRecord | undefined> {
    const cached = cache.get(tokenId);
    if (cached !== undefined && now() - cached.fetchedAt < cacheTtlMs) return cached.record;
    cache.delete(tokenId);
    const record = await tokens.get(tokenId);
    if (record === undefined) return undefined;
    if (cache.size >= maxCachedTokens) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(tokenId, { record, fetchedAt: now() });
    return record;
  }

  return async (authorization) => {
    const match = authorization === undefined ? null : BEARER.exec(authorization);
    if (match === null) throw missingToken();
    const parsed = parseBearer(match[1] as string);
    if (parsed === undefined) throw invalidToken();
    const record = await lookup(parsed.tokenId);
    if (record === undefined || !tokenSecretMatches(parsed.secret, record.secretHash)) throw invalidToken();
    const stored = record as StoredToken;
    if (stored.expiresAt !== undefined && stored.expiresAt * 1000 <= clock()) throw invalidToken();
    if (stored.kind === 'portal') return { tokenId: record.id, fleets: record.fleets, portal: { readOnly: stored.readOnly === true } };
    return { tokenId: record.id, fleets: record.fleets };
  };
}

/**
 * `hlk_<tokenId>_<secret>` as the CLI issues them; otherwise a token a person chose (local mode's
 * HOOKLINE_TOKEN), whose id is derived from it and whose secret is the whole string.
 */
function parseBearer(token: string): { tokenId: string; secret: string } | undefined {
  const issued = parseApiToken(token);
  if (issued !== undefined) return issued;
  return isChosenToken(token) ? { tokenId: chosenTokenId(token), secret: token } : undefined;
}

function missingToken(): ClientError {
  return new ClientError(401, 'unauthorized', 'A bearer token is required.', [
    { field: 'authorization', reason: 'must be "Bearer <token>"' },
  ]);
}

/** One answer for every bad token, so a caller cannot tell an unknown id from a wrong secret. */
function invalidToken(): ClientError {
  return new ClientError(401, 'unauthorized', 'The bearer token is not valid.', [
    { field: 'authorization', reason: 'is not a valid or current Hookline token' },
  ]);
}
