import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHOSEN_TOKEN_RULE, chosenTokenId, isChosenToken } from '../lambdas/core/chosen-token';
import { newTokenId } from '../lambdas/core/ids';
import type { TokenRecord } from '../lambdas/core/records';
import { formatApiToken, generateApiTokenSecret, hashTokenSecret, parseApiToken } from '../lambdas/core/secrets';
import type { TokensStore } from '../lambdas/shared/tokens-store';

/** Name carried by local mode's development token, so a later start can retire the previous one. */
export const DEV_TOKEN_NAME = 'local dev token';

/** Where a generated token is kept so a restart prints (and accepts) the same one. */
export const GENERATED_TOKEN_FILE = 'dev-token';

export interface DevToken {
  token: string;
  source: 'HOOKLINE_TOKEN' | 'generated' | 'kept';
}

/**
 * The token local mode serves. HOOKLINE_TOKEN may be any string of 16–256 visible ASCII characters
 * (or a token issued by the CLI): the API authenticates it like any other, by the hash stored for
 * it, with no local-only bypass. Unset, a token is generated once per data dir and reused on restarts.
 */
export function chooseDevToken(envToken: string | undefined, dataDir: string): DevToken {
  if (envToken !== undefined && envToken.trim() !== '') {
    const token = envToken.trim();
    if (parseApiToken(token) === undefined && !isChosenToken(token)) {
      throw new Error(`HOOKLINE_TOKEN must be ${CHOSEN_TOKEN_RULE}; unset it to get one generated`);
    }
    return { token, source: 'HOOKLINE_TOKEN' };
  }
  const file = join(dataDir, GENERATED_TOKEN_FILE);
  if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim();
    if (parseApiToken(kept) !== undefined) return { token: kept, source: 'kept' };
  }
  const token = formatApiToken(newTokenId(), generateApiTokenSecret());
  // Owner-only: the file holds a live credential for every fleet of this local instance.
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, source: 'generated' };
}

/**
 * Stores the token's hash with access to every fleet and revokes the dev token of an earlier start
 * (tokens created with the CLI are left alone).
 */
export async function registerDevToken(tokens: TokensStore, token: string, now: Date = new Date()): Promise<void> {
  const parsed = parseApiToken(token) ?? (isChosenToken(token) ? { tokenId: chosenTokenId(token), secret: token } : undefined);
  if (parsed === undefined) throw new Error('Development token is malformed');
  const record: TokenRecord = {
    id: parsed.tokenId,
    secretHash: hashTokenSecret(parsed.secret),
    fleets: ['*'],
    name: DEV_TOKEN_NAME,
    createdAt: now.toISOString(),
  };
  const existing = await tokens.get(record.id);
  const current =
    existing !== undefined &&
    existing.secretHash === record.secretHash &&
    existing.fleets.length === 1 &&
    existing.fleets[0] === '*';
  if (!current) {
    if (existing !== undefined) await tokens.delete(record.id);
    await tokens.create(record);
  }

  let cursor: string | undefined;
  do {
    const page = await tokens.list({ limit: 100, cursor });
    for (const item of page.items) {
      if (item.name === DEV_TOKEN_NAME && item.id !== record.id) await tokens.delete(item.id);
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined);
}
