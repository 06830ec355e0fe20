import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { InboundSourceRecord } from '../core/inbound/source';
import { INBOUND_SOURCES_BY_FLEET_INDEX } from '../core/table-schema';
import { encodeCursor, startKeyFromCursor, type Page } from './cursor';
import { isConditionalCheckFailure } from './dynamo-errors';
import { scanPages } from './table-scan';

const INDEX_KEYS = ['fleetId', 'id'] as const;

export type InboundSourcePatch = Partial<{
  name: string;
  description: string | null;
  enabled: boolean;
  settings: InboundSourceRecord['settings'];
  sealedCredentials: string;
}>;

/**
 * Inbound sources table access. Reads by id alone serve the ingest route; every fleet-scoped call
 * checks (or conditions on) the item's fleetId, so a source of another fleet is "not found".
 */
export class InboundSourcesStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(record: InboundSourceRecord): Promise<void> {
    await this.doc.send(
      new PutCommand({ TableName: this.tableName, Item: record, ConditionExpression: 'attribute_not_exists(id)' }),
    );
  }

  /** By id alone (the ingest route); strongly consistent so a just-created source works at once. */
  async get(id: string): Promise<InboundSourceRecord | undefined> {
    const result = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { id }, ConsistentRead: true }));
    return result.Item as InboundSourceRecord | undefined;
  }

  async getInFleet(fleetId: string, id: string): Promise<InboundSourceRecord | undefined> {
    const record = await this.get(id);
    return record?.fleetId === fleetId ? record : undefined;
  }

  /** One page of a fleet's sources, oldest id first. */
  async list(fleetId: string, options: { limit: number; cursor?: string }): Promise<Page<InboundSourceRecord>> {
    const result = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: INBOUND_SOURCES_BY_FLEET_INDEX,
        KeyConditionExpression: 'fleetId = :fleetId',
        ExpressionAttributeValues: { ':fleetId': fleetId },
        Limit: options.limit,
        ExclusiveStartKey: startKeyFromCursor(options.cursor, INDEX_KEYS, { fleetId }),
      }),
    );
    return { items: (result.Items ?? []) as InboundSourceRecord[], nextCursor: encodeCursor(result.LastEvaluatedKey) };
  }

  /** Up to `max` sources of a fleet (event-type catalog, subscription checks). */
  async all(fleetId: string, max = 1_000): Promise<InboundSourceRecord[]> {
    const items: InboundSourceRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.list(fleetId, { limit: 100, ...(cursor === undefined ? {} : { cursor }) });
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== undefined && items.length < max);
    return items.slice(0, max);
  }

  async update(fleetId: string, id: string, patch: InboundSourcePatch, now: string): Promise<InboundSourceRecord | undefined> {
    const names: Record<string, string> = { '#updatedAt': 'updatedAt', '#fleetId': 'fleetId' };
    const values: Record<string, unknown> = { ':updatedAt': now, ':fleetId': fleetId };
    const sets = ['#updatedAt = :updatedAt'];
    const removes: string[] = [];
    for (const [field, value] of Object.entries(patch)) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      if (value === null) removes.push(`#${field}`);
      else {
        values[`:${field}`] = value;
        sets.push(`#${field} = :${field}`);
      }
    }
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id },
          UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: '#fleetId = :fleetId',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes as InboundSourceRecord;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return undefined;
      throw error;
    }
  }

  /**
   * Re-seals the credentials (a key rotation's rekey) if they are still `expected`: a rotation
   * through the API meanwhile wins. Leaves updatedAt, as nothing a caller sees changes.
   */
  async replaceCredentials(id: string, expected: string, next: string): Promise<'replaced' | 'changed'> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id },
          UpdateExpression: 'SET sealedCredentials = :next',
          ConditionExpression: 'sealedCredentials = :expected',
          ExpressionAttributeValues: { ':next': next, ':expected': expected },
        }),
      );
      return 'replaced';
    } catch (error) {
      if (isConditionalCheckFailure(error)) return 'changed';
      throw error;
    }
  }

  /** Every source of every fleet, a page at a time (`hookline secrets rekey` walks them). */
  scanAll(pageSize = 100): AsyncGenerator<InboundSourceRecord[]> {
    return scanPages<InboundSourceRecord>(this.doc, this.tableName, pageSize);
  }

  /** Deletes the item, sealed credentials included; undefined when no such source in this fleet. */
  async delete(fleetId: string, id: string): Promise<InboundSourceRecord | undefined> {
    try {
      const result = await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { id },
          ConditionExpression: 'fleetId = :fleetId',
          ExpressionAttributeValues: { ':fleetId': fleetId },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return result.Attributes as InboundSourceRecord | undefined;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return undefined;
      throw error;
    }
  }
}
