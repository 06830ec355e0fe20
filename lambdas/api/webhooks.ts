import { deliveryMessage } from '../core/delivery-message';
import { conflict } from '../core/errors';
import { deliveryIdFor, isId, newEventId, newSubscriptionId } from '../core/ids';
import type { EventRecord, SigningSecretValue, SubscriptionRecord } from '../core/records';
import { SealedSecretError } from '../core/sealed-secrets';
import { generateSigningSecret, rotateSecretValue } from '../core/secrets';
import { TEST_EVENT_TYPE } from '../core/settings';
import { eventTimeKey } from '../shared/events-store';
import { sendJson } from '../shared/queue-sender';
import type { SubscriptionPatch } from '../shared/subscriptions-store';
import { loadSubscription, requireEnabled } from './access';
import type { RouteDeps } from './deps';
import { checkInboundEventTypes } from './event-types';
import { defineRoute, resourceNotFound, type RouteSpec } from './route';
import type { ApiSchemas, CreateWebhookInput, UpdateWebhookInput } from './schemas';
import { DEFAULT_PAGE_SIZE } from './schemas';
import { webhookView } from './views';

const COLLECTION = '/fleets/{fleetId}/webhooks';
const ITEM = `${COLLECTION}/{id}`;
const DAY_SECONDS = 86_400;
/** Rotations of one subscription racing each other: each loser re-reads and rotates on top, this many times at most. */
const ROTATE_TRIES = 3;

/** The webhook subscription routes: CRUD, secret rotation and the test event. */
export function webhookRoutes(deps: RouteDeps, schemas: ApiSchemas): RouteSpec[] {
  return [createWebhookRoute, listWebhooksRoute, getWebhookRoute, updateWebhookRoute, deleteWebhookRoute, rotateSecretRoute, testEventRoute].map(
    (route) => route(deps, schemas),
  );
}

/** POST: a new subscription and its signing secret, shown this once. */
function createWebhookRoute(deps: RouteDeps, schemas: ApiSchemas): RouteSpec {
  return defineRoute<undefined, CreateWebhookInput>({
    method: 'POST',
    path: COLLECTION,
    operationId: 'createWebhook',
    summary: 'Create a webhook subscription',
    description: 'Creates the subscription and its signing secret. The secret is in this response only.',
    tag: 'Webhooks',
    resource: 'fleet',
    body: schemas.CreateWebhook,
    responses: [{ status: 201, description: 'Created; `secret` is shown this once.', schema: schemas.WebhookWithSecret }],
    async handle({ params, body }) {
      const fleetId = params.fleetId as string;
      await checkInboundEventTypes(deps.inbound, fleetId, body.events);
      const url = await deps.checkUrl(body.url);
      const now = deps.now();
      const id = newSubscriptionId(now.getTime());
      const secret = generateSigningSecret();
      // Sealed on the record itself: no per-subscription secret to create, pay for or clean up on failure.
      const sealed = await deps.secrets.seal(fleetId, id, { current: secret });
      const record: SubscriptionRecord = {
        fleetId,
        id,
        url: url.href,
        ...(body.events === undefined ? {} : { events: body.events }),
        enabled: body.enabled ?? true,
        ...(body.name === undefined ? {} : { name: body.name }),
        ...(body.description === undefined ? {} : { description: body.description }),
        ...(body.headers === undefined ? {} : { headers: body.headers }),
        ...(body.timeoutSeconds === undefined ? {} : { timeoutSeconds: body.timeoutSeconds }),
        ...(body.maxAttempts === undefined ? {} : { maxAttempts: body.maxAttempts }),
        ...(body.rateLimitPerSecond === undefined ? {} : { rateLimitPerSecond: body.rateLimitPerSecond }),
        ...(body.maxConcurrency === undefined ? {} : { maxConcurrency: body.maxConcurrency }),
        ...(body.tlsVerify === false ? { tlsVerify: false } : {}),
        ...sealed,
        createdAt: now.toISOString(),
        updatedAt: now.toISOString(),
      };
      await deps.subscriptions.create(record);
      return {
        statusCode: 201,
        headers: { location: `/fleets/${encodeURIComponent(fleetId)}/webhooks/${id}` },
        body: { ...webhookView(record), secret },
      };
    },
  });
}

