import { createHash } from 'node:crypto';
import { gitlabEventName } from './gitlab';
import { isInboundEventType } from './registry';
import type { InboundProvider, ProviderId, VerifiedEvent } from './types';
import { normaliseEventName } from './util';

/**
 * The provider-independent steps of an ingest: the event type, the time-window check, the replay
 * key and the event data. Pure functions; the route in lambdas/api/inbound.ts runs them in order.
 */

/** Generic source names become event types, so they are restricted to one dotted-word segment. */
export const GENERIC_SOURCE_NAME = /^[a-z][a-z0-9_]{0,62}$/;

/** `<provider>.<event>`: `github.push`, `gitlab.merge_request`, `generic.<source name>`. */
export function inboundEventType(provider: ProviderId, eventName: string): string {
  const name = provider === 'gitlab' ? gitlabEventName(eventName) : normaliseEventName(eventName);
  const type = `${provider}.${normaliseEventName(name)}`;
  return isInboundEventType(type) ? type : `${provider}.unknown`;
}

/** Undefined when inside the window (or the provider signs no time); else the reason. */
export function timeWindowProblem(event: VerifiedEvent, nowMs: number): string | undefined {
  if (event.timestampMs === undefined || event.toleranceMs === undefined) return undefined;
  const skew = nowMs - event.timestampMs;
  if (Math.abs(skew) <= event.toleranceMs) return undefined;
  return `timestamp is ${Math.round(skew / 1000)} s from now, outside ±${event.toleranceMs / 1000} s`;
}

/**
 * What makes two requests "the same delivery": the provider's delivery id, else a hash of what
 * was signed (signature, timestamp and body, so constant tokens do not collapse distinct events).
 */
export function replayKey(sourceId: string, event: VerifiedEvent, body: Buffer): string {
  const hash = createHash('sha256');
  if (event.deliveryId !== undefined) {
    hash.update(`id\0${event.deliveryId}`, 'utf8');
  } else {
    hash.update(`sig\0${event.signature}\0${event.timestampMs ?? ''}\0`, 'utf8').update(body);
  }
  return `inbound:${sourceId}:${hash.digest('base64url')}`;
}

export interface InboundEventData {
  source: { id: string; name: string; provider: ProviderId };
  headers: Record<string, string>;
  body: unknown;
}

export function inboundEventData(
  provider: InboundProvider,
  source: { id: string; name: string },
  headers: Readonly<Record<string, string>>,
  body: unknown,
): InboundEventData {
  const kept: Record<string, string> = {};
  for (const name of ['content-type', 'user-agent', ...provider.keptHeaders]) {
    const value = headers[name];
    if (value !== undefined) kept[name] = value;
  }
  return { source: { id: source.id, name: source.name, provider: provider.id }, headers: kept, body };
}

/** The inbound event types a source makes available to subscriptions (GET /event-types). */
export function sourceEventTypes(provider: InboundProvider, sourceName: string): string[] {
  if (provider.id === 'generic') return [`generic.${sourceName}`];
  return provider.documentedEvents.map((event) => `${provider.id}.${event}`);
}
