import { GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AttemptRecord, DeliveryRecord, DeliveryStatus } from '../core/records';
import { DELIVERIES_BY_STATUS_INDEX, DELIVERIES_BY_SUBSCRIPTION_INDEX } from '../core/table-schema';
import { encodeCursor, startKeyFromCursor, type Page } from './cursor';
import { isConditionalCheckFailure } from './dynamo-errors';

/**
 * Attempts live inside their delivery item so that an attempt costs one write. Past this many the
 * summary fields keep updating but older history is not extended, which keeps the item far below
 * DynamoDB's 400 KB limit (an attempt with its excerpts is at most ~6 KB).
 */
export const MAX_STORED_ATTEMPTS = 50;

/** What identifies a delivery and is copied onto its record by every write. */
export type DeliveryIdentity = Pick<
  DeliveryRecord,
  'id' | 'fleetId' | 'subscriptionId' | 'eventId' | 'eventType' | 'webhookUrl'
>;

export interface AttemptWrite {
  identity: DeliveryIdentity;
  attempt: AttemptRecord;
  status: DeliveryStatus;
  /**
   * Whether this attempt may change a delivery that already succeeded. True for explicit
   * re-deliveries (retry, replay, test); false for fan-out messages, so a duplicate SQS message
   * that fails after a success cannot turn a `succeeded` delivery back into `pending` or `failed`.
   * @default false
   */
  reopensSucceeded?: boolean;
  nextAttemptAt?: string;
  now: string;
  /** Epoch seconds at which DynamoDB TTL may remove the record. */
  expiresAt: number;
}

export interface DeliveryListOptions {
  status?: DeliveryStatus;
  eventType?: string;
  since?: string;
  until?: string;
  limit: number;
  cursor?: string;
}

export type DeliverySummary = Omit<DeliveryRecord, 'attempts' | 'createdKey' | 'subscriptionStatus' | 'expiresAt'>;

/** Attribute values that only some attempts have; absent ones are removed so the record shows the latest attempt. */
const OPTIONAL_RESULT_FIELDS = [
  'httpStatusCode',
  'responseContentLength',
  'responseHeaders',
  'errorMessage',
  'errorKind',
  'nextAttemptAt',
] as const;

export function subscriptionStatusKey(subscriptionId: string, status: DeliveryStatus): string {
  return `${subscriptionId}#${status}`;
}

