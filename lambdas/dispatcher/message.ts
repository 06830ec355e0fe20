import { z } from 'zod';
import { PermanentError } from '../core/errors';
import { eventDataDepthProblem, MAX_EVENT_DATA_DEPTH } from '../core/event-data';
import { isId } from '../core/ids';
import type { DeliveryMessage } from '../core/records';

const isoTime = z.string().refine((value) => Number.isFinite(Date.parse(value)), 'must be an ISO-8601 time');

const deliveryMessageSchema = z.object({
  v: z.literal(1),
  deliveryId: z.string().refine((value) => isId('dlv', value), 'must be a delivery id'),
  fleetId: z.string().min(1).max(128),
  subscriptionId: z.string().min(1).max(64),
  event: z.object({
    id: z.string().min(1).max(128),
    type: z.string().min(1).max(256),
    timestamp: isoTime,
    // Signing serialises it recursively: a document nested deeper than any event could be would overflow the stack.
    data: z.unknown().refine((data) => eventDataDepthProblem(data) === undefined, `must nest at most ${MAX_EVENT_DATA_DEPTH} levels`),
  }),
  reason: z.enum(['fanout', 'retry', 'replay', 'test']),
  // `0` (the fan-out's round) or a ULID.
  round: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{1,26}$/, 'must be a round id').optional(),
  attempt: z.number().int().min(1).max(1_000).optional(),
  notBefore: isoTime.optional(),
  nonce: z.string().min(1).max(64).optional(),
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
