import type { EventRecord } from '../../../lambdas/core/records';
import { encodeCursor, startKeyFromCursor, type Page } from '../../../lambdas/shared/cursor';
import type { EventsStorePort, PutEventResult } from '../../../lambdas/shared/events-store';

interface IdempotencyEntry {
  eventId: string;
  expiresAt: number;
}

/**
 * The events store in memory, for fast tests of code that stores and reads events. It keeps the
 * DynamoDB store's contract (test/support/conformance/events-store.ts runs against both): data
 * goes through JSON as the table's `dataJson` does, expired idempotency records no longer bind,
 * and by-time pages use the same cursors.
 */
export class MemoryEventsStore implements EventsStorePort {
  private readonly events = new Map<string, EventRecord>();
  private readonly idempotency = new Map<string, IdempotencyEntry>();

  async putIfAbsent(event: EventRecord): Promise<PutEventResult> {
    const key = this.key(event.fleetId, event.id);
    const existing = this.events.get(key);
    if (existing !== undefined) return { created: false, event: copy(existing) };
    this.events.set(key, copy(event));
    return { created: true, event };
  }

  async get(fleetId: string, id: string): Promise<EventRecord | undefined> {
    const event = this.events.get(this.key(fleetId, id));
    return event === undefined ? undefined : copy(event);
  }

  async markFannedOut(fleetId: string, id: string, now: string): Promise<void> {
    const event = this.events.get(this.key(fleetId, id));
    if (event !== undefined) event.fannedOutAt = now;
  }

  async claimIdempotencyKey(fleetId: string, key: string, eventId: string, nowSeconds: number, windowSeconds: number): Promise<string> {
    const bindingKey = this.key(fleetId, key);
    const existing = this.idempotency.get(bindingKey);
    if (existing !== undefined && existing.expiresAt > nowSeconds) return existing.eventId;
    this.idempotency.set(bindingKey, { eventId, expiresAt: nowSeconds + windowSeconds });
    return eventId;
  }

  async listByTime(
    fleetId: string,
    range: { since: string; until: string },
    options: { limit: number; cursor?: string },
  ): Promise<Page<EventRecord>> {
    const start = startKeyFromCursor(options.cursor, ['fleetId', 'id', 'timeKey'], { fleetId });
    const to = `${range.until}#~`;
    const matching = [...this.events.values()]
      .filter((event) => event.fleetId === fleetId && event.timeKey >= range.since && event.timeKey <= to)
      .sort((a, b) => (a.timeKey < b.timeKey ? -1 : a.timeKey > b.timeKey ? 1 : 0))
      .filter((event) => start === undefined || event.timeKey > (start.timeKey as string));
    const items = matching.slice(0, options.limit);
    const last = items.at(-1);
    // Like a DynamoDB Query with Limit: a full page always carries a cursor, even when it is the last.
    const nextCursor =
      items.length === options.limit && last !== undefined
        ? encodeCursor({ fleetId, id: last.id, timeKey: last.timeKey })
        : undefined;
    return { items: items.map(copy), nextCursor };
  }

  private key(fleetId: string, id: string): string {
    return `${fleetId}\u0000${id}`;
  }
}

function copy(event: EventRecord): EventRecord {
  return JSON.parse(JSON.stringify(event)) as EventRecord;
}
