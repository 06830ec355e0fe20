import { ClientError } from '../core/errors';
import { newEventId } from '../core/ids';
import { queueSizeProblem } from '../core/queue-encoding';
import type { EventRecord, PublishedEventMessage } from '../core/records';
import { eventRecord } from '../core/event-record';
import { sendJson } from '../shared/queue-sender';
import type { RouteDeps } from './deps';

const DAY_SECONDS = 86_400;
/** A repeat publish with the same idempotency key within this window is a no-op. */
export const IDEMPOTENCY_WINDOW_SECONDS = DAY_SECONDS;

export interface PublishRequest {
  fleetId: string;
  type: string;
  data: unknown;
  /** The producer's own event id. */
  id?: string;
  /** Binds the first event id to this key for 24 h; a repeat returns that id and sends nothing new. */
  idempotencyKey?: string;
}

export interface PublishOutcome {
  id: string;
  /** False when the event was already stored (a repeat of the key or id): nothing new was stored. */
  created: boolean;
  /** The stored event's type and data, which a repeat is compared with. */
  stored: Pick<EventRecord, 'type' | 'data'>;
}

/**
 * The one publish path of the API (`POST /fleets/{fleetId}/events` and verified inbound
 * requests): claim the idempotency key, store the event once, and put it on the events queue
 * unless its fan-out is already recorded. Safe to repeat after a crash at any step.
 */
export async function publishEvent(
  deps: Pick<RouteDeps, 'events' | 'sqs' | 'queues' | 'settings' | 'now'>,
  request: PublishRequest,
): Promise<PublishOutcome> {
  const { fleetId } = request;
  // Checked before storing: an event is stored only when its queue messages can carry it.
  const tooLargeForQueue = queueSizeProblem(request.data);
  if (tooLargeForQueue !== undefined) {
    throw new ClientError(413, 'payload_too_large', 'The data is too large for the delivery queue.', [{ field: 'data', reason: tooLargeForQueue }]);
  }
  const now = deps.now();
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const proposed = request.id ?? newEventId(now.getTime());
  let eventId = proposed;
  if (request.idempotencyKey !== undefined) {
    eventId = await deps.events.claimIdempotencyKey(fleetId, request.idempotencyKey, proposed, nowSeconds, IDEMPOTENCY_WINDOW_SECONDS);
  }
  const record = eventRecord(
    { fleetId, id: eventId, type: request.type, timestamp: now.toISOString(), data: request.data, source: 'api' },
    now,
    deps.settings,
  );
  const { event, created } = await deps.events.putIfAbsent(record);
  // A stored event without fannedOutAt may have lost its message in a crash: send it again.
  if (event.fannedOutAt === undefined) {
    const message: PublishedEventMessage = {
      v: 1,
      kind: 'event',
      fleetId,
      event: { id: event.id, type: event.type, timestamp: event.timestamp, data: event.data },
    };
    await sendJson(deps.sqs, deps.queues.eventsUrl, message);
  }
  return { id: event.id, created, stored: { type: event.type, data: event.data } };
}
