import type { DeliveryEvent } from './records';

/**
 * The exact bytes POSTed and signed: `{id, type, timestamp, fleetId, data}` in that order. Built
 * once per attempt and never re-serialised, so the signature covers what the receiver reads.
 */
export function buildEnvelope(fleetId: string, event: DeliveryEvent): string {
  // JSON.stringify would drop an undefined `data`; receivers are promised the key.
  const data = event.data === undefined ? null : event.data;
  return JSON.stringify({ id: event.id, type: event.type, timestamp: event.timestamp, fleetId, data });
}
