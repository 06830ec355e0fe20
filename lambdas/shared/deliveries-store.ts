import { GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { fromStoredAttempt, toStoredAttempt } from '../core/attempt-excerpt';
import type { AttemptRecord, DeliveryProgress, DeliveryRecord, DeliveryStatus } from '../core/records';
import { DELIVERIES_BY_STATUS_INDEX, DELIVERIES_BY_SUBSCRIPTION_INDEX } from '../core/table-schema';
import { encodeCursor, startKeyFromCursor, type Page } from './cursor';
import { isConditionalCheckFailure } from './dynamo-errors';
import { sortKeyRange } from './key-range';

/**
 * Attempts live inside their delivery item so that an attempt costs one write. Past this many the
 * summary fields keep updating but older history is not extended, which keeps the item far below
 * DynamoDB's 400 KB limit (an attempt with its excerpts is at most ~2 KB: core/attempt-excerpt.ts).
 */
export const MAX_STORED_ATTEMPTS = 50;

/** What identifies a delivery and is copied onto its record by every write. */
export type DeliveryIdentity = Pick<
  DeliveryRecord,
  'id' | 'fleetId' | 'subscriptionId' | 'eventId' | 'eventType' | 'webhookUrl'
>;

/** A claim on one attempt of a delivery, made before its POST. */
export interface ClaimInput {
  id: string;
  round: string;
  attempt: number;
  /** SQS message id of the message carrying the attempt. */
  holder: string;
  /** Epoch ms: the claiming invocation's deadline; until then no other POST of the delivery starts. */
  leaseUntil: number;
  now: number;
  /** True for attempt 1 of a round (fan-out, retry request, replay, test, DLQ redrive). */
  newRound: boolean;
  /** Message id of the redriven message that begins this round. */
  trigger?: string;
  /** Epoch seconds for TTL, so a claim whose attempt never reported cannot live forever. */
  expiresAt: number;
}

export type ClaimResult = { claimed: true; roundNumber: number } | { claimed: false; progress: DeliveryProgress | undefined };

export interface AttemptWrite {
  identity: DeliveryIdentity;
  round: string;
  attempt: AttemptRecord;
  /** The claim's holder; absent for an interrupted attempt, recorded once its lease ran out. */
  holder?: string;
  status: DeliveryStatus;
  nextAttemptAt?: string;
  /** Set when the delivery is exhausted: the message that goes on to the DLQ, and its nonce. */
  parkedMessageId?: string;
  parkedNonce?: string;
  now: string;
  /** Epoch seconds at which DynamoDB TTL may remove the record. */
  expiresAt: number;
}

/** How a delivery ended without an attempt leaves its bookkeeping. */
export interface EndWithoutAttemptOptions {
  /** The message that goes on to the DLQ, and its nonce (a redriven copy carries the same one). */
  parkedMessageId?: string;
  parkedNonce?: string;
  /** The attempt this dispatcher had claimed: it counts as completed (without a POST) and the claim is released. */
  claimedAttempt?: number;
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
  'errorMessage',
  'errorKind',
  'nextAttemptAt',
] as const;

export function subscriptionStatusKey(subscriptionId: string, status: DeliveryStatus): string {
  return `${subscriptionId}#${status}`;
}

/**
 * What every deliveries store promises; each user declares the slice it uses (`Pick<…>`): the
 * dispatcher (dispatcher/context.ts) and the API (api/deps.ts).
 * test/support/conformance/deliveries-store.ts checks each implementation against this contract
 * (the DynamoDB one below on dynalite, the in-memory one the unit tests use).
 */
export interface DeliveriesStorePort {
  claim(input: ClaimInput): Promise<ClaimResult>;
  progress(id: string): Promise<DeliveryProgress | undefined>;
  recordAttempt(write: AttemptWrite): Promise<'recorded' | 'stale'>;
  endWithoutAttempt(
    identity: DeliveryIdentity,
    status: Extract<DeliveryStatus, 'disabled' | 'failed'>,
    reason: string,
    now: string,
    expiresAt: number,
    park?: EndWithoutAttemptOptions,
  ): Promise<void>;
  get(id: string): Promise<DeliveryRecord | undefined>;
  list(subscriptionId: string, options: DeliveryListOptions): Promise<Page<DeliverySummary>>;
  endPendingAsDisabled(subscriptionId: string, reason: string, now: string): Promise<number>;
}

/** Deliveries table access: one item per delivery, attempts embedded, writes idempotent per SQS receive. */
export class DeliveriesStore implements DeliveriesStorePort {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Claims an attempt with one conditional UpdateItem: no other claim's lease may be live, and the
   * attempt must be the next one of its round (or begin a later round). So duplicate messages never
   * make two concurrent POSTs, and an attempt is made once per round. A new delivery's claim writes
   * only these few attributes (no index keys), so it costs one write unit. Refused: the stored
   * progress is read back (consistent) for the dispatcher to judge.
   */
  async claim(input: ClaimInput): Promise<ClaimResult> {
    const values: Record<string, unknown> = {
      ':r': input.round,
      ':a': input.attempt,
      ':lease': input.leaseUntil,
      ':h': input.holder,
      ':now': input.now,
      ':one': 1,
    };
    let update: string;
    let condition = '(attribute_not_exists(leaseUntil) OR leaseUntil < :now)';
    if (input.newRound) {
      update =
        'SET #round = :r, rounds = if_not_exists(rounds, :zero) + :one, #started = :a, #completed = :done, ' +
        'leaseUntil = :lease, leaseHolder = :h, expiresAt = if_not_exists(expiresAt, :exp)' +
        (input.trigger === undefined ? ' REMOVE parkedMessageId, parkedNonce, roundTrigger' : ', roundTrigger = :trigger REMOVE parkedMessageId, parkedNonce');
      condition += ' AND (attribute_not_exists(#round) OR #round < :r)';
      Object.assign(values, { ':zero': 0, ':done': input.attempt - 1, ':exp': input.expiresAt });
      if (input.trigger !== undefined) values[':trigger'] = input.trigger;
    } else {
      update = 'SET #started = :a, leaseUntil = :lease, leaseHolder = :h, rounds = if_not_exists(rounds, :one)';
      condition += ' AND #round = :r AND #completed = #started AND #started < :a AND #status = :pending';
      values[':pending'] = 'pending';
    }
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id: input.id },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: { ...PROGRESS_NAMES, ...(input.newRound ? {} : { '#status': 'status' }) },
          ExpressionAttributeValues: values,
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return { claimed: true, roundNumber: Number(result.Attributes?.rounds ?? 1) };
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
    }
    return { claimed: false, progress: await this.progress(input.id) };
  }

  /** The attempt bookkeeping of a delivery, read consistently. */
  async progress(id: string): Promise<DeliveryProgress | undefined> {
    const result = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { id },
        ConsistentRead: true,
        ProjectionExpression: 'id, #status, #round, rounds, #started, #completed, leaseUntil, leaseHolder, roundTrigger, parkedMessageId, parkedNonce, nextAttemptAt',
        ExpressionAttributeNames: { ...PROGRESS_NAMES, '#status': 'status' },
      }),
    );
    return result.Item as DeliveryProgress | undefined;
  }

  /**
   * Records a claimed attempt's result and releases the claim in one UpdateItem: the attempt joins
   * the history (up to {@link MAX_STORED_ATTEMPTS}; past that it is only counted) and the summary
   * shows it. Only the claim's holder may record it — or anyone, for an interrupted attempt whose
   * lease ran out. Answers 'stale' when the claim is no longer this writer's.
   */
  async recordAttempt(write: AttemptWrite): Promise<'recorded' | 'stale'> {
    const { attempt } = write;
    const optional: Record<(typeof OPTIONAL_RESULT_FIELDS)[number], unknown> = {
      httpStatusCode: attempt.statusCode,
      responseContentLength: attempt.responseContentLength,
      errorMessage: attempt.errorMessage,
      errorKind: attempt.errorKind,
      nextAttemptAt: write.nextAttemptAt,
    };
    const values: Record<string, unknown> = {
      ...this.identityValues(write.identity, write.status, write.now, write.expiresAt),
      ':at': attempt.at,
      ':latency': attempt.latencyMs,
      ':r': write.round,
      ':a': attempt.attempt,
      ':zero': 0,
      ':one': 1,
    };
    const sets = [
      ...IDENTITY_SETS,
      'webhookUrl = :webhookUrl',
      'lastAttemptAt = :at',
      'latencyMs = :latency',
      '#completed = :a',
      'attemptCount = if_not_exists(attemptCount, :zero) + :one',
    ];
    // The response headers are stored once, in the attempt: the delivery's view shows the latest
    // attempt's. Records written before kept a copy on the summary too, removed by their next write.
    const removes = ['leaseUntil', 'leaseHolder', 'responseHeaders'];
    // Succeeded deliveries leave the by-status index: it serves the pending and failed views, and
    // writing it for every success would cost a write unit per delivery.
    if (write.status === 'succeeded') {
      removes.push('subscriptionStatus');
      delete values[':ss'];
    } else sets.push('subscriptionStatus = :ss');
    if (write.parkedMessageId !== undefined) {
      sets.push('parkedMessageId = :parked');
      values[':parked'] = write.parkedMessageId;
    }
    if (write.parkedNonce !== undefined) {
      sets.push('parkedNonce = :parkedNonce');
      values[':parkedNonce'] = write.parkedNonce;
    }
    for (const field of OPTIONAL_RESULT_FIELDS) {
      if (optional[field] === undefined) removes.push(field);
      else {
        sets.push(`${field} = :${field}`);
        values[`:${field}`] = optional[field];
      }
    }
    let condition = '#round = :r AND #started = :a AND #completed < :a';
    if (write.holder === undefined) {
      condition += ' AND (attribute_not_exists(leaseUntil) OR leaseUntil < :nowMs)';
      values[':nowMs'] = Date.parse(write.now);
    } else {
      condition += ' AND leaseHolder = :h';
      values[':h'] = write.holder;
    }
    const remove = ` REMOVE ${removes.join(', ')}`;
    // First with the attempt appended to the history; once the history is full (rare), without.
    // The common write builds its ~20 values once: no copy of them per delivery.
    Object.assign(values, { ':attempt': [toStoredAttempt(attempt)], ':empty': [], ':max': MAX_STORED_ATTEMPTS });
    for (const append of [true, false]) {
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { id: write.identity.id },
            UpdateExpression: append
              ? `SET ${sets.join(', ')}, attempts = list_append(if_not_exists(attempts, :empty), :attempt)${remove}`
              : `SET ${sets.join(', ')}${remove}`,
            ConditionExpression: append ? `${condition} AND (attribute_not_exists(attempts) OR size(attempts) < :max)` : condition,
            ExpressionAttributeNames: RECORD_NAMES,
            ExpressionAttributeValues: append ? values : withoutAppendValues(values),
          }),
        );
        return 'recorded';
      } catch (error) {
        if (!isConditionalCheckFailure(error)) throw error;
      }
    }
    return 'stale';
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
    park: EndWithoutAttemptOptions = {},
  ): Promise<void> {
    const { parkedMessageId, parkedNonce, claimedAttempt } = park;
    const extraSets = [
      ...(parkedMessageId === undefined ? [] : ['parkedMessageId = :parked']),
      ...(parkedNonce === undefined ? [] : ['parkedNonce = :parkedNonce']),
      ...(claimedAttempt === undefined ? [] : ['#completed = :claimed']),
    ];
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id: identity.id },
          UpdateExpression:
            `SET ${IDENTITY_SETS.join(', ')}, subscriptionStatus = :ss, webhookUrl = if_not_exists(webhookUrl, :webhookUrl), errorMessage = :reason, ` +
            'attemptCount = if_not_exists(attemptCount, :zero), attempts = if_not_exists(attempts, :empty)' +
            extraSets.map((set) => `, ${set}`).join('') +
            ' REMOVE nextAttemptAt, leaseUntil, leaseHolder',
          ConditionExpression: NOT_SUCCEEDED,
          ExpressionAttributeNames: { '#status': 'status', ...(claimedAttempt === undefined ? {} : { '#completed': 'completed' }) },
          ExpressionAttributeValues: {
            ...this.identityValues(identity, status, now, expiresAt),
            ':reason': reason,
            ':zero': 0,
            ':empty': [],
            ':succeeded': 'succeeded',
            ...(parkedMessageId === undefined ? {} : { ':parked': parkedMessageId }),
            ...(parkedNonce === undefined ? {} : { ':parkedNonce': parkedNonce }),
            ...(claimedAttempt === undefined ? {} : { ':claimed': claimedAttempt }),
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
    const record = result.Item as DeliveryRecord;
    return { ...record, attempts: (record.attempts ?? []).map(fromStoredAttempt) };
  }

  /** A subscription's deliveries, newest first, optionally filtered. */
  async list(subscriptionId: string, options: DeliveryListOptions): Promise<Page<DeliverySummary>> {
    // Succeeded deliveries are not in the by-status index (see recordAttempt): they are read from the
    // by-subscription index with a filter, so such a page may hold fewer than `limit` items.
    const byStatus = options.status !== undefined && options.status !== 'succeeded';
    const partitionName = byStatus ? 'subscriptionStatus' : 'subscriptionId';
    const partitionValue = byStatus ? subscriptionStatusKey(subscriptionId, options.status as DeliveryStatus) : subscriptionId;
    // '~' sorts after every id character, so deliveries created exactly at `until` are included.
    const range = sortKeyRange('createdKey', options.since, options.until === undefined ? undefined : `${options.until}#~`);
    const values: Record<string, unknown> = { ':pk': partitionValue, ...range.values };
    const keyCondition = `${partitionName} = :pk${range.condition}`;
    const filters: string[] = [];
    if (options.eventType !== undefined) {
      filters.push('eventType = :eventType');
      values[':eventType'] = options.eventType;
    }
    if (options.status === 'succeeded') {
      filters.push('#status = :status');
      values[':status'] = 'succeeded';
    }
    const result = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: byStatus ? DELIVERIES_BY_STATUS_INDEX : DELIVERIES_BY_SUBSCRIPTION_INDEX,
        KeyConditionExpression: keyCondition,
        FilterExpression: filters.length > 0 ? filters.join(' AND ') : undefined,
        ...(options.status === 'succeeded' ? { ExpressionAttributeNames: { '#status': 'status' } } : {}),
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

/** Attribute names of the attempt bookkeeping (some are DynamoDB reserved words). */
const PROGRESS_NAMES = { '#round': 'round', '#started': 'started', '#completed': 'completed' } as const;
/** The names an attempt's record write uses: one shared object, not a copy per delivery. */
const RECORD_NAMES: Readonly<Record<string, string>> = { ...PROGRESS_NAMES, '#status': 'status' };

const NOT_SUCCEEDED = '(attribute_not_exists(#status) OR #status <> :succeeded)';

const IDENTITY_SETS = [
  'fleetId = :fleetId',
  'subscriptionId = :subscriptionId',
  'eventId = :eventId',
  'eventType = :eventType',
  '#status = :status',
  'updatedAt = :now',
  'createdAt = if_not_exists(createdAt, :now)',
  'createdKey = if_not_exists(createdKey, :createdKey)',
  'expiresAt = :expiresAt',
];

/** The record write's values for its second try, the one that leaves a full history as it is. */
function withoutAppendValues(values: Record<string, unknown>): Record<string, unknown> {
  const { ':attempt': _attempt, ':empty': _empty, ':max': _max, ...rest } = values;
  return rest;
}

function optionalBound(name: 'min' | 'max', value: unknown): { min?: string; max?: string } {
  return typeof value === 'string' ? { [name]: value } : {};
}
