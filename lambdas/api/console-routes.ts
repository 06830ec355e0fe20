import { version } from '../../package.json';
import { buildEnvelope } from '../core/envelope';
import { newTokenId } from '../core/ids';
import type { DeliveryRecord, EventRecord } from '../core/records';
import { formatApiToken, generateApiTokenSecret, hashTokenSecret } from '../core/secrets';
import { buildDeliveryHeaders } from '../core/signing';
import type { StoredToken } from './auth';
import { DEFAULT_PORTAL_TTL_SECONDS, type ConsoleSchemas, type EventListQuery, type FleetDeliveryListQuery, type PortalSessionInput } from './console-schemas';
import type { RouteDeps } from './deps';
import { defineRoute, resourceNotFound, type RouteSpec } from './route';
import { listOptions } from './list-options';
import type { ApiSchemas } from './schemas';
import { deliverySummaryView } from './views';

/**
 * Signatures are computed per attempt from the secret and never stored. The payload view rebuilds
 * every other header exactly; for the signature headers it needs some key to run the same code,
 * and this all-zero one is replaced by a truncated marker before anything leaves the API.
 */
const PLACEHOLDER_SECRET = `whsec_${Buffer.alloc(32).toString('base64')}`;
export const USER_AGENT = `Hookline/${version}`;

/** Index keys hold toISOString() times; an offset like +02:00 must compare in the same form. */

/**
 * What a delivery sent: the envelope rebuilt byte for byte from the stored event (the same code the
 * dispatcher signs) and the headers of its latest attempt, signatures truncated. Null once the
 * event is past its retention.
 */
export async function deliveryPayload(deps: RouteDeps, record: DeliveryRecord) {
  const event = await deps.events.get(record.fleetId, record.eventId);
  if (event === undefined) return { payload: null };
  const body = buildEnvelope(record.fleetId, { id: event.id, type: event.type, timestamp: event.timestamp, data: event.data });
  const subscription = await deps.subscriptions.get(record.fleetId, record.subscriptionId);
  const at = Date.parse(record.lastAttemptAt ?? record.createdAt);
  const prefix = deps.settings.signatureHeaderPrefix.toLowerCase();
  const headers = buildDeliveryHeaders({
    deliveryId: record.id,
    timestamp: Math.floor((Number.isFinite(at) ? at : deps.now().getTime()) / 1000),
    body,
    secrets: [PLACEHOLDER_SECRET],
    headerPrefix: deps.settings.signatureHeaderPrefix,
    userAgent: USER_AGENT,
    ...(subscription?.headers === undefined ? {} : { customHeaders: subscription.headers }),
  });
  headers['webhook-signature'] = 'v1,…';
  headers[`${prefix}-signature`] = 'sha256=…';
  return { payload: { body, headers } };
}

/** An event as the events log lists it: everything but its data. */
function eventSummaryView(event: Pick<EventRecord, 'id' | 'fleetId' | 'type' | 'timestamp' | 'source' | 'fannedOutAt'>) {
  return {
    id: event.id,
    fleetId: event.fleetId,
    type: event.type,
    timestamp: event.timestamp,
    source: event.source,
    ...(event.fannedOutAt === undefined ? {} : { fannedOutAt: event.fannedOutAt }),
  };
}

