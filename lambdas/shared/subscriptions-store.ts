import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { SubscriptionRecord } from '../core/records';
import type { SealedSigningSecrets } from '../core/sealed-secrets';
import { encodeCursor, startKeyFromCursor, type Page } from './cursor';
import { isConditionalCheckFailure } from './dynamo-errors';

const KEY_NAMES = ['fleetId', 'id'] as const;

/** Fields a PATCH may change; `null` removes an optional one. */
export type SubscriptionPatch = Partial<{
  url: string;
  events: string[] | null;
  enabled: boolean;
  name: string | null;
  description: string | null;
  headers: Record<string, string> | null;
  timeoutSeconds: number | null;
  maxAttempts: number | null;
}>;

/** What replaceSecret found when it could not write. */
export type SecretReplaceMiss = 'missing' | 'changed';

/** Subscriptions table access. Every read is keyed by (fleetId, id), which is what keeps fleets apart. */
export class SubscriptionsStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(record: SubscriptionRecord): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: record,
        ConditionExpression: 'attribute_not_exists(id)',
      }),
    );
  }

  async get(fleetId: string, id: string, consistent = false): Promise<SubscriptionRecord | undefined> {
    const result = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { fleetId, id }, ConsistentRead: consistent }),
    );
    return result.Item as SubscriptionRecord | undefined;
  }

  /** One page of a fleet's subscriptions, oldest first (ids are ULIDs). */
  async list(fleetId: string, options: { limit: number; cursor?: string }): Promise<Page<SubscriptionRecord>> {
    const startKey = startKeyFromCursor(options.cursor, KEY_NAMES, { fleetId });
    const result = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'fleetId = :fleetId',
        ExpressionAttributeValues: { ':fleetId': fleetId },
        Limit: options.limit,
        ExclusiveStartKey: startKey,
      }),
    );
    return {
      items: (result.Items ?? []) as SubscriptionRecord[],
      nextCursor: encodeCursor(result.LastEvaluatedKey),
    };
  }

  /** Every subscription of a fleet, page by page (fan-out walks large fleets with it). */
  async *pages(fleetId: string, pageSize = 500): AsyncGenerator<SubscriptionRecord[]> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'fleetId = :fleetId',
          ExpressionAttributeValues: { ':fleetId': fleetId },
          Limit: pageSize,
          ExclusiveStartKey: startKey,
        }),
      );
      yield (result.Items ?? []) as SubscriptionRecord[];
      startKey = result.LastEvaluatedKey;
    } while (startKey !== undefined);
  }

  /** Applies a partial update; returns the updated record, or undefined when it does not exist. */
  async update(fleetId: string, id: string, patch: SubscriptionPatch, now: string): Promise<SubscriptionRecord | undefined> {
    const names: Record<string, string> = { '#updatedAt': 'updatedAt' };
    const values: Record<string, unknown> = { ':updatedAt': now };
    const sets = ['#updatedAt = :updatedAt'];
    const removes: string[] = [];
    for (const [field, value] of Object.entries(patch)) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      if (value === null) {
        removes.push(`#${field}`);
      } else {
        values[`:${field}`] = value;
        sets.push(`#${field} = :${field}`);
      }
    }
    if (patch.enabled === true) {
      names['#disabledReason'] = 'disabledReason';
      names['#failingSince'] = 'failingSince';
      removes.push('#disabledReason', '#failingSince');
    }
    const expression = `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`;
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { fleetId, id },
          UpdateExpression: expression,
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes as SubscriptionRecord;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return undefined;
      throw error;
    }
  }

  /**
   * Replaces the sealed secrets if the current one is still `expectedSealed`: two rotations (or a
   * rotation and a rekey) racing cannot lose a secret that a caller was already shown.
   */
  async replaceSecret(
    fleetId: string,
    id: string,
    expectedSealed: string,
    next: SealedSigningSecrets,
    now: string | undefined,
  ): Promise<SubscriptionRecord | SecretReplaceMiss> {
    const sets = ['sealedSecret = :secret'];
    const values: Record<string, unknown> = { ':secret': next.sealedSecret, ':expected': expectedSealed };
    if (now !== undefined) {
      sets.push('updatedAt = :now');
      values[':now'] = now;
    }
    let remove = ' REMOVE sealedPreviousSecret, previousSecretExpiresAt';
    if (next.sealedPreviousSecret !== undefined && next.previousSecretExpiresAt !== undefined) {
      sets.push('sealedPreviousSecret = :previous', 'previousSecretExpiresAt = :previousExpiresAt');
      values[':previous'] = next.sealedPreviousSecret;
      values[':previousExpiresAt'] = next.previousSecretExpiresAt;
      remove = '';
    }
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { fleetId, id },
          UpdateExpression: `SET ${sets.join(', ')}${remove}`,
          ConditionExpression: 'sealedSecret = :expected',
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes as SubscriptionRecord;
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
      const existing = await this.get(fleetId, id, true);
      return existing === undefined ? 'missing' : 'changed';
    }
  }

  /** Every subscription of every fleet, a page at a time (the rekey command walks them). */
  async *scanAll(pageSize = 100): AsyncGenerator<SubscriptionRecord[]> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await this.doc.send(
        new ScanCommand({ TableName: this.tableName, Limit: pageSize, ExclusiveStartKey: startKey, ConsistentRead: true }),
      );
      yield (result.Items ?? []) as SubscriptionRecord[];
      startKey = result.LastEvaluatedKey;
    } while (startKey !== undefined);
  }

  /** Deletes and returns the record, or undefined when it did not exist. */
  async delete(fleetId: string, id: string): Promise<SubscriptionRecord | undefined> {
    const result = await this.doc.send(
      new DeleteCommand({ TableName: this.tableName, Key: { fleetId, id }, ReturnValues: 'ALL_OLD' }),
    );
    return result.Attributes as SubscriptionRecord | undefined;
  }

  /** Disables an enabled subscription; true when this call did it. */
  async disable(fleetId: string, id: string, reason: string, now: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { fleetId, id },
          UpdateExpression: 'SET enabled = :false, disabledReason = :reason, updatedAt = :now',
          ConditionExpression: 'attribute_exists(id) AND enabled = :true',
          ExpressionAttributeValues: { ':false': false, ':true': true, ':reason': reason, ':now': now },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return false;
      throw error;
    }
  }

  /** Starts the failing clock unless it already runs; returns the clock's start. */
  async markFailing(fleetId: string, id: string, now: string): Promise<string | undefined> {
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { fleetId, id },
          UpdateExpression: 'SET failingSince = if_not_exists(failingSince, :now)',
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeValues: { ':now': now },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return result.Attributes?.failingSince as string | undefined;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return undefined;
      throw error;
    }
  }

  /** Stops the failing clock after a success. */
  async clearFailing(fleetId: string, id: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { fleetId, id },
          UpdateExpression: 'REMOVE failingSince',
          ConditionExpression: 'attribute_exists(failingSince)',
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
    }
  }
}
