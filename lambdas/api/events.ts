import { badRequest, conflict, payloadTooLarge } from '../core/errors';
import type { EventRecord, ReplayJobMessage } from '../core/records';
import { runReplay } from '../shared/replay';
import { loadSubscription, requireEnabled } from './access';
import type { RouteDeps } from './deps';
import { publishEvent } from './publish';
import { defineRoute, type RouteSpec } from './route';
import type { ApiSchemas, PublishInput } from './schemas';
import { parseInput } from './validation';
import * as z from 'zod';

const DAY_SECONDS = 86_400;
export { IDEMPOTENCY_WINDOW_SECONDS } from './publish';
/** Clock skew tolerated for a replay's `until` that is slightly ahead of ours. */
export const REPLAY_FUTURE_SKEW_MS = 60_000;
export const DEFAULT_REPLAY_MAX_PAGES = 5;

export function eventRoutes(deps: RouteDeps, schemas: ApiSchemas): RouteSpec[] {
  const { settings } = deps;

  const publish = defineRoute<undefined, PublishInput>({
    method: 'POST',
    path: '/fleets/{fleetId}/events',
    operationId: 'publishEvent',
    summary: 'Publish an event',
    description:
      'Stores the event and fans it out to every matching subscription of the fleet. An `idempotency-key` ' +
      'header or an `id` makes a repeat within 24 hours return the same event id with `duplicate: true` and no ' +
      'second fan-out; a repeat with another `type` or `data` is refused with 409.',
    tag: 'Events',
    resource: 'fleet',
    body: schemas.PublishRequest,
    headers: z.object({ 'idempotency-key': schemas.IdempotencyKey.optional() }),
    responses: [{ status: 202, description: 'Accepted for delivery.', schema: schemas.PublishResult }],
    async handle({ params, body, request }) {
      const fleetId = params.fleetId as string;
      const rawKey = request.headers['idempotency-key'];
      const key = rawKey === undefined ? undefined : parseInput(schemas.IdempotencyKey, rawKey, 'header', 'idempotency-key');
      const dataBytes = Buffer.byteLength(JSON.stringify(body.data), 'utf8');
      if (dataBytes > settings.maxPayloadBytes) throw payloadTooLarge(settings.maxPayloadBytes, 'data');
      const published = await publishEvent(deps, {
        fleetId,
        type: body.type,
        data: body.data,
        ...(body.id === undefined ? {} : { id: body.id }),
        ...(key === undefined ? {} : { idempotencyKey: key }),
      });
      // A repeat must not pass silently for a new event, whose type or data would never be delivered.
      if (!published.created) refuseChangedRepeat(published.stored, body, key === undefined ? 'id' : 'idempotency-key');
      return { statusCode: 202, body: published.created ? { id: published.id } : { id: published.id, duplicate: true } };
    },
  });

  const replay = defineRoute<undefined, { since: string; until: string }>({
    method: 'POST',
    path: '/fleets/{fleetId}/webhooks/{id}/replay',
    operationId: 'replayWebhook',
    summary: 'Replay stored events of a time range',
    description:
      `Re-delivers every stored event of the fleet in [since, until] (at most ${settings.maxReplayDays} days, ` +
      `within the ${settings.eventRetentionDays}-day retention) that matches the subscription now, with the ` +
      'original delivery ids. A large range continues asynchronously (`continued: true`).',
    tag: 'Webhooks',
    resource: 'webhook',
    body: schemas.ReplayRequest,
    responses: [{ status: 202, description: 'Enqueued.', schema: schemas.ReplayResult }],
    async handle({ params, body }) {
      const fleetId = params.fleetId as string;
      const now = deps.now().getTime();
      const since = new Date(body.since);
      const until = new Date(body.until);
      if (until.getTime() > now + REPLAY_FUTURE_SKEW_MS) {
        throw badRequest([{ field: 'until', reason: 'must not be in the future' }]);
      }
      if (since.getTime() < now - settings.eventRetentionDays * DAY_SECONDS * 1000) {
        throw badRequest([
          { field: 'since', reason: `must be within the ${settings.eventRetentionDays}-day event retention` },
        ]);
      }
      const subscription = await loadSubscription(deps.subscriptions, fleetId, params.id as string);
      requireEnabled(subscription, 'replay events to it');
      const job: ReplayJobMessage = {
        v: 1,
        kind: 'replay',
        fleetId,
        subscriptionId: subscription.id,
        since: since.toISOString(),
        until: until.toISOString(),
      };
      const progress = await runReplay(
        {
          events: deps.events,
          subscriptions: deps.subscriptions,
          sqs: deps.sqs,
          deliveriesQueueUrl: deps.queues.deliveriesUrl,
          eventsQueueUrl: deps.queues.eventsUrl,
        },
        job,
        {
          maxPages: deps.replayMaxPages ?? DEFAULT_REPLAY_MAX_PAGES,
          ...(deps.replayPageSize === undefined ? {} : { pageSize: deps.replayPageSize }),
        },
      );
      return { statusCode: 202, body: progress };
    },
  });

  return [publish, replay];
}

/**
 * 409 for a repeat publish (same `id` or idempotency key) whose type or data differs from the
 * stored event, naming the field — as payment APIs answer a reused idempotency key with other
 * parameters. An identical repeat is fine and answers `duplicate: true`.
 */
function refuseChangedRepeat(stored: Pick<EventRecord, 'type' | 'data'>, body: PublishInput, by: 'id' | 'idempotency-key'): void {
  const details: { field: string; reason: string }[] = [];
  const reason = `differs from the event first published with this ${by}; publish a new event with another ${by}`;
  if (stored.type !== body.type) details.push({ field: 'type', reason });
  if (canonicalJson(stored.data) !== canonicalJson(body.data)) details.push({ field: 'data', reason });
  if (details.length > 0) throw conflict(`An event with this ${by} was already published with other content.`, details);
}

/** JSON with object keys sorted, so a stored copy compares equal whatever order its keys came back in. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_, item: unknown) =>
    item !== null && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}
