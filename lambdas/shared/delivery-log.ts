import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { encodeTime, TIME_MAX } from 'ulid';
import type { DeliveryStatus } from '../core/records';
import { DELIVERIES_BY_FLEET_INDEX } from '../core/table-schema';
import { encodeCursor, startKeyFromCursor, type Page } from './cursor';
import type { DeliverySummary } from './deliveries-store';
import { sortKeyRange } from './key-range';

export interface FleetDeliveryFilter {
  status?: DeliveryStatus;
  eventType?: string;
  /** The HTTP status of the latest attempt. */
  httpStatus?: number;
  /** ISO-8601 bounds on the time of the delivery's event (delivery ids start with it). */
  since?: string;
  until?: string;
  limit: number;
  cursor?: string;
}

/** Upper bound of deliveries one event may list: one per subscription of its fleet at most. */
export const MAX_EVENT_DELIVERIES = 200;

/** `dlv_` + the 10-character ULID time of an instant: the prefix of every delivery id of an event at that time. */
export function deliveryIdTimePrefix(iso: string): string {
  // ULID time covers 1970 to year 10889; a bound outside it means "from the start" or "to the end".
  const millis = Math.min(Math.max(Date.parse(iso) || 0, 0), TIME_MAX);
  return `dlv_${encodeTime(millis, 10)}`;
}

/**
 * Read-only views of the deliveries table for the console: a fleet's whole log and the deliveries
 * of one event. Separate from DeliveriesStore (the delivery pipeline's writer) on purpose: these
 * are index queries only and never write.
 */
export class DeliveryLog {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * A fleet's deliveries, newest event first. Time bounds are key conditions on the id's time
   * prefix; status, event type and HTTP status are filters, so a filtered page may hold fewer than
   * `limit` items (follow nextCursor).
   */
  async listByFleet(fleetId: string, filter: FleetDeliveryFilter): Promise<Page<DeliverySummary>> {
    // '~' sorts after every Crockford character, so events of exactly `until` are included.
    const range = sortKeyRange(
      'id',
      filter.since === undefined ? undefined : deliveryIdTimePrefix(filter.since),
      filter.until === undefined ? undefined : `${deliveryIdTimePrefix(filter.until)}~`,
    );
    const values: Record<string, unknown> = { ':fleetId': fleetId, ...range.values };
    const names: Record<string, string> = {};
    const keyCondition = `fleetId = :fleetId${range.condition}`;

    const conditions: string[] = [];
    if (filter.status !== undefined) {
      conditions.push('#status = :status');
      names['#status'] = 'status';
      values[':status'] = filter.status;
    }
    if (filter.eventType !== undefined) {
      conditions.push('eventType = :eventType');
      values[':eventType'] = filter.eventType;
    }
    if (filter.httpStatus !== undefined) {
      conditions.push('httpStatusCode = :httpStatus');
      values[':httpStatus'] = filter.httpStatus;
    }
    const result = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: DELIVERIES_BY_FLEET_INDEX,
        KeyConditionExpression: keyCondition,
        ...(conditions.length > 0 ? { FilterExpression: conditions.join(' AND ') } : {}),
        ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        Limit: filter.limit,
        // The fleet is pinned: a cursor of another fleet's log is refused, not followed.
        ExclusiveStartKey: startKeyFromCursor(filter.cursor, ['id', 'fleetId'], { fleetId }),
      }),
    );
    return { items: (result.Items ?? []).map(toSummary), nextCursor: encodeCursor(result.LastEvaluatedKey) };
  }

  /**
   * Every delivery of one event: its deliveries' ids all start with the event's time, so this reads
   * only the deliveries of events of that same millisecond in this fleet.
   */
  async listByEvent(fleetId: string, event: { id: string; timestamp: string }): Promise<DeliverySummary[]> {
    const items: DeliverySummary[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: DELIVERIES_BY_FLEET_INDEX,
          KeyConditionExpression: 'fleetId = :fleetId AND begins_with(id, :prefix)',
          FilterExpression: 'eventId = :eventId',
          ExpressionAttributeValues: { ':fleetId': fleetId, ':prefix': deliveryIdTimePrefix(event.timestamp), ':eventId': event.id },
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []).map(toSummary));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined && items.length < MAX_EVENT_DELIVERIES);
    return items.slice(0, MAX_EVENT_DELIVERIES);
  }
}

function toSummary(item: Record<string, unknown>): DeliverySummary {
  const { createdKey: _createdKey, subscriptionStatus: _status, ...summary } = item;
  return summary as DeliverySummary;
}
