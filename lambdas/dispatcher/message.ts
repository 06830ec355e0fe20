// A namespace import, not the exported `z` object: that one holds every export (all locales) and defeats tree-shaking.
import * as z from 'zod/mini';
import { PermanentError } from '../core/errors';
import { eventDataDepthProblem, MAX_EVENT_DATA_DEPTH } from '../core/event-data';
import { isId } from '../core/ids';
import type { DeliveryMessage } from '../core/records';
import '../core/zod-messages';

// zod/mini: the same checks as classic zod at a twentieth of the bundle; every message of the hot path is parsed here.
const isoTime = z.string().check(z.refine((value) => Number.isFinite(Date.parse(value)), 'must be an ISO-8601 time'));
const text = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));

const deliveryMessageSchema = z.object({
  v: z.literal(1),
  deliveryId: z.string().check(z.refine((value) => isId('dlv', value), 'must be a delivery id')),
  fleetId: text(1, 128),
  subscriptionId: text(1, 64),
  event: z.object({
    id: text(1, 128),
    type: text(1, 256),
    timestamp: isoTime,
    // Signing serialises it recursively: a document nested deeper than any event could be would overflow the stack.
    data: z.unknown().check(z.refine((data) => eventDataDepthProblem(data) === undefined, `must nest at most ${MAX_EVENT_DATA_DEPTH} levels`)),
  }),
  reason: z.enum(['fanout', 'retry', 'replay', 'test']),
  // `0` (the fan-out's round) or a ULID.
  round: z.optional(z.string().check(z.regex(/^[0-9A-HJKMNP-TV-Z]{1,26}$/, 'must be a round id'))),
  attempt: z.optional(z.int().check(z.minimum(1), z.maximum(1_000))),
  notBefore: z.optional(isoTime),
  nonce: z.optional(text(1, 64)),
});

/** Parses a deliveries-queue body; PermanentError (set aside for the DLQ) when it is not a DeliveryMessage. */
export function parseDeliveryMessage(body: string): DeliveryMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    throw new PermanentError('message body is not JSON');
  }
  const result = deliveryMessageSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.') || '(root)'} ${issue.message}`)
      .join('; ');
    throw new PermanentError(`not a delivery message: ${problems}`);
  }
  return result.data as DeliveryMessage;
}
