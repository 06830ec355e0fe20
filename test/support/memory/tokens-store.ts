import type { TokenRecord } from '../../../lambdas/core/records';
import { encodeCursor, startKeyFromCursor, type Page } from '../../../lambdas/shared/cursor';
import type { TokensStorePort } from '../../../lambdas/shared/tokens-store';

/** The tokens store in memory, held to the DynamoDB store's contract (test/support/conformance/tokens-store.ts). */
export class MemoryTokensStore implements TokensStorePort {
  private readonly tokens = new Map<string, TokenRecord>();

  async create(record: TokenRecord): Promise<void> {
    if (this.tokens.has(record.id)) {
      throw Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });
    }
    this.tokens.set(record.id, structuredClone(record));
  }

  async get(id: string): Promise<TokenRecord | undefined> {
    const record = this.tokens.get(id);
    return record === undefined ? undefined : structuredClone(record);
  }

  async list(options: { limit: number; cursor?: string }): Promise<Page<Omit<TokenRecord, 'secretHash'>>> {
    const start = startKeyFromCursor(options.cursor, ['id']);
    const ids = [...this.tokens.keys()].sort().filter((id) => start === undefined || id > (start.id as string));
    const items = ids.slice(0, options.limit).map((id) => {
      const { secretHash: _hidden, ...rest } = this.tokens.get(id) as TokenRecord;
      return structuredClone(rest);
    });
    const last = items.at(-1);
    // Like a DynamoDB Scan with Limit: a full page carries a cursor, even when it is the last.
    return { items, nextCursor: items.length === options.limit && last !== undefined ? encodeCursor({ id: last.id }) : undefined };
  }

  async delete(id: string): Promise<boolean> {
    return this.tokens.delete(id);
  }
}
