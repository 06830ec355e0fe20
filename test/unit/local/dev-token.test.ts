import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TokenRecord } from '../../../lambdas/core/records';
import { chosenTokenId } from '../../../lambdas/core/chosen-token';
import { hashTokenSecret, parseApiToken, tokenSecretMatches } from '../../../lambdas/core/secrets';
import type { TokensStore } from '../../../lambdas/shared/tokens-store';
import { chooseDevToken, DEV_TOKEN_NAME, GENERATED_TOKEN_FILE, registerDevToken } from '../../../local/dev-token';

const HAND_MADE = 'hlk_tok_01J0Z8K7Q3N5X2B4C6D8E0F1G2_local-development-token';

/** The slice of TokensStore registerDevToken uses, over a Map; pages of one item exercise the cursor loop. */
function memoryTokens(): { store: TokensStore; items: Map<string, TokenRecord> } {
  const items = new Map<string, TokenRecord>();
  const store = {
    get: async (id: string) => items.get(id),
    create: async (record: TokenRecord) => {
      if (items.has(record.id)) throw new Error('ConditionalCheckFailedException');
      items.set(record.id, record);
    },
    delete: async (id: string) => items.delete(id),
    list: async ({ cursor }: { limit: number; cursor?: string }) => {
      const all = [...items.values()].sort((a, b) => a.id.localeCompare(b.id));
      const index = cursor === undefined ? 0 : Number(cursor);
      const item = all[index];
      return { items: item ? [item] : [], nextCursor: index + 1 < all.length ? String(index + 1) : undefined };
    },
  } as unknown as TokensStore;
  return { store, items };
}

describe('local dev token', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'hookline-devtoken-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('uses HOOKLINE_TOKEN when it is 16-256 visible ASCII characters (or an issued token), and refuses anything else', () => {
    expect(chooseDevToken(` ${HAND_MADE} `, dataDir)).toEqual({ token: HAND_MADE, source: 'HOOKLINE_TOKEN' });
    expect(chooseDevToken('my-own-dev-token-123', dataDir)).toEqual({ token: 'my-own-dev-token-123', source: 'HOOKLINE_TOKEN' });
    expect(() => chooseDevToken('dev', dataDir)).toThrow(/HOOKLINE_TOKEN must be 16 to 256 visible ASCII characters/);
    expect(() => chooseDevToken('with spaces inside it', dataDir)).toThrow(/no spaces/);
  });

  it('registers a chosen token under its derived id with only its hash stored', async () => {
    const { store, items } = memoryTokens();
    await registerDevToken(store, 'my-own-dev-token-123');
    const [record] = [...items.values()];
    expect(record).toMatchObject({ id: chosenTokenId('my-own-dev-token-123'), fleets: ['*'], name: DEV_TOKEN_NAME });
    expect(record!.secretHash).toBe(hashTokenSecret('my-own-dev-token-123'));
    expect(JSON.stringify(record)).not.toContain('my-own-dev-token-123');
  });

  it('generates a token once per data dir, owner-readable only, and keeps it for the next start', () => {
    const first = chooseDevToken(undefined, dataDir);
    expect(first.source).toBe('generated');
    expect(parseApiToken(first.token)).toBeDefined();
    const file = join(dataDir, GENERATED_TOKEN_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(chooseDevToken('', dataDir)).toEqual({ token: first.token, source: 'kept' });
    writeFileSync(file, 'garbage');
    const replaced = chooseDevToken(undefined, dataDir);
    expect(replaced.source).toBe('generated');
    expect(readFileSync(file, 'utf8').trim()).toBe(replaced.token);
  });

  it('stores only the hash with every fleet, and retires the dev token of an earlier start but not CLI tokens', async () => {
    const { store, items } = memoryTokens();
    const cliToken: TokenRecord = { id: 'tok_00000000000000000000000001', secretHash: 'x', fleets: ['a'], name: 'ci', createdAt: '' };
    items.set(cliToken.id, cliToken);
    const earlier = chooseDevToken(undefined, dataDir).token;
    await registerDevToken(store, earlier);

    await registerDevToken(store, HAND_MADE);
    const parsed = parseApiToken(HAND_MADE)!;
    const record = items.get(parsed.tokenId)!;
    expect(record).toMatchObject({ fleets: ['*'], name: DEV_TOKEN_NAME, secretHash: hashTokenSecret(parsed.secret) });
    expect(JSON.stringify(record)).not.toContain(parsed.secret);
    expect(tokenSecretMatches(parsed.secret, record.secretHash)).toBe(true);
    expect([...items.keys()].sort()).toEqual([cliToken.id, parsed.tokenId].sort());

    // Same id, new secret (HOOKLINE_TOKEN changed): the record is replaced, not left with the old hash.
    const changed = `hlk_${parsed.tokenId}_another-local-development-token`;
    await registerDevToken(store, changed);
    expect(tokenSecretMatches('another-local-development-token', items.get(parsed.tokenId)!.secretHash)).toBe(true);
  });
});
