import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventRecord } from '../core/records';
import type { Page } from './cursor';
import { batchGetByKey, fanOutMarkerId, itemKey, queryEventsByTime } from './event-time-index';

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
 * The by-time index carries what a summary shows but `fannedOutAt`, which is read from the page's
 * fan-out markers by key. Idempotency records and markers have no time key, so the sparse
 * by-time indexes never list them.
 */
export class EventLog {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async list(fleetId: string, filter: EventListFilter): Promise<Page<EventSummary>> {
    const page = await queryEventsByTime(this.doc, this.tableName, fleetId, {
      ascending: false,
      limit: filter.limit,
      ...(filter.since === undefined ? {} : { since: filter.since }),
      ...(filter.until === undefined ? {} : { until: filter.until }),
      ...(filter.type === undefined ? {} : { type: filter.type }),
      ...(filter.cursor === undefined ? {} : { cursor: filter.cursor }),
      legacyProjection: ['fleetId', 'id', 'type', 'timestamp', 'source', 'fannedOutAt', 'timeKey'],
    });
    const markers = await batchGetByKey(
      this.doc,
      this.tableName,
      page.items.map((item) => ({ fleetId, id: fanOutMarkerId(item.id) })),
      { projection: ['fleetId', 'id', 'fannedOutAt'] },
    );
    const items = page.items.map((item): EventSummary => {
      const sortKey = (item.eventTime ?? item.timeKey) as string;
      const fannedOutAt = (item.fannedOutAt ?? markers.get(itemKey(fleetId, fanOutMarkerId(item.id)))?.fannedOutAt) as string | undefined;
      return {
        fleetId,
        id: item.id,
        type: item.type as string,
        // The sort key is `<timestamp>#<id>`, and an id holds no `#`.
        timestamp: (item.timestamp as string | undefined) ?? sortKey.slice(0, sortKey.lastIndexOf('#')),
        source: item.source as EventSummary['source'],
        ...(fannedOutAt === undefined ? {} : { fannedOutAt }),
      };
    });
    return { items, ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }) };
  }
}