export function consoleApiRoutes(deps: RouteDeps, schemas: ConsoleSchemas, base: ApiSchemas): RouteSpec[] {
  const listEvents = defineRoute<EventListQuery>({
    method: 'GET',
    path: '/fleets/{fleetId}/events',
    operationId: 'listEvents',
    summary: 'List stored events',
    description:
      'Newest first, without their data; filter by `type` and time (`since`, `until`). With `type` a page may ' +
      'hold fewer than `limit` items: follow `nextCursor` until it is null.',
    tag: 'Events',
    resource: 'fleet',
    query: schemas.EventListQuery,
    responses: [{ status: 200, description: 'One page of stored events.', schema: schemas.EventPage }],
    async handle({ params, query }) {
      const page = await deps.eventLog.list(params.fleetId as string, listOptions(query));
      return { statusCode: 200, body: { data: page.items.map(eventSummaryView), nextCursor: page.nextCursor ?? null } };
    },
  });

  const getEvent = defineRoute({
    method: 'GET',
    path: '/fleets/{fleetId}/events/{id}',
    operationId: 'getEvent',
    summary: 'Get a stored event with the deliveries it produced',
    tag: 'Events',
    resource: 'event',
    responses: [{ status: 200, description: 'The event, its data and its deliveries.', schema: schemas.Event }],
    async handle({ params }) {
      const fleetId = params.fleetId as string;
      const id = params.id as string;
      // Ids are 1-128 of these characters; `idem#…` records share the table and must stay hidden.
      if (!/^[A-Za-z0-9._:-]{1,128}$/.test(id)) throw resourceNotFound('event');
      const event = await deps.events.get(fleetId, id);
      if (event === undefined || event.fleetId !== fleetId) throw resourceNotFound('event');
      const deliveries = await deps.deliveryLog.listByEvent(fleetId, event);
      return {
        statusCode: 200,
        body: {
          ...eventSummaryView(event),
          data: event.data ?? null,
          expiresAt: new Date(event.expiresAt * 1000).toISOString(),
          deliveries: deliveries.map(deliverySummaryView),
        },
      };
    },
  });

  const listFleetDeliveries = defineRoute<FleetDeliveryListQuery>({
    method: 'GET',
    path: '/fleets/{fleetId}/deliveries',
    operationId: 'listFleetDeliveries',
    summary: "List the fleet's deliveries",
    description:
      "Every webhook of the fleet, newest event first; filter by `status`, `eventType`, `httpStatus` (of the latest " +
      "attempt) and the time of the delivery's event (`since`, `until`). With a filter other than time a page may " +
      'hold fewer than `limit` items: follow `nextCursor` until it is null.',
    tag: 'Deliveries',
    resource: 'fleet',
    query: schemas.FleetDeliveryListQuery,
    responses: [{ status: 200, description: 'One page of the delivery log.', schema: base.DeliveryPage }],
    async handle({ params, query }) {
      const page = await deps.deliveryLog.listByFleet(params.fleetId as string, listOptions(query));
      return { statusCode: 200, body: { data: page.items.map(deliverySummaryView), nextCursor: page.nextCursor ?? null } };
    },
  });

  const createPortalSession = defineRoute<undefined, PortalSessionInput>({
    method: 'POST',
    path: '/fleets/{fleetId}/portal-sessions',
    operationId: 'createPortalSession',
    summary: 'Create a console link for one fleet',
    description:
      'A short-lived link to the web console that sees this fleet only (a customer portal to embed in your product). ' +
      'The session is stored like an API token (only a hash of its secret) with an expiry; a read-only session can ' +
      'only read. A portal session cannot create further sessions.',
    tag: 'Console',
    resource: 'fleet',
    portalDenied: true,
    body: schemas.PortalSessionRequest,
    responses: [{ status: 201, description: 'The link and when it expires.', schema: schemas.PortalSession }],
    async handle({ params, body, request }) {
      const fleetId = params.fleetId as string;
      const now = deps.now();
      const ttlSeconds = body?.ttlSeconds ?? DEFAULT_PORTAL_TTL_SECONDS;
      const readOnly = body?.readOnly ?? false;
      const expiresAt = Math.floor(now.getTime() / 1000) + ttlSeconds;
      const id = newTokenId(now.getTime());
      const secret = generateApiTokenSecret();
      const record: StoredToken = {
        id,
        secretHash: hashTokenSecret(secret),
        fleets: [fleetId],
        name: `portal session${readOnly ? ' (read-only)' : ''}`,
        createdAt: now.toISOString(),
        kind: 'portal',
        readOnly,
        expiresAt,
      };
      await deps.tokens.create(record);
      // The fragment never reaches a server (nor its access logs); the console reads it and drops it from the address bar.
      const fragment = new URLSearchParams({ portal: formatApiToken(id, secret), fleet: fleetId, ...(readOnly ? { readOnly: '1' } : {}) }).toString();
      const base = request.baseUrl ?? '';
      return {
        statusCode: 201,
        body: { url: `${base}/console#${fragment}`, expiresAt: new Date(expiresAt * 1000).toISOString(), readOnly, fleetId },
      };
    },
  });

  const health = defineRoute({
    method: 'GET',
    path: '/health',
    operationId: 'getHealth',
    summary: 'Liveness',
    description: 'Answers without a token and without touching any table: the API function is up.',
    tag: 'Meta',
    public: true,
    resource: 'fleet',
    responses: [{ status: 200, description: 'The API is serving.', schema: schemas.Health }],
    async handle() {
      return { statusCode: 200, body: { status: 'ok', version } };
    },
  });

  return [listEvents, getEvent, listFleetDeliveries, createPortalSession, health];
}
