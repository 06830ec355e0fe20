import { describe, expect, it } from 'vitest';
import type { TokenRecord } from '../../../lambdas/core/records';
import { isConditionalCheckFailure } from '../../../lambdas/shared/dynamo-errors';
import type { TokensStorePort } from '../../../lambdas/shared/tokens-store';

/**
 * The tokens store's contract, run against the DynamoDB store on dynalite
 * (test/integration/tokens-store.conformance.test.ts) and the in-memory one
 * (test/unit/shared/tokens-store.conformance.test.ts). `open` gives an empty store.
 */
export function describeTokensStoreConformance(label: string, open: () => Promise<TokensStorePort>): void {
  const token = (id: string, overrides: Partial<TokenRecord> = {}): TokenRecord => ({
    id,
    secretHash: 'a'.repeat(64),
    fleets: ['fleet_a'],
    createdAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  });

  describe(`tokens store conformance: ${label}`, () => {
    it('creates, reads back and deletes a token; a second delete reports nothing deleted', async () => {
      const store = await open();
      const record = token('tok_1', { name: 'ci', fleets: ['*'] });
      await store.create(record);
      expect(await store.get('tok_1')).toEqual(record);
      expect(await store.delete('tok_1')).toBe(true);
      expect(await store.get('tok_1')).toBeUndefined();
      expect(await store.delete('tok_1')).toBe(false);
    });

    it('refuses to create over an existing id, as a conditional-check failure, and keeps the first', async () => {
      const store = await open();
      await store.create(token('tok_dup', { fleets: ['first'] }));
      const error = await store.create(token('tok_dup', { fleets: ['second'] })).catch((caught: unknown) => caught);
      expect(isConditionalCheckFailure(error)).toBe(true);
      expect((await store.get('tok_dup'))?.fleets).toEqual(['first']);
    });

    it('lists every token exactly once across pages, never with its secret hash', async () => {
      const store = await open();
      const ids = Array.from({ length: 7 }, (_, index) => `tok_${index}`);
      for (const id of ids) await store.create(token(id));
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 10; page += 1) {
        const result = await store.list({ limit: 3, ...(cursor === undefined ? {} : { cursor }) });
        for (const item of result.items) expect(item).not.toHaveProperty('secretHash');
        seen.push(...result.items.map((item) => item.id));
        cursor = result.nextCursor;
        if (cursor === undefined) break;
      }
      expect(cursor).toBeUndefined();
      expect(seen.sort()).toEqual(ids);
    });
  });
}
