import { badRequest, payloadTooLarge } from '../core/errors';
import { newEventId } from '../core/ids';
import type { PublishedEventMessage, ReplayJobMessage } from '../core/records';
import { sendJson } from '../shared/queue-sender';
import { runReplay } from '../shared/replay';
import { loadSubscription, requireEnabled } from './access';
import type { RouteDeps } from './deps';
import { defineRoute, type RouteSpec } from './route';
import type { ApiSchemas, PublishInput } from './schemas';
import { parseInput } from './validation';
import { z } from 'zod';

const DAY_SECONDS = 86_400;
/** A repeat publish with the same idempotency key within this window is a no-op. */
export const IDEMPOTENCY_WINDOW_SECONDS = DAY_SECONDS;
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
      'header or an `id` makes a repeat within 24 hours return the same event id without a second fan-out.',
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

      const now = deps.now();
      const nowSeconds = Math.floor(now.getTime() / 1000);
      let eventId = body.id ?? newEventId(now.getTime());
      let timestamp = now.toISOString();
      if (key !== undefined) {
        // A repeat gets the first publish's id and time, so both runs derive the same delivery ids.
        ({ eventId, timestamp } = await deps.events.claimIdempotencyKey(fleetId, key, { eventId, timestamp }, nowSeconds, IDEMPOTENCY_WINDOW_SECONDS));
      }
      // The fan-out stores an event once it is fanned out: a stored one needs nothing more. One not
      // stored yet (new, or its first fan-out still running or lost) is sent again.
      if ((body.id !== undefined || key !== undefined) && (await deps.events.get(fleetId, eventId)) !== undefined) {
        return { statusCode: 202, body: { id: eventId } };
      }
      const message: PublishedEventMessage = {
        v: 1,
        kind: 'event',
        fleetId,
        event: { id: eventId, type: body.type, timestamp, data: body.data },
      };
      await sendJson(deps.sqs, deps.queues.eventsUrl, message);
      return { statusCode: 202, body: { id: eventId } };
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