/** GET the collection: one page, oldest first. */
function listWebhooksRoute(deps: RouteDeps, schemas: ApiSchemas): RouteSpec {
  return defineRoute<{ limit?: number; cursor?: string }>({
    method: 'GET',
    path: COLLECTION,
    operationId: 'listWebhooks',
    summary: 'List webhook subscriptions',
    description: 'Oldest first, paginated with `limit` and the opaque `cursor`.',
    tag: 'Webhooks',
    resource: 'fleet',
    query: schemas.ListQuery,
    responses: [{ status: 200, description: 'One page.', schema: schemas.WebhookPage }],
    async handle({ params, query }) {
      const page = await deps.subscriptions.list(params.fleetId as string, {
        limit: query.limit ?? DEFAULT_PAGE_SIZE,
        ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
      });
      return { statusCode: 200, body: { data: page.items.map(webhookView), nextCursor: page.nextCursor ?? null } };
    },
  });
}

/** GET one subscription, never its secret. */
function getWebhookRoute(deps: RouteDeps, schemas: ApiSchemas): RouteSpec {
  return defineRoute({
    method: 'GET',
    path: ITEM,
    operationId: 'getWebhook',
    summary: 'Get a webhook subscription',
    description: 'Never includes the secret.',
    tag: 'Webhooks',
    resource: 'webhook',
    responses: [{ status: 200, description: 'The subscription.', schema: schemas.Webhook }],
    async handle({ params }) {
      const record = await loadSubscription(deps.subscriptions, params.fleetId as string, params.id as string);
      return { statusCode: 200, body: webhookView(record) };
    },
  });
}

/** PATCH: a partial update; `null` removes an optional field. */
function updateWebhookRoute(deps: RouteDeps, schemas: ApiSchemas): RouteSpec {
  return defineRoute<undefined, UpdateWebhookInput>({
    method: 'PATCH',
    path: ITEM,
    operationId: 'updateWebhook',
    summary: 'Update a webhook subscription',
    description: 'Partial update; `null` removes an optional field. `enabled: true` clears a disabledReason.',
    tag: 'Webhooks',
    resource: 'webhook',
    body: schemas.UpdateWebhook,
    responses: [{ status: 200, description: 'The updated subscription.', schema: schemas.Webhook }],
    async handle({ params, body }) {
      const fleetId = params.fleetId as string;
      const id = params.id as string;
      if (!isId('wh', id)) throw resourceNotFound('webhook');
      await checkInboundEventTypes(deps.inbound, fleetId, body.events);
      const patch: SubscriptionPatch = {};
      if (body.url !== undefined) patch.url = (await deps.checkUrl(body.url)).href;
      if (body.events !== undefined) patch.events = body.events;
      if (body.enabled !== undefined) patch.enabled = body.enabled;
      if (body.name !== undefined) patch.name = body.name;
      if (body.description !== undefined) patch.description = body.description;
      if (body.headers !== undefined) patch.headers = body.headers;
      if (body.timeoutSeconds !== undefined) patch.timeoutSeconds = body.timeoutSeconds;
      if (body.maxAttempts !== undefined) patch.maxAttempts = body.maxAttempts;
      if (body.rateLimitPerSecond !== undefined) patch.rateLimitPerSecond = body.rateLimitPerSecond;
      if (body.maxConcurrency !== undefined) patch.maxConcurrency = body.maxConcurrency;
      if (body.tlsVerify !== undefined) patch.tlsVerify = body.tlsVerify;
      const updated = await deps.subscriptions.update(fleetId, id, patch, deps.now().toISOString());
      if (updated === undefined) throw resourceNotFound('webhook');
      return { statusCode: 200, body: webhookView(updated) };
    },
  });
}

/** DELETE: the subscription with its sealed secret; its pending deliveries end disabled. */
function deleteWebhookRoute(deps: RouteDeps, _schemas: ApiSchemas): RouteSpec {
  return defineRoute({
    method: 'DELETE',
    path: ITEM,
    operationId: 'deleteWebhook',
    summary: 'Delete a webhook subscription',
    description:
      'Deletes the subscription and, with it, its signing secret (sealed on the subscription, so erased at once); ' +
      'its pending deliveries end as `disabled`.',
    tag: 'Webhooks',
    resource: 'webhook',
    responses: [{ status: 204, description: 'Deleted.' }],
    async handle({ params }) {
      const fleetId = params.fleetId as string;
      const id = params.id as string;
      if (!isId('wh', id)) throw resourceNotFound('webhook');
      // The sealed secret goes with the item: nothing of it stays readable once this returns.
      const deleted = await deps.subscriptions.delete(fleetId, id);
      if (deleted === undefined) throw resourceNotFound('webhook');
      await deps.deliveries.endPendingAsDisabled(deleted.id, 'the webhook was deleted', deps.now().toISOString());
      return { statusCode: 204 };
    },
  });
}