/** Deliveries table access: one item per delivery, attempts embedded, writes idempotent per SQS receive. */
export class DeliveriesStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Appends an attempt and updates the summary in one UpdateItem. A second write for the same
   * attempt key (a duplicate SQS message, or a retry after a crash) changes nothing and answers
   * 'duplicate'. A fan-out attempt on a delivery that already succeeded is appended to the history
   * but leaves the summary (and so the status) as it was.
   */
  async recordAttempt(write: AttemptWrite): Promise<'recorded' | 'duplicate'> {
    const { attempt } = write;
    const optional: Record<(typeof OPTIONAL_RESULT_FIELDS)[number], unknown> = {
      httpStatusCode: attempt.statusCode,
      responseContentLength: attempt.responseContentLength,
      responseHeaders: attempt.responseHeaders,
      errorMessage: attempt.errorMessage,
      errorKind: attempt.errorKind,
      nextAttemptAt: write.nextAttemptAt,
    };
    const summaryValues: Record<string, unknown> = {
      ...this.identityValues(write.identity, write.status, write.now, write.expiresAt),
      ':at': attempt.at,
      ':latency': attempt.latencyMs,
    };
    const summarySets = [...IDENTITY_SETS, 'webhookUrl = :webhookUrl', 'lastAttemptAt = :at', 'latencyMs = :latency'];
    const summaryRemoves: string[] = [];
    for (const field of OPTIONAL_RESULT_FIELDS) {
      if (optional[field] === undefined) summaryRemoves.push(field);
      else {
        summarySets.push(`${field} = :${field}`);
        summaryValues[`:${field}`] = optional[field];
      }
    }
    const protectSuccess = write.reopensSucceeded !== true;

    // Tried in order; a failed condition moves on to the next variant. Without room left in the
    // history the attempt is only counted; on a protected success only the history changes.
    const variants: { summary: boolean; append: boolean }[] = [
      { summary: true, append: true },
      { summary: true, append: false },
      ...(protectSuccess ? [{ summary: false, append: true }, { summary: false, append: false }] : []),
    ];
    for (const { summary, append } of variants) {
      const sets = ['attemptCount = if_not_exists(attemptCount, :zero) + :one'];
      const conditions = ['(attribute_not_exists(attemptKeys) OR NOT contains(attemptKeys, :key))'];
      let values: Record<string, unknown> = { ':key': attempt.key, ':keys': new Set([attempt.key]), ':zero': 0, ':one': 1 };
      let removes: string[] = [];
      if (summary) {
        sets.push(...summarySets);
        values = { ...values, ...summaryValues };
        removes = summaryRemoves;
        if (protectSuccess) {
          conditions.push(NOT_SUCCEEDED);
          values[':succeeded'] = 'succeeded';
        }
      }
      if (append) {
        sets.push('attempts = list_append(if_not_exists(attempts, :empty), :attempt)');
        conditions.push('(attribute_not_exists(attempts) OR size(attempts) < :max)');
        values = { ...values, ':attempt': [attempt], ':empty': [], ':max': MAX_STORED_ATTEMPTS };
      }
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { id: write.identity.id },
            UpdateExpression:
              `SET ${sets.join(', ')}` + (removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : '') + ' ADD attemptKeys :keys',
            ConditionExpression: conditions.join(' AND '),
            ...(summary ? { ExpressionAttributeNames: { '#status': 'status' } } : {}),
            ExpressionAttributeValues: values,
          }),
        );
        return 'recorded';
      } catch (error) {
        if (!isConditionalCheckFailure(error)) throw error;
      }
    }
    return 'duplicate';
  }

  /**
   * Ends a delivery without an attempt (its subscription is disabled or gone, or its secret is
   * unusable). A delivery that already succeeded stays succeeded; the URL of an earlier attempt is
   * kept, since a deleted subscription's URL survives nowhere else.
   */
  async endWithoutAttempt(
    identity: DeliveryIdentity,
    status: Extract<DeliveryStatus, 'disabled' | 'failed'>,
    reason: string,
    now: string,
    expiresAt: number,
  ): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id: identity.id },
          UpdateExpression:
            `SET ${IDENTITY_SETS.join(', ')}, webhookUrl = if_not_exists(webhookUrl, :webhookUrl), errorMessage = :reason, ` +
            'attemptCount = if_not_exists(attemptCount, :zero), attempts = if_not_exists(attempts, :empty) REMOVE nextAttemptAt',
          ConditionExpression: NOT_SUCCEEDED,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ...this.identityValues(identity, status, now, expiresAt),
            ':reason': reason,
            ':zero': 0,
            ':empty': [],
            ':succeeded': 'succeeded',
          },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
    }
  }

  async get(id: string): Promise<DeliveryRecord | undefined> {
    const result = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { id }, ConsistentRead: true }));
    if (result.Item === undefined) return undefined;
    const { attemptKeys: _attemptKeys, ...record } = result.Item;
    return record as DeliveryRecord;
  }

  /** Marks a delivery pending again before a retry round is enqueued. */
  async markPending(record: Pick<DeliveryRecord, 'id' | 'subscriptionId'>, now: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { id: record.id },
        UpdateExpression: 'SET #status = :pending, subscriptionStatus = :ss, nextAttemptAt = :now, updatedAt = :now',
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':pending': 'pending',
          ':ss': subscriptionStatusKey(record.subscriptionId, 'pending'),
          ':now': now,
        },
      }),
    );
  }

  /** A subscription's deliveries, newest first, optionally filtered. */
  async list(subscriptionId: string, options: DeliveryListOptions): Promise<Page<DeliverySummary>> {
    const byStatus = options.status !== undefined;
    const partitionName = byStatus ? 'subscriptionStatus' : 'subscriptionId';
    const partitionValue = byStatus ? subscriptionStatusKey(subscriptionId, options.status as DeliveryStatus) : subscriptionId;
    const values: Record<string, unknown> = { ':pk': partitionValue };
    let keyCondition = `${partitionName} = :pk`;
    if (options.since !== undefined && options.until !== undefined) {
      keyCondition += ' AND createdKey BETWEEN :since AND :until';
    } else if (options.since !== undefined) {
      keyCondition += ' AND createdKey >= :since';
    } else if (options.until !== undefined) {
      keyCondition += ' AND createdKey <= :until';
    }
    if (options.since !== undefined) values[':since'] = options.since;
    // '~' sorts after every id character, so deliveries created exactly at `until` are included.
    if (options.until !== undefined) values[':until'] = `${options.until}#~`;
    if (options.eventType !== undefined) values[':eventType'] = options.eventType;
    const result = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: byStatus ? DELIVERIES_BY_STATUS_INDEX : DELIVERIES_BY_SUBSCRIPTION_INDEX,
        KeyConditionExpression: keyCondition,
        FilterExpression: options.eventType !== undefined ? 'eventType = :eventType' : undefined,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        Limit: options.limit,
        // DynamoDB refuses a start key outside the key condition: such a cursor is a 400, not a 500.
        ExclusiveStartKey: startKeyFromCursor(
          options.cursor,
          ['id', partitionName, 'createdKey'],
          { [partitionName]: partitionValue },
          { createdKey: { ...optionalBound('min', values[':since']), ...optionalBound('max', values[':until']) } },
        ),
      }),
    );
    const items = (result.Items ?? []).map((item) => {
      const { createdKey: _createdKey, subscriptionStatus: _status, ...summary } = item;
      return { ...summary, subscriptionId } as DeliverySummary;
    });
    return { items, nextCursor: encodeCursor(result.LastEvaluatedKey) };
  }

  /** Ends every pending delivery of a subscription as `disabled`; returns how many it changed. */
  async endPendingAsDisabled(subscriptionId: string, reason: string, now: string): Promise<number> {
    let changed = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: DELIVERIES_BY_STATUS_INDEX,
          KeyConditionExpression: 'subscriptionStatus = :pk',
          ExpressionAttributeValues: { ':pk': subscriptionStatusKey(subscriptionId, 'pending') },
          ProjectionExpression: 'id',
          ExclusiveStartKey: startKey,
        }),
      );
      const results = await Promise.all(
        (page.Items ?? []).map((item) => this.endPending(item.id as string, subscriptionId, reason, now)),
      );
      changed += results.filter(Boolean).length;
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return changed;
  }

  private async endPending(id: string, subscriptionId: string, reason: string, now: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id },
          UpdateExpression:
            'SET #status = :disabled, subscriptionStatus = :ss, errorMessage = :reason, updatedAt = :now REMOVE nextAttemptAt',
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':disabled': 'disabled',
            ':pending': 'pending',
            ':ss': subscriptionStatusKey(subscriptionId, 'disabled'),
            ':reason': reason,
            ':now': now,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return false;
      throw error;
    }
  }

  private identityValues(identity: DeliveryIdentity, status: DeliveryStatus, now: string, expiresAt: number) {
    return {
      ':fleetId': identity.fleetId,
      ':subscriptionId': identity.subscriptionId,
      ':eventId': identity.eventId,
      ':eventType': identity.eventType,
      ':webhookUrl': identity.webhookUrl,
      ':status': status,
      ':ss': subscriptionStatusKey(identity.subscriptionId, status),
      ':now': now,
      ':createdKey': `${now}#${identity.id}`,
      ':expiresAt': expiresAt,
    };
  }
}

const NOT_SUCCEEDED = '(attribute_not_exists(#status) OR #status <> :succeeded)';

const IDENTITY_SETS = [
  'fleetId = :fleetId',
  'subscriptionId = :subscriptionId',
  'eventId = :eventId',
  'eventType = :eventType',
  '#status = :status',
  'subscriptionStatus = :ss',
  'updatedAt = :now',
  'createdAt = if_not_exists(createdAt, :now)',
  'createdKey = if_not_exists(createdKey, :createdKey)',
  'expiresAt = :expiresAt',
];

function optionalBound(name: 'min' | 'max', value: unknown): { min?: string; max?: string } {
  return typeof value === 'string' ? { [name]: value } : {};
}
