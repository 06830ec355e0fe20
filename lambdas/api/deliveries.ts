import { ulid } from 'ulid';
import { ClientError, conflict } from '../core/errors';
import { isId } from '../core/ids';
import { deliveryMessage } from '../core/delivery-message';
import type { DeliveryRecord } from '../core/records';
import { sendJson } from '../shared/queue-sender';
import { loadSubscription, requireEnabled } from './access';
import { deliveryPayload } from './console-routes';
import type { RouteDeps } from './deps';
import { defineRoute, resourceNotFound, type RouteSpec } from './route';
import { listOptions } from './list-options';
import type { ApiSchemas, DeliveryListQuery } from './schemas';
import { deliverySummaryView, deliveryView } from './views';

export function deliveryRoutes(deps: RouteDeps, schemas: ApiSchemas): RouteSpec[] {
  const { deliveries } = deps;

  /** Deliveries are keyed by id alone, so the fleet check is explicit here. */
  async function load(fleetId: string, id: string): Promise<DeliveryRecord> {
    if (!isId('dlv', id)) throw resourceNotFound('delivery');
    const record = await deliveries.get(id);
    if (record === undefined || record.fleetId !== fleetId) throw resourceNotFound('delivery');
    return record;
  }

  const list = defineRoute<DeliveryListQuery>({
    method: 'GET',
    path: '/fleets/{fleetId}/webhooks/{id}/deliveries',
    operationId: 'listDeliveries',
    summary: "List a webhook's deliveries",
    description:
      'Newest first; filter by `status`, `eventType` and creation time (`since`, `until`); paginated. ' +
      'With `eventType` a page may hold fewer than `limit` items: follow `nextCursor` until it is null.',
    tag: 'Deliveries',
    resource: 'webhook',
    query: schemas.DeliveryListQuery,
    responses: [{ status: 200, description: 'One page of the delivery log.', schema: schemas.DeliveryPage }],
    async handle({ params, query }) {
      const subscription = await loadSubscription(deps.subscriptions, params.fleetId as string, params.id as string);
      const page = await deliveries.list(subscription.id, listOptions(query));
      return {
        statusCode: 200,
        body: { data: page.items.map(deliverySummaryView), nextCursor: page.nextCursor ?? null },
      };
    },
  });

  const get = defineRoute({
    method: 'GET',
    path: '/fleets/{fleetId}/deliveries/{id}',
    operationId: 'getDelivery',
    summary: 'Get a delivery with its attempts and payload',
    tag: 'Deliveries',
    resource: 'delivery',
    responses: [{ status: 200, description: 'The delivery and every recorded attempt.', schema: schemas.Delivery }],
    async handle({ params }) {
      const record = await load(params.fleetId as string, params.id as string);
      return { statusCode: 200, body: { ...deliveryView(record), ...(await deliveryPayload(deps, record)) } };
    },
  });

  const retry = defineRoute({
    method: 'POST',
    path: '/fleets/{fleetId}/deliveries/{id}/retry',
    operationId: 'retryDelivery',
    summary: 'Deliver again now',
    description:
      'Starts a new round of attempts now with the same delivery id (`webhook-id`). ' +
      `The event must still be stored (${deps.settings.eventRetentionDays}-day retention).`,
    tag: 'Deliveries',
    resource: 'delivery',
    responses: [{ status: 202, description: 'Enqueued.', schema: schemas.RetryResult }],
    async handle({ params }) {
      const fleetId = params.fleetId as string;
      const delivery = await load(fleetId, params.id as string);
      const subscription = await deps.subscriptions.get(fleetId, delivery.subscriptionId, true);
      if (subscription === undefined) {
        throw conflict('The webhook of this delivery was deleted.', [{ field: 'webhookId', reason: 'was deleted' }]);
      }
      requireEnabled(subscription, 'retry its deliveries');
      const event = await deps.events.get(fleetId, delivery.eventId);
      if (event === undefined) {
        throw new ClientError(410, 'gone', 'The event of this delivery is no longer stored.', [
          {
            field: 'eventId',
            reason: `was deleted after the ${deps.settings.eventRetentionDays}-day event retention`,
          },
        ]);
      }
      // A new round, whose id sorts after every earlier one: a retry still waiting from an older round
      // is dropped when it comes due. The record changes when the dispatcher claims the first attempt,
      // so a failed send leaves nothing pending without a message on its way.
      const message = deliveryMessage({
        deliveryId: delivery.id,
        fleetId,
        subscriptionId: delivery.subscriptionId,
        event: { id: event.id, type: event.type, timestamp: event.timestamp, data: event.data },
        reason: 'retry',
        round: ulid(deps.now().getTime()),
        attempt: 1,
      });
      await sendJson(deps.sqs, deps.queues.deliveriesUrl, message, { messageGroupId: fleetId });
      return { statusCode: 202, body: { deliveryId: delivery.id } };
    },
  });

  return [list, get, retry];
}
