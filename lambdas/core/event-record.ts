import type { EventRecord } from './records';
import type { DeploymentSettings } from './settings';

const DAY_SECONDS = 86_400;

/**
 * The TTL (epoch seconds) of what is kept for an event's retention: the event itself and its
 * delivery records. Counted from when Hookline stored it, not from the producer's timestamp.
 */
export function retentionExpiry(at: Date, settings: Pick<DeploymentSettings, 'eventRetentionDays'>): number {
  return Math.floor(at.getTime() / 1000) + settings.eventRetentionDays * DAY_SECONDS;
}

/** The by-time index sort key of an event: time first, so replay reads a range in order. */
export function eventTimeKey(timestamp: string, id: string): string {
  return `${timestamp}#${id}`;
}

/** The stored form of an event, whichever path it came by (API publish, bus, inbound, test). */
export function eventRecord(
  event: Pick<EventRecord, 'fleetId' | 'id' | 'type' | 'timestamp' | 'data' | 'source'>,
  storedAt: Date,
  settings: Pick<DeploymentSettings, 'eventRetentionDays'>,
): EventRecord {
  return {
    fleetId: event.fleetId,
    id: event.id,
    type: event.type,
    timestamp: event.timestamp,
    data: event.data,
    timeKey: eventTimeKey(event.timestamp, event.id),
    source: event.source,
    expiresAt: retentionExpiry(storedAt, settings),
  };
}
