import { newTokenId } from '../lambdas/core/ids';
import type { TokenRecord } from '../lambdas/core/records';
import { formatApiToken, generateApiTokenSecret, hashTokenSecret } from '../lambdas/core/secrets';
import type { Page } from '../lambdas/shared/cursor';

/** The TokensStore calls the CLI makes (the class satisfies it; tests pass a fake). */
export interface TokenStorePort {
  create(record: TokenRecord): Promise<void>;
  list(options: { limit: number; cursor?: string }): Promise<Page<Omit<TokenRecord, 'secretHash'>>>;
  delete(id: string): Promise<boolean>;
}

export interface CreatedToken {
  /** Shown once; only its hash is stored. */
  token: string;
  record: Omit<TokenRecord, 'secretHash'>;
}

export async function createToken(
  store: TokenStorePort,
  input: { fleets: string[]; name?: string },
  now: Date = new Date(),
): Promise<CreatedToken> {
  const id = newTokenId(now.getTime());
  const secret = generateApiTokenSecret();
  const record: TokenRecord = {
    id,
    secretHash: hashTokenSecret(secret),
    fleets: input.fleets,
    ...(input.name === undefined ? {} : { name: input.name }),
    createdAt: now.toISOString(),
  };
  await store.create(record);
  const { secretHash: _hash, ...shown } = record;
  return { token: formatApiToken(id, secret), record: shown };
}

/** Every token, following the table's pages; oldest first. */
export async function listTokens(store: TokenStorePort): Promise<Omit<TokenRecord, 'secretHash'>[]> {
  const tokens: Omit<TokenRecord, 'secretHash'>[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list({ limit: 100, ...(cursor === undefined ? {} : { cursor }) });
    tokens.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return tokens.sort((a, b) => a.id.localeCompare(b.id));
}

export function revokeToken(store: TokenStorePort, id: string): Promise<boolean> {
  return store.delete(id);
}
