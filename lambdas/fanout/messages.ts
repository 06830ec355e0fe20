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

type SourceSettings = Pick<DeploymentSettings, 'eventCatalog' | 'eventSource' | 'maxPayloadBytes'>;

/**
 * One kind of input the events queue carries: how to recognise its messages and how to turn one
 * into the fan-out's single internal form. Adding a source is one of these and a line in
 * EVENTS_QUEUE_SOURCES; an event it yields is checked like every other (validateIncoming).
 */
export interface EventsQueueSource {
  /** How the refusal of an unrecognised message names it ("an EventBridge event"). */
  readonly description: string;
  recognises(raw: object): boolean;
  /** Throws PermanentError naming the reason when the message is malformed. */
  parse(raw: object, settings: SourceSettings): EventsQueueMessage;
}

/** What the bus rule puts on the queue: the EventBridge event itself. */
const eventBridgeSource: EventsQueueSource = {
  description: 'an EventBridge event',
  recognises: (raw) => 'detail-type' in raw,
  parse(raw, settings) {
    const parsed = check(eventBridgeSchema, raw, 'EventBridge event');
    if (parsed.source !== settings.eventSource) {
      throw new PermanentError(`EventBridge source ${JSON.stringify(parsed.source)} is not ${JSON.stringify(settings.eventSource)}`);
    }
    const event: DeliveryEvent = {
      // EventBridge's own event id is stable across redeliveries of this message, so a re-run stores the same event.
      id: parsed.detail.id ?? `evt_${parsed.id}`,
      type: parsed['detail-type'],
      timestamp: new Date(parsed.time).toISOString(),
      data: parsed.detail.data,
    };
    return { kind: 'event', incoming: { fleetId: parsed.detail.fleetId, source: 'eventbridge', event } };
  },
};

/** What the API's publish path (and with it the inbound route) sends. */
const publishedSource: EventsQueueSource = {
  description: 'a published event',
  recognises: (raw) => 'kind' in raw && raw.kind === 'event',
  parse(raw) {
    const parsed = check(publishedSchema, raw, 'published event');
    const event = { ...parsed.event, timestamp: new Date(parsed.event.timestamp).toISOString() };
    return { kind: 'event', incoming: { fleetId: parsed.fleetId, source: 'api', event } };
  },
};

/** The rest of a large replay, handed on by the API or by the previous replay job. */
const replaySource: EventsQueueSource = {
  description: 'a replay job',
  recognises: (raw) => 'kind' in raw && raw.kind === 'replay',
  parse: (raw) => ({ kind: 'replay', job: check(replaySchema, raw, 'replay job') as ReplayJobMessage }),
};

export const EVENTS_QUEUE_SOURCES: readonly EventsQueueSource[] = [eventBridgeSource, publishedSource, replaySource];

const UNRECOGNISED = `message is neither ${EVENTS_QUEUE_SOURCES.slice(0, -1)
  .map((source) => source.description)
  .join(', ')} nor ${EVENTS_QUEUE_SOURCES.at(-1)?.description}`;

/**
 * Parses and validates one events-queue message. Throws PermanentError naming the reason for
 * anything that retrying cannot fix (bad JSON, unknown shape, unknown type, oversized data).
 */
export function parseEventsQueueMessage(body: string, settings: SourceSettings): EventsQueueMessage {
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

  const object = raw;
  const source = EVENTS_QUEUE_SOURCES.find((candidate) => candidate.recognises(object));
  if (source === undefined) throw new PermanentError(UNRECOGNISED);
  const message = source.parse(object, settings);
  if (message.kind === 'event') validateIncoming(message.incoming.event, settings);
  return message;
}

/** The checks every event passes before it is stored, whichever source it came from. */
function validateIncoming(event: DeliveryEvent, settings: SourceSettings): void {
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
