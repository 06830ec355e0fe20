import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventRecord } from '../core/records';
import { EVENTS_BY_TIME_INDEX } from '../core/table-schema';
import { encodeCursor, startKeyFromCursor, type Page } from './cursor';

export type EventSummary = Pick<EventRecord, 'fleetId' | 'id' | 'type' | 'timestamp' | 'source' | 'fannedOutAt'>;

export interface EventListFilter {
  type?: string;
  /** ISO-8601 UTC bounds on the event's timestamp. */
  since?: string;
  until?: string;
  limit: number;
  cursor?: string;
}

/**
 * The console's read of the events table: a fleet's stored events, newest first, without their
 * data (a page stays small however large the payloads are; the detail route reads one event).
 * Idempotency records have no `timeKey`, so the sparse by-time index never lists them.
 */
export class EventLog {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async list(fleetId: string, filter: EventListFilter): Promise<Page<EventSummary>> {
    const values: Record<string, unknown> = { ':fleetId': fleetId };
    let keyCondition = 'fleetId = :fleetId';
    if (filter.since !== undefined && filter.until !== undefined) keyCondition += ' AND timeKey BETWEEN :since AND :until';
    else if (filter.since !== undefined) keyCondition += ' AND timeKey >= :since';
    else if (filter.until !== undefined) keyCondition += ' AND timeKey <= :until';
    if (filter.since !== undefined) values[':since'] = filter.since;
    if (filter.until !== undefined) values[':until'] = `${filter.until}#~`;
    if (filter.type !== undefined) values[':type'] = filter.type;
    const result = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: EVENTS_BY_TIME_INDEX,
        KeyConditionExpression: keyCondition,
        ...(filter.type !== undefined ? { FilterExpression: '#type = :type' } : {}),
        ProjectionExpression: 'fleetId, id, #type, #timestamp, #source, fannedOutAt, timeKey',
        ExpressionAttributeNames: { '#type': 'type', '#timestamp': 'timestamp', '#source': 'source' },
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        Limit: filter.limit,
        ExclusiveStartKey: startKeyFromCursor(filter.cursor, ['fleetId', 'id', 'timeKey'], { fleetId }),
      }),
    );
    const items = (result.Items ?? []).map((item) => {
      const { timeKey: _timeKey, ...summary } = item;
      return summary as EventSummary;
    });
    return { items, nextCursor: encodeCursor(result.LastEvaluatedKey) };
  }
}
