import {
  BatchGetCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { EventRecord, IdempotencyRecord } from '../core/records';
import { EVENTS_BY_TIME_INDEX, EVENTS_TTL_ATTRIBUTE } from '../core/table-schema';
import { encodeCursor, startKeyFromCursor, type Page } from './cursor';
import { isConditionalCheckFailure } from './dynamo-errors';

const IDEMPOTENCY_PREFIX = 'idem#';
/** Keys of the by-time index's LastEvaluatedKey: the table's keys plus the index sort key. */
const TIME_INDEX_KEYS = ['fleetId', 'id', 'ts'] as const;
/** BatchGetItem takes at most 100 keys per call. */
const BATCH_GET_KEYS = 100;
/** Rounds for keys BatchGetItem leaves unprocessed (throttling) before the caller's retry takes over. */
const BATCH_GET_ROUNDS = 5;

export type PutEventResult = { created: true; event: EventRecord } | { created: false; event: EventRecord };

/**
 * The table item of an event. Attribute names are short on purpose: an on-demand write is billed
 * per started KB of the item, and a 1 KB envelope's event stays within one write unit only if
 * names and keys leave room for the data. `d` holds `data` as JSON text: as a DynamoDB map it could
 * not hold every JSON document a producer may send (the document client refuses numbers beyond
 * 2^53, DynamoDB magnitudes outside 1e-130..1e126 and maps nested deeper than 32 levels).
 */
interface EventItem {
  fleetId: string;
  id: string;
  /** timestamp; the by-time index's sort key. */
  ts: string;
  /** type */
  t: string;
  /** JSON text of data */
  d: string;
  /** source */
  src: EventRecord['source'];
  /** expiresAt (TTL) */
  exp: number;
}

function toItem(event: EventRecord): EventItem {
  return {
    fleetId: event.fleetId,
    id: event.id,
    ts: event.timestamp,
    t: event.type,
    d: JSON.stringify(event.data ?? null),
    src: event.source,
    [EVENTS_TTL_ATTRIBUTE]: event.expiresAt,
  };
}

function fromItem(item: Record<string, unknown>): EventRecord {
  const stored = item as unknown as EventItem;
  return {
    fleetId: stored.fleetId,
    id: stored.id,
    type: stored.t,
    timestamp: stored.ts,
    data: JSON.parse(stored.d) as unknown,
    source: stored.src,
    expiresAt: stored.exp,
  };
}

/**
 * Events table access: stored once per (fleet, id) when its fan-out is done, read back by time for
 * replay. The by-time index holds keys only (one small index write per event instead of a copy of
 * the event); a replay page reads the events themselves by key with BatchGetItem.
 */
export class EventsStore {
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

  /**
   * Binds an idempotency key to an event id and time for its window. Returns the binding made
   * first: the caller's on the first call, the original one on a repeat inside the window.
   */
  async claimIdempotencyKey(
    fleetId: string,
    key: string,
    event: { eventId: string; timestamp: string },
    nowSeconds: number,
    windowSeconds: number,
  ): Promise<{ eventId: string; timestamp: string }> {
    const record: IdempotencyRecord = {
      fleetId,
      id: `${IDEMPOTENCY_PREFIX}${key}`,
      eventId: event.eventId,
      timestamp: event.timestamp,
      expiresAt: nowSeconds + windowSeconds,
    };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          // `at`, not `ts`: an idempotency record must stay out of the by-time index, which holds events only.
          Item: { fleetId, id: record.id, eventId: record.eventId, at: record.timestamp, [EVENTS_TTL_ATTRIBUTE]: record.expiresAt },
          // TTL deletes lazily, so an expired record still present must not block a new publish.
          ConditionExpression: 'attribute_not_exists(id) OR #exp <= :now',
          ExpressionAttributeNames: { '#exp': EVENTS_TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':now': nowSeconds },
        }),
      );
      return event;
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
    }
    const existing = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { fleetId, id: record.id }, ConsistentRead: true }),
    );
    const bound = existing.Item as { eventId?: string; at?: string } | undefined;
    if (bound?.eventId === undefined) return event;
    return { eventId: bound.eventId, timestamp: bound.at ?? event.timestamp };
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
        KeyConditionExpression: 'fleetId = :fleetId AND ts BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':fleetId': fleetId, ':from': range.since, ':to': range.until },
        Limit: options.limit,
        ExclusiveStartKey: startKeyFromCursor(options.cursor, TIME_INDEX_KEYS, { fleetId }),
      }),
    );
    const keys = (result.Items ?? []).map((item) => ({ fleetId: item.fleetId as string, id: item.id as string }));
    return { items: await this.getMany(keys), nextCursor: encodeCursor(result.LastEvaluatedKey) };
  }

  /** The events of `keys` in that order; keys whose event expired meanwhile are skipped. */
  private async getMany(keys: readonly { fleetId: string; id: string }[]): Promise<EventRecord[]> {
    const found = new Map<string, EventRecord>();
    for (let start = 0; start < keys.length; start += BATCH_GET_KEYS) {
      let pending: Record<string, unknown>[] = keys.slice(start, start + BATCH_GET_KEYS);
      for (let round = 0; pending.length > 0; round += 1) {
        if (round === BATCH_GET_ROUNDS) throw new Error(`BatchGetItem left ${pending.length} event(s) unprocessed`);
        if (round > 0) await sleep(25 * 2 ** round);
        const result = await this.doc.send(
          // Eventually consistent: half the read units, and an index entry is itself eventually consistent.
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending } } }),
        );
        for (const item of result.Responses?.[this.tableName] ?? []) found.set(`${item.fleetId as string}\n${item.id as string}`, fromItem(item));
        pending = result.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return keys.flatMap((key) => found.get(`${key.fleetId}\n${key.id}`) ?? []);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