/** POST …/rotate: a new secret, the previous one signing alongside it for the grace period. */
function rotateSecretRoute(deps: RouteDeps, schemas: ApiSchemas): RouteSpec {
  return defineRoute({
    method: 'POST',
    path: `${ITEM}/rotate`,
    operationId: 'rotateWebhookSecret',
    summary: 'Rotate the signing secret',
    description: `Returns a new secret once. The previous one keeps signing alongside it for ${deps.settings.rotationGraceHours} hours.`,
    tag: 'Webhooks',
    resource: 'webhook',
    responses: [{ status: 200, description: 'The subscription with its new secret.', schema: schemas.WebhookWithSecret }],
    async handle({ params }) {
      const fleetId = params.fleetId as string;
      let record = await loadSubscription(deps.subscriptions, fleetId, params.id as string);
      const now = deps.now();
      const secret = generateSigningSecret();
      for (let tries = 1; ; tries += 1) {
        const current = await openForRotation(deps, record);
        const value = current === undefined ? { current: secret } : rotateSecretValue(current, secret, now, deps.settings.rotationGraceHours);
        const updated = await deps.subscriptions.replaceSecret(fleetId, record.id, record.sealedSecret, await deps.secrets.seal(fleetId, record.id, value), now.toISOString());
        if (updated === 'missing') throw resourceNotFound('webhook');
        if (updated !== 'changed') return { statusCode: 200, body: { ...webhookView(updated), secret } };
        // Another rotation landed first: rotate on top of it, so the secret it showed keeps its grace period.
        if (tries >= ROTATE_TRIES) {
          throw conflict('The signing secret is being rotated by other requests; try again.', [
            { field: 'secret', reason: 'changed by a concurrent rotation' },
          ]);
        }
        record = await loadSubscription(deps.subscriptions, fleetId, record.id);
      }
    },
  });
}

/** POST …/test: a webhook.test event to this endpoint only. */
function testEventRoute(deps: RouteDeps, schemas: ApiSchemas): RouteSpec {
  return defineRoute({
    method: 'POST',
    path: `${ITEM}/test`,
    operationId: 'sendTestEvent',
    summary: 'Send a webhook.test event',
    description: 'Delivers a webhook.test event to this endpoint only, signed and retried like any delivery.',
    tag: 'Webhooks',
    resource: 'webhook',
    responses: [{ status: 202, description: 'Enqueued.', schema: schemas.TestResult }],
    async handle({ params }) {
      const fleetId = params.fleetId as string;
      const record = await loadSubscription(deps.subscriptions, fleetId, params.id as string);
      requireEnabled(record, 'test it');
      const now = deps.now();
      const timestamp = now.toISOString();
      const eventId = newEventId(now.getTime());
      const event: EventRecord = {
        fleetId,
        id: eventId,
        type: TEST_EVENT_TYPE,
        timestamp,
        data: { webhookId: record.id, message: 'This is a test event from Hookline.' },
        timeKey: eventTimeKey(timestamp, eventId),
        source: 'api',
        // Sent to one subscription directly: there is nothing for the fan-out to do.
        fannedOutAt: timestamp,
        expiresAt: Math.floor(now.getTime() / 1000) + deps.settings.eventRetentionDays * DAY_SECONDS,
      };
      await deps.events.putIfAbsent(event);
      const message = deliveryMessage({
        deliveryId: deliveryIdFor(fleetId, eventId, record.id, timestamp),
        fleetId,
        subscriptionId: record.id,
        event: { id: eventId, type: event.type, timestamp, data: event.data },
        reason: 'test',
      });
      await sendJson(deps.sqs, deps.queues.deliveriesUrl, message, { messageGroupId: fleetId });
      return { statusCode: 202, body: { deliveryId: message.deliveryId, eventId } };
    },
  });
}

/** The secrets in clear; undefined when the stored value cannot be opened, which a rotation then replaces. */
async function openForRotation(deps: RouteDeps, record: SubscriptionRecord): Promise<SigningSecretValue | undefined> {
  try {
    return await deps.secrets.get(record);
  } catch (error) {
    if (!(error instanceof SealedSecretError)) throw error;
    // It signs nothing as it is; the rotation is how an operator recovers, with no grace period for it.
    deps.logger.error('the stored signing secret could not be opened; rotating without a grace period', {
      fleetId: record.fleetId,
      subscriptionId: record.id,
      reason: error.message,
    });
    return undefined;
  }
}
