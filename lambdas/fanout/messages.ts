// zod/mini (a namespace import, so unused parts are tree-shaken): the fan-out bundle needs no classic zod for its messages.
import * as z from 'zod/mini';
import { isKnownEventType } from '../core/catalog';
import { PermanentError } from '../core/errors';
import { eventDataDepthProblem } from '../core/event-data';
import { findInexactNumber, inexactNumberReason } from '../core/json-numbers';
import { queueSizeProblem } from '../core/queue-encoding';
import { isDeliveryIdTime } from '../core/ids';
import type { DeliveryEvent, ReplayJobMessage } from '../core/records';
import type { DeploymentSettings } from '../core/settings';
import '../core/zod-messages';

/** Same syntax the API accepts in `/fleets/{fleetId}`. */
export const FLEET_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
/** A producer's own event id; `#` is excluded so it can never collide with the events table's `idem#` records. */
export const EVENT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** An event ready to be stored and fanned out, whichever path it came by. */
export interface IncomingEvent {
  fleetId: string;
  event: DeliveryEvent;
  source: 'api' | 'eventbridge';
}

export type EventsQueueMessage = { kind: 'event'; incoming: IncomingEvent } | { kind: 'replay'; job: ReplayJobMessage };

// Delivery ids encode the event time: one they cannot hold would fail after the event is stored.
const isoTime = z.string().check(z.refine(isDeliveryIdTime, 'must be an ISO-8601 time from 1970 on'));
const fleetId = z.string().check(z.regex(FLEET_ID_PATTERN, 'must match [A-Za-z0-9._:-]{1,128}'));
const eventId = z.string().check(z.regex(EVENT_ID_PATTERN, 'must match [A-Za-z0-9._:-]{1,128}'));
const text = (min: number, max?: number) => z.string().check(z.minLength(min), ...(max === undefined ? [] : [z.maxLength(max)]));

/** What the EventBridge rule puts on the queue (the event itself is the message body). */
const eventBridgeSchema = z.object({
  id: text(1, 256),
  'detail-type': text(1),
  source: text(1),
  time: isoTime,
  detail: z.object({ fleetId, data: z.unknown(), id: z.optional(eventId) }),
});

const publishedSchema = z.object({
  v: z.literal(1),
  kind: z.literal('event'),
  fleetId,
  event: z.object({ id: eventId, type: text(1), timestamp: isoTime, data: z.unknown() }),
});

const replaySchema = z.object({
  v: z.literal(1),
  kind: z.literal('replay'),
  fleetId,
  subscriptionId: text(1, 64),
  since: isoTime,
  until: isoTime,
  cursor: z.optional(text(1)),
});

/**
 * Parses and validates one events-queue message. Throws PermanentError naming the reason for
 * anything that retrying cannot fix (bad JSON, unknown shape, unknown type, oversized data).
 */
export function parseEventsQueueMessage(
  body: string,
  settings: Pick<DeploymentSettings, 'eventCatalog' | 'eventSource' | 'maxPayloadBytes'>,
): EventsQueueMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    throw new PermanentError('message body is not JSON');
  }
  if (typeof raw !== 'object' || raw === null) throw new PermanentError('message body is not a JSON object');
  // Refused before the event is stored, never silently rounded on its way to the receiver.
  const inexact = findInexactNumber(body);
  if (inexact !== undefined) throw new PermanentError(`${inexact.path.join('.')} ${inexactNumberReason(inexact)}`);

  let incoming: IncomingEvent;
  if ('detail-type' in raw) {
    const parsed = check(eventBridgeSchema, raw, 'EventBridge event');
    if (parsed.source !== settings.eventSource) {
      throw new PermanentError(`EventBridge source ${JSON.stringify(parsed.source)} is not ${JSON.stringify(settings.eventSource)}`);
    }
    incoming = {
      fleetId: parsed.detail.fleetId,
      source: 'eventbridge',
      event: {
        // EventBridge's own event id is stable across redeliveries of this message, so a re-run stores the same event.
        id: parsed.detail.id ?? `evt_${parsed.id}`,
        type: parsed['detail-type'],
        timestamp: new Date(parsed.time).toISOString(),
        data: parsed.detail.data,
      },
    };
  } else if ('kind' in raw && raw.kind === 'replay') {
    return { kind: 'replay', job: check(replaySchema, raw, 'replay job') as ReplayJobMessage };
  } else if ('kind' in raw && raw.kind === 'event') {
    const parsed = check(publishedSchema, raw, 'published event');
    incoming = {
      fleetId: parsed.fleetId,
      source: 'api',
      event: { ...parsed.event, timestamp: new Date(parsed.event.timestamp).toISOString() },
    };
  } else {
    throw new PermanentError('message is neither an EventBridge event, a published event nor a replay job');
  }

  const { event } = incoming;
  if (event.id.length > 128 || !EVENT_ID_PATTERN.test(event.id)) {
    throw new PermanentError(`event id ${JSON.stringify(event.id.slice(0, 140))} is not a valid event id`);
  }
  if (!isKnownEventType(event.type, settings.eventCatalog)) {
    throw new PermanentError(`event type ${JSON.stringify(event.type.slice(0, 200))} is not in the event catalog`);
  }
  if (event.data === undefined) throw new PermanentError('event has no data');
  const tooDeep = eventDataDepthProblem(event.data);
  if (tooDeep !== undefined) throw new PermanentError(`event data ${tooDeep}`);
  const size = Buffer.byteLength(JSON.stringify(event.data), 'utf8');
  if (size > settings.maxPayloadBytes) {
    throw new PermanentError(`event data is ${size} bytes, more than maxPayloadBytes ${settings.maxPayloadBytes}`);
  }
  // Stored events must be deliverable: data too large for a delivery message is refused before storing.
  const tooLargeForQueue = queueSizeProblem(event.data);
  if (tooLargeForQueue !== undefined) throw new PermanentError(`event data ${tooLargeForQueue}`);
  return { kind: 'event', incoming };
}

function check<T>(schema: z.ZodMiniType<T>, raw: unknown, what: string): T {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(root)'} ${issue.message}`)
    .join('; ');
  throw new PermanentError(`invalid ${what}: ${problems}`);
}
