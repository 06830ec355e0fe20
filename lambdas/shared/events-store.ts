import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventRecord, IdempotencyRecord } from '../core/records';
import { EVENT_TIME_ATTRIBUTE } from '../core/table-schema';
import type { Page } from './cursor';
import { isConditionalCheckFailure } from './dynamo-errors';
import { batchGetByKey, fanOutMarkerId, itemKey, queryEventsByTime } from './event-time-index';

const IDEMPOTENCY_PREFIX = 'idem#';

export type PutEventResult = { created: true; event: EventRecord } | { created: false; event: EventRecord };

/**
 * The table item of an event: `data` is stored as its JSON text. As a DynamoDB map it could not hold
 * every JSON document a producer may send: the document client refuses numbers beyond 2^53,
 * DynamoDB refuses magnitudes outside 1e-130..1e126 and maps nested deeper than 32 levels.
 * The time sort key is written as `eventTime` (the narrow index's key), never as `timeKey`: an
 * item with `timeKey` would be copied in full into the first by-time index.
 */
type EventItem = Omit<EventRecord, 'data' | 'timeKey'> & { dataJson?: string; data?: unknown; timeKey?: string; eventTime?: string };

function toItem(event: EventRecord): EventItem {
  const { data, timeKey, ...rest } = event;
  return { ...rest, [EVENT_TIME_ATTRIBUTE]: timeKey, dataJson: JSON.stringify(data ?? null) };
}

/** Items written before `dataJson` existed keep `data` as a map; those written before `eventTime`, `timeKey`. */
function fromItem(item: Record<string, unknown>, marker?: Record<string, unknown>): EventRecord {
  const { dataJson, data, eventTime, timeKey, ...rest } = item as EventItem;
  const fannedOutAt = rest.fannedOutAt ?? (marker?.fannedOutAt as string | undefined);
  return {
    ...rest,
    timeKey: timeKey ?? eventTime,
    data: typeof dataJson === 'string' ? (JSON.parse(dataJson) as unknown) : data,
    ...(fannedOutAt === undefined ? {} : { fannedOutAt }),
  } as EventRecord;
}

/**
 * What every events store promises; the handlers declare the slice they use (`Pick<…>`), and
 * test/support/conformance/events-store.ts checks each implementation against this contract
 * (the DynamoDB one below on dynalite, the in-memory one the unit tests use).
 */
export interface EventsStorePort {
  putIfAbsent(event: EventRecord): Promise<PutEventResult>;
  get(fleetId: string, id: string): Promise<EventRecord | undefined>;
  /** `expiresAt`: the event's own TTL, so the record of its fan-out goes with it. */
  markFannedOut(fleetId: string, id: string, now: string, expiresAt: number): Promise<void>;
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

  /** The event with its fan-out marker: two strongly consistent reads of a few bytes and one item, at once. */
  async get(fleetId: string, id: string): Promise<EventRecord | undefined> {
    const [event, marker] = await Promise.all([
      this.doc.send(new GetCommand({ TableName: this.tableName, Key: { fleetId, id }, ConsistentRead: true })),
      this.doc.send(new GetCommand({ TableName: this.tableName, Key: { fleetId, id: fanOutMarkerId(id) }, ConsistentRead: true })),
    ]);
    return event.Item === undefined ? undefined : fromItem(event.Item, marker?.Item);
  }

  /**
   * Records that every delivery message of the event was sent, so a repeat publish is a no-op. A
   * small item of its own (one write unit) rather than an update of the event, which would rewrite
   * the whole event. Unconditional: the fan-out marks only an event it has just stored or read.
   */
  async markFannedOut(fleetId: string, id: string, now: string, expiresAt: number): Promise<void> {
    await this.doc.send(
      new PutCommand({ TableName: this.tableName, Item: { fleetId, id: fanOutMarkerId(id), fannedOutAt: now, expiresAt } }),
    );
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

  /**
   * Events of a fleet with `since <= timestamp <= until` (ISO-8601, UTC), oldest first. The time
   * index holds keys only, so the page's events and fan-out markers are then read by key
   * (BatchGetItem); an event that expired in between is left out.
   */
  async listByTime(
    fleetId: string,
    range: { since: string; until: string },
    options: { limit: number; cursor?: string },
  ): Promise<Page<EventRecord>> {
    const page = await queryEventsByTime(this.doc, this.tableName, fleetId, {
      since: range.since,
      until: range.until,
      ascending: true,
      limit: options.limit,
      ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
    });
    // The events the narrow index only names, and every event's fan-out marker, in one set of reads.
    const keys = page.items.flatMap((item) => [
      ...(item.fromLegacyIndex ? [] : [{ fleetId, id: item.id }]),
      { fleetId, id: fanOutMarkerId(item.id) },
    ]);
    const found = await batchGetByKey(this.doc, this.tableName, keys);
    const items: EventRecord[] = [];
    for (const { fromLegacyIndex, ...item } of page.items) {
      const stored = fromLegacyIndex ? item : found.get(itemKey(fleetId, item.id));
      if (stored !== undefined) items.push(fromItem(stored, found.get(itemKey(fleetId, fanOutMarkerId(item.id)))));
    }
    return { items, ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }) };
  }
}

export { eventTimeKey } from '../core/event-record';
