import { DeleteCommand, GetCommand, PutCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TokenRecord } from '../core/records';
import { encodeCursor, startKeyFromCursor, type Page } from './cursor';

/**
 * What every tokens store promises (test/support/conformance/tokens-store.ts checks each
 * implementation); the API declares the slice it uses (`TokenLookup` and `create`).
 */
export interface TokensStorePort {
  /** Refuses an id that exists (a `ConditionalCheckFailedException`). */
  create(record: TokenRecord): Promise<void>;
  get(id: string): Promise<TokenRecord | undefined>;
  list(options: { limit: number; cursor?: string }): Promise<Page<Omit<TokenRecord, 'secretHash'>>>;
  delete(id: string): Promise<boolean>;
}

/** API tokens: only the hash of each token's secret is stored. */
export class TokensStore implements TokensStorePort {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(record: TokenRecord): Promise<void> {
    await this.doc.send(
      new PutCommand({ TableName: this.tableName, Item: record, ConditionExpression: 'attribute_not_exists(id)' }),
    );
  }

  async get(id: string): Promise<TokenRecord | undefined> {
    const result = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { id }, ConsistentRead: true }));
    return result.Item as TokenRecord | undefined;
  }

  /** Tokens without their hashes, for `hookline token list`. */
  async list(options: { limit: number; cursor?: string }): Promise<Page<Omit<TokenRecord, 'secretHash'>>> {
    const result = await this.doc.send(
      new ScanCommand({
        TableName: this.tableName,
        Limit: options.limit,
        ExclusiveStartKey: startKeyFromCursor(options.cursor, ['id']),
        ProjectionExpression: 'id, fleets, #name, createdAt',
        ExpressionAttributeNames: { '#name': 'name' },
      }),
    );
    return {
      items: (result.Items ?? []) as Omit<TokenRecord, 'secretHash'>[],
      nextCursor: encodeCursor(result.LastEvaluatedKey),
    };
  }

  /** True when a token was deleted. */
  async delete(id: string): Promise<boolean> {
    const result = await this.doc.send(
      new DeleteCommand({ TableName: this.tableName, Key: { id }, ReturnValues: 'ALL_OLD' }),
    );
    return result.Attributes !== undefined;
  }
}
