import * as z from 'zod';
import type { DeploymentSettings } from '../core/settings';
import { DELIVERY_STATUSES, isoDateTime, PAGE_QUERY_FIELDS, sinceBeforeUntil, type ApiSchemas } from './schemas';

/** A portal session lives at most a day: a link is meant to be minted per page view, not kept. */
export const MAX_PORTAL_TTL_SECONDS = 86_400;
export const MIN_PORTAL_TTL_SECONDS = 60;
export const DEFAULT_PORTAL_TTL_SECONDS = 3_600;

/** Outbound catalog types, `webhook.test` and inbound `<provider>.<event>` types all fit this. */
const EVENT_TYPE_FILTER = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$/i;


/**
 * Schemas of the routes the web console needs: the events log, the fleet-wide delivery log,
 * portal sessions and health. Built beside the API's own schemas and reusing their shapes.
 */
export function buildConsoleSchemas(settings: DeploymentSettings, base: ApiSchemas) {
  const TypeFilter = z
    .string()
    .max(200, 'must be at most 200 characters long')
    .regex(EVENT_TYPE_FILTER, 'must be an event type such as thread.completed');

  const EventListQuery = z
    .strictObject({
      ...PAGE_QUERY_FIELDS,
      type: TypeFilter.optional().openapi({ description: 'Only events of this type.' }),
      since: isoDateTime().optional().openapi({ description: 'Events at or after this time.' }),
      until: isoDateTime().optional().openapi({ description: 'Events at or before this time.' }),
    })
    .refine(sinceBeforeUntil, { error: 'must not be before since', path: ['until'] });

  const EventSummary = z
    .object({
      id: z.string().openapi({ example: 'evt_01J0Z8K7Q3N5X2B4C6D8E0F1G2' }),
      fleetId: z.string(),
      type: z.string(),
      timestamp: z.string(),
      source: z.string().openapi({ description: 'How the event arrived: api, eventbridge or an inbound source.', example: 'api' }),
      fannedOutAt: z.string().optional().openapi({ description: 'When every delivery of the event was enqueued.' }),
    })
    .openapi('EventSummary');

  const Event = EventSummary.extend({
    data: z.unknown().openapi({ description: 'The event data as published.' }),
    expiresAt: z.string().openapi({ description: `When the stored event is deleted (${settings.eventRetentionDays}-day retention).` }),
    deliveries: z.array(base.DeliverySummary).openapi({ description: 'The deliveries this event produced, oldest first.' }),
  }).openapi('Event');

  const EventPage = z
    .object({ data: z.array(EventSummary), nextCursor: z.string().nullable() })
    .openapi('EventPage');

  const FleetDeliveryListQuery = z
    .strictObject({
      ...PAGE_QUERY_FIELDS,
      status: z.enum(DELIVERY_STATUSES).optional(),
      eventType: TypeFilter.optional(),
      httpStatus: z.coerce
        .number({ error: 'must be an HTTP status code between 100 and 599' })
        .int('must be an HTTP status code between 100 and 599')
        .min(100, 'must be an HTTP status code between 100 and 599')
        .max(599, 'must be an HTTP status code between 100 and 599')
        .optional()
        .openapi({ description: 'Only deliveries whose latest attempt got this HTTP status.', example: 500 }),
      since: isoDateTime().optional().openapi({ description: 'Deliveries of events at or after this time.' }),
      until: isoDateTime().optional().openapi({ description: 'Deliveries of events at or before this time.' }),
    })
    .refine(sinceBeforeUntil, { error: 'must not be before since', path: ['until'] });

  const PortalSessionRequest = z
    .strictObject({
      ttlSeconds: z
        .number()
        .int()
        .min(MIN_PORTAL_TTL_SECONDS)
        .max(MAX_PORTAL_TTL_SECONDS)
        .optional()
        .openapi({ description: `Lifetime of the link; default ${DEFAULT_PORTAL_TTL_SECONDS}.`, example: 900 }),
      readOnly: z.boolean().optional().openapi({ description: 'A read-only session can look but not change anything. Default false.' }),
    })
    .openapi('PortalSessionRequest', { example: { ttlSeconds: 900, readOnly: true } });

  const PortalSession = z
    .object({
      url: z.string().openapi({
        description:
          'The console link. Its session token is in the URL fragment, which browsers never send to a server; ' +
          'treat the link as a secret until it expires.',
        example: 'https://api.example.com/v1/console#portal=hlk_tok_…&fleet=fleet_abc123',
      }),
      expiresAt: z.string(),
      readOnly: z.boolean(),
      fleetId: z.string(),
    })
    .openapi('PortalSession');

  const Health = z.object({ status: z.literal('ok'), version: z.string() }).openapi('Health');

  return { EventListQuery, EventSummary, Event, EventPage, FleetDeliveryListQuery, PortalSessionRequest, PortalSession, Health };
}

export type ConsoleSchemas = ReturnType<typeof buildConsoleSchemas>;
export type EventListQuery = z.infer<ConsoleSchemas['EventListQuery']>;
export type FleetDeliveryListQuery = z.infer<ConsoleSchemas['FleetDeliveryListQuery']>;
export type PortalSessionInput = z.infer<ConsoleSchemas['PortalSessionRequest']>;
