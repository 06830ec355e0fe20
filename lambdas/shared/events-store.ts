import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventRecord, IdempotencyRecord } from '../core/records';
import { EVENTS_BY_TIME_INDEX } from '../core/table-schema';
import { encodeCursor, startKeyFromCursor, type Page } from './cursor';
import { isConditionalCheckFailure } from './dynamo-errors';

const IDEMPOTENCY_PREFIX = 'idem#';
const TIME_INDEX_KEYS = ['fleetId', 'id', 'timeKey'] as const;

export type PutEventResult = { created: true; event: EventRecord } | { created: false; event: EventRecord };

/**
 * The table item of an event: `data` is stored as its JSON text. As a DynamoDB map it could not hold
 * every JSON document a producer may send: the document client refuses numbers beyond 2^53,
 * DynamoDB refuses magnitudes outside 1e-130..1e126 and maps nested deeper than 32 levels.
 */
type EventItem = Omit<EventRecord, 'data'> & { dataJson?: string; data?: unknown };

function toItem(event: EventRecord): EventItem {
  const { data, ...rest } = event;
  return { ...rest, dataJson: JSON.stringify(data ?? null) };
}

/** Items written before `dataJson` existed keep `data` as a map. */
function fromItem(item: Record<string, unknown>): EventRecord {
  const { dataJson, data, ...rest } = item as EventItem;
  return { ...rest, data: typeof dataJson === 'string' ? (JSON.parse(dataJson) as unknown) : data } as EventRecord;
}

/**
 * What every events store promises; the handlers declare the slice they use (`Pick<…>`), and
 * test/support/conformance/events-store.ts checks each implementation against this contract
 * (the DynamoDB one below on dynalite, the in-memory one the unit tests use).
 */
export interface EventsStorePort {
  putIfAbsent(event: EventRecord): Promise<PutEventResult>;
  get(fleetId: string, id: string): Promise<EventRecord | undefined>;
  markFannedOut(fleetId: string, id: string, now: string): Promise<void>;
  claimIdempotencyKey(fleetId: string, key: string, eventId: string, nowSeconds: number, windowSeconds: number): Promise<string>;
  listByTime(fleetId: string, range: { since: string; until: string }, options: { limit: number; cursor?: string }): Promise<Page<EventRecord>>;
}

/** Events table access: stored once per (fleet, id), read back by time for replay. */
export class EventsStore implements EventsStorePort {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Stores the event unless one with its id exists; either way returns the stored one. */
  async putIfAbsent(event: EventRecord): Promise<PutEventResult> {
    try {
      await this.doc.send(
        new PutCommand({ TableName: this.tableName, Item: toItem(event), ConditionExpression: 'attribute_not_exists(id)' }),
      );
      return { created: true, event };
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
    }
    const existing = await this.get(event.fleetId, event.id);
    // Deleted by TTL between the two calls: the caller's copy is the best one there is.
    return { created: false, event: existing ?? event };
  }

  async get(fleetId: string, id: string): Promise<EventRecord | undefined> {
    const result = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { fleetId, id }, ConsistentRead: true }),
    );
    return result.Item === undefined ? undefined : fromItem(result.Item);
  }

  /** Records that every delivery message of the event was sent, so a repeat publish is a no-op. */
  async markFannedOut(fleetId: string, id: string, now: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { fleetId, id },
        UpdateExpression: 'SET fannedOutAt = :now',
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeValues: { ':now': now },
      }),
    ).catch((error: unknown) => {
      // The event expired meanwhile: nothing left to mark.
      if (!isConditionalCheckFailure(error)) throw error;
    });
  }

  /**
   * Binds an idempotency key to an event id for its window. Returns the id bound first: the
   * caller's on the first call, the original one on a repeat inside the window.
   */
  async claimIdempotencyKey(
    fleetId: string,
    key: string,
    eventId: string,
    nowSeconds: number,
    windowSeconds: number,
  ): Promise<string> {
    const record: IdempotencyRecord = {
      fleetId,
      id: `${IDEMPOTENCY_PREFIX}${key}`,
      eventId,
      expiresAt: nowSeconds + windowSeconds,
    };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: record,
          // TTL deletes lazily, so an expired record still present must not block a new publish.
          ConditionExpression: 'attribute_not_exists(id) OR expiresAt <= :now',
          ExpressionAttributeValues: { ':now': nowSeconds },
        }),
      );
      return eventId;
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
    }
    const existing = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { fleetId, id: record.id }, ConsistentRead: true }),
    );
    return (existing.Item as IdempotencyRecord | undefined)?.eventId ?? eventId;
  }

  /** Events of a fleet with `since <= timestamp <= until` (ISO-8601, UTC), oldest first. */
  async listByTime(
    fleetId: string,
    range: { since: string; until: string },
    options: { limit: number; cursor?: string },
  ): Promise<Page<EventRecord>> {
    const result = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: EVENTS_BY_TIME_INDEX,
        KeyConditionExpression: 'fleetId = :fleetId AND timeKey BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':fleetId': fleetId,
          ':from': range.since,
          // '~' sorts after every id character, so events stamped exactly `until` are included.
          ':to': `${range.until}#~`,
        },
        Limit: options.limit,
        ExclusiveStartKey: startKeyFromCursor(options.cursor, TIME_INDEX_KEYS, { fleetId }),
      }),
    );
    return { items: (result.Items ?? []).map(fromItem), nextCursor: encodeCursor(result.LastEvaluatedKey) };
  }
}

export { eventTimeKey } from '../core/event-record';
