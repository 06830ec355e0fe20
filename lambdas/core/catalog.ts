import { TEST_EVENT_TYPE } from './settings';
import type { FieldProblem } from './errors';
import { isInboundEventType } from './inbound/event-types';

/**
 * Whether an event of `type` may be stored and fanned out: a catalog type, or an inbound type
 * (`<provider>.<event>`, made by the inbound route from a verified provider request).
 * `webhook.test` is never in a catalog: only the test route sends it.
 */
export function isKnownEventType(type: string, catalog: readonly string[]): boolean {
  return type !== TEST_EVENT_TYPE && (catalog.includes(type) || isInboundEventType(type));
}

/**
 * Whether fan-out sends an event of `eventType` to this subscription. `webhook.test` never fans
 * out: the test route delivers it to one subscription directly.
 */
export function subscriptionMatches(sub: { enabled: boolean; events?: readonly string[] }, eventType: string): boolean {
  if (!sub.enabled || eventType === TEST_EVENT_TYPE) return false;
  return sub.events === undefined || sub.events.length === 0 || sub.events.includes(eventType);
}

/** Problems with a subscription's `events` list, one per offending entry. */
export function validateSubscriptionEvents(
  events: readonly string[],
  catalog: readonly string[],
  /** Types outside the catalog to let through (inbound types, checked against the fleet's sources elsewhere). */
  alsoAllowed: (type: string) => boolean = () => false,
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  events.forEach((type, index) => {
    const field = `events[${index}]`;
    if (type === TEST_EVENT_TYPE) {
      problems.push({ field, reason: `${TEST_EVENT_TYPE} cannot be subscribed to; it is sent only by the test route` });
    } else if (seen.has(type)) {
      problems.push({ field, reason: `duplicate event type ${JSON.stringify(type)}` });
    } else if (!catalog.includes(type) && !alsoAllowed(type)) {
      problems.push({ field, reason: `unknown event type ${JSON.stringify(type)}` });
    }
    seen.add(type);
  });
  return problems;
}
