import { BatchGetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EVENT_TIME_ATTRIBUTE, EVENTS_BY_EVENT_TIME_INDEX, EVENTS_BY_TIME_INDEX } from '../core/table-schema';
import { encodeCursor, InvalidCursorError, startKeyFromCursor, type Page } from './cursor';
import { sortKeyRange } from './key-range';

/**
 * Reads a fleet's events by time across both by-time indexes of the events table: the narrow
 * index every event is written to now, and the first, full one that still holds the events stored
 * before the narrow one existed (until their retention ends). Each event is in exactly one of
 * them, so reading one after the other yields every event once. The phase travels in the cursor.
 */

type Phase = 'narrow' | 'legacy';

interface PhaseSpec {
  readonly index: string;
  readonly sortKey: string;
  /** First character of a cursor in this phase; what follows is the index's own cursor, or nothing at its start. */
  readonly tag: string;
}

const PHASES: Record<Phase, PhaseSpec> = {
  narrow: { index: EVENTS_BY_EVENT_TIME_INDEX, sortKey: EVENT_TIME_ATTRIBUTE, tag: 'N' },
  legacy: { index: EVENTS_BY_TIME_INDEX, sortKey: 'timeKey', tag: 'L' },
};

export interface TimeIndexQuery {
  /** ISO-8601 UTC bounds on the event time, both included. */
  since?: string;
  until?: string;
  /** Only events of this type (a filter: a page may hold fewer than `limit`). */
  type?: string;
  /** Oldest first (replay) or newest first (the event list). */
  ascending: boolean;
  limit: number;
  cursor?: string;
  /** Attributes to read from the full index (the narrow one is read whole: it is small). */
  legacyProjection?: readonly string[];
}

/** An index item: the event's keys, its time sort key, and what that index projects. */
export type TimeIndexItem = Record<string, unknown> & { fleetId: string; id: string; fromLegacyIndex: boolean };

/**
 * Newest first, the events stored since the narrow index exists come before the older ones; oldest
 * first, the other way round. Either way each phase is in time order and the phases barely overlap
 * (only events whose producer time predates the upgrade yet arrived after it).
 */
function phaseOrder(ascending: boolean): readonly Phase[] {
  return ascending ? ['legacy', 'narrow'] : ['narrow', 'legacy'];
}

function decodePhaseCursor(fleetId: string, cursor: string | undefined, order: readonly Phase[]): { phase: Phase; startKey?: Record<string, string> } {
  const first = order[0] as Phase;
  if (cursor === undefined) return { phase: first };
  // A cursor issued before the narrow index existed is the full index's own (base64url JSON: `eyJ…`).
  const phase = (Object.keys(PHASES) as Phase[]).find((name) => PHASES[name].tag === cursor[0]) ?? (cursor.startsWith('e') ? 'legacy' : undefined);
  if (phase === undefined) throw new InvalidCursorError();
  const rest = cursor[0] === PHASES[phase].tag ? cursor.slice(1) : cursor;
  if (rest === '') return { phase };
  const spec = PHASES[phase];
  const startKey = startKeyFromCursor(rest, ['fleetId', 'id', spec.sortKey], { fleetId });
  return startKey === undefined ? { phase } : { phase, startKey };
}

function keyCondition(query: TimeIndexQuery): { expression: string; values: Record<string, string> } {
  // '~' sorts after every id character, so events stamped exactly `until` are included.
  const range = sortKeyRange('#sk', query.since, query.until === undefined ? undefined : `${query.until}#~`);
  return { expression: `fleetId = :fleetId${range.condition}`, values: range.values };
}

export async function queryEventsByTime(
  doc: DynamoDBDocumentClient,
  tableName: string,
  fleetId: string,
  query: TimeIndexQuery,
): Promise<Page<TimeIndexItem>> {
  const order = phaseOrder(query.ascending);
  let { phase, startKey } = decodePhaseCursor(fleetId, query.cursor, order);
  const items: TimeIndexItem[] = [];
  for (;;) {
    const spec = PHASES[phase];
    const condition = keyCondition(query);
    // DynamoDB refuses a name the expressions do not use.
    const names: Record<string, string> = query.since !== undefined || query.until !== undefined ? { '#sk': spec.sortKey } : {};
    if (query.type !== undefined) names['#type'] = 'type';
    const projection = phase === 'legacy' ? query.legacyProjection : undefined;
    if (projection !== undefined) projection.forEach((name, index) => (names[`#p${index}`] = name));
    const result = await doc.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: spec.index,
        KeyConditionExpression: condition.expression,
        ...(query.type !== undefined ? { FilterExpression: '#type = :type' } : {}),
        ...(projection !== undefined ? { ProjectionExpression: projection.map((_, index) => `#p${index}`).join(', ') } : {}),
        ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
        ExpressionAttributeValues: { ':fleetId': fleetId, ...condition.values, ...(query.type !== undefined ? { ':type': query.type } : {}) },
        ScanIndexForward: query.ascending,
        Limit: query.limit - items.length,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of result.Items ?? []) items.push({ ...(item as TimeIndexItem), fromLegacyIndex: phase === 'legacy' });
    if (result.LastEvaluatedKey !== undefined) return { items, nextCursor: `${spec.tag}${encodeCursor(result.LastEvaluatedKey) ?? ''}` };
    const next = order[order.indexOf(phase) + 1];
    if (next === undefined) return { items };
    if (items.length >= query.limit) return { items, nextCursor: PHASES[next].tag };
    phase = next;
    startKey = undefined;
  }
}

/** BatchGetItem accepts at most 100 keys per call (Amazon DynamoDB API Reference, BatchGetItem). */
export const BATCH_GET_MAX_KEYS = 100;

export interface BatchGetOptions {
  projection?: readonly string[];
  consistent?: boolean;
  /** Rounds for keys DynamoDB left unprocessed (throttling, the 16 MB response limit). */
  retries?: number;
  baseDelayMs?: number;
}

/**
 * Reads items by key, 100 keys a call, re-requesting UnprocessedKeys with backoff as the
 * BatchGetItem reference advises. Returns the items found keyed by `fleetId\0id`; a key DynamoDB
 * still leaves unprocessed after the retries is an error, never a silently shorter answer.
 */
export async function batchGetByKey(
  doc: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly { fleetId: string; id: string }[],
  options: BatchGetOptions = {},
): Promise<Map<string, Record<string, unknown>>> {
  const { retries = 5, baseDelayMs = 25 } = options;
  const found = new Map<string, Record<string, unknown>>();
  const unique = [...new Map(keys.map((key) => [itemKey(key.fleetId, key.id), { fleetId: key.fleetId, id: key.id }])).values()];
  const names: Record<string, string> = {};
  options.projection?.forEach((name, index) => (names[`#p${index}`] = name));
  for (let start = 0; start < unique.length; start += BATCH_GET_MAX_KEYS) {
    let pending: Record<string, unknown>[] = unique.slice(start, start + BATCH_GET_MAX_KEYS);
    for (let round = 0; pending.length > 0; round += 1) {
      if (round > retries) throw new Error(`BatchGetItem left ${pending.length} key(s) unprocessed after ${retries} retries`);
      if (round > 0) await sleep(baseDelayMs * 2 ** (round - 1));
      const result = await doc.send(
        new BatchGetCommand({
          RequestItems: {
            [tableName]: {
              Keys: pending,
              ...(options.consistent === true ? { ConsistentRead: true } : {}),
              ...(options.projection !== undefined
                ? { ProjectionExpression: options.projection.map((_, index) => `#p${index}`).join(', '), ExpressionAttributeNames: names }
                : {}),
            },
          },
        }),
      );
      for (const item of result?.Responses?.[tableName] ?? []) found.set(itemKey(item.fleetId as string, item.id as string), item);
      pending = (result?.UnprocessedKeys?.[tableName]?.Keys ?? []) as Record<string, unknown>[];
    }
  }
  return found;
}

export function itemKey(fleetId: string, id: string): string {
  return `${fleetId}\u0000${id}`;
}

/**
 * The item that records an event's fan-out finished: a few bytes (one write unit) beside the event
 * instead of a rewrite of the whole event. `#` never occurs in an event id, and idempotency
 * records start with `idem#`, so this key is no other item's.
 */
export function fanOutMarkerId(eventId: string): string {
  return `fan#${eventId}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
