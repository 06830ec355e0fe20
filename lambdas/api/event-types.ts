import * as z from 'zod';
import { badRequest, type FieldProblem } from '../core/errors';
import { sourceEventTypes } from '../core/inbound/ingest';
import { isInboundEventType, PROVIDERS } from '../core/inbound/registry';
import type { InboundSourceRecord } from '../core/inbound/source';
import { grantsFleet } from './auth';
import type { InboundDeps, RouteDeps } from './deps';
import { defineRoute, resourceNotFound, type RouteSpec } from './route';
import { FLEET_ID_PATTERN } from './schemas';

const EventTypeEntry = z
  .object({
    type: z.string().openapi({ example: 'thread.completed' }),
    origin: z.enum(['catalog', 'inbound']).openapi({ description: '`catalog`: published by producers; `inbound`: made from a provider webhook.' }),
    sources: z.array(z.string()).optional().openapi({ description: 'Inbound sources of the fleet that publish this type.' }),
  })
  .openapi('EventTypeEntry');
const EventTypes = z.object({ data: z.array(EventTypeEntry) }).openapi('EventTypes');
const Query = z.strictObject({
  fleetId: z.string().regex(FLEET_ID_PATTERN, 'must be 1-128 letters, digits or . _ : -').optional().openapi({
    description: "Also list the inbound types of this fleet's sources (the token must grant the fleet).",
  }),
});

/**
 * `GET /event-types`: the deployment's catalog, and with `?fleetId=` the inbound types of that
 * fleet's sources (the documented events of each provider, `generic.<name>` for generic sources).
 * Any valid token may read the catalog; a fleet it does not grant is a 404, as everywhere.
 */
export function eventTypesRoute(deps: RouteDeps, inbound: InboundDeps | undefined): RouteSpec {
  return defineRoute<{ fleetId?: string }>({
    method: 'GET',
    path: '/event-types',
    operationId: 'listEventTypes',
    summary: 'List event types',
    tag: 'Meta',
    resource: 'fleet',
    query: Query,
    responses: [{ status: 200, description: 'The catalog (and inbound types).', schema: EventTypes }],
    async handle({ query, principal }) {
      const data: z.infer<typeof EventTypeEntry>[] = deps.settings.eventCatalog.map((type) => ({ type, origin: 'catalog' as const }));
      if (query.fleetId !== undefined) {
        if (principal === undefined || !grantsFleet(principal, query.fleetId)) throw resourceNotFound('fleet');
        const sources = inbound === undefined ? [] : await inbound.sources.all(query.fleetId);
        const bySource = new Map<string, string[]>();
        for (const source of sources) {
          for (const type of sourceEventTypes(PROVIDERS[source.provider], source.name)) {
            bySource.set(type, [...(bySource.get(type) ?? []), source.id]);
          }
        }
        for (const [type, ids] of [...bySource.entries()].sort(([a], [b]) => a.localeCompare(b))) {
          data.push({ type, origin: 'inbound', sources: ids });
        }
      }
      return { statusCode: 200, body: { data } };
    },
  });
}

/**
 * Subscriptions may choose inbound types of their own fleet's sources: `<provider>.<event>` when
 * the fleet has a source of that provider (providers send more events than they document), and
 * `generic.<name>` when it has a generic source of that name. Throws a 400 naming each other one.
 */
export async function checkInboundEventTypes(
  inbound: InboundDeps | undefined,
  fleetId: string,
  events: readonly string[] | null | undefined,
): Promise<void> {
  const wanted = (events ?? []).map((type, index) => ({ type, index })).filter(({ type }) => isInboundEventType(type));
  if (wanted.length === 0) return;
  const sources: InboundSourceRecord[] = inbound === undefined ? [] : await inbound.sources.all(fleetId);
  const problems: FieldProblem[] = [];
  for (const { type, index } of wanted) {
    const [provider, ...rest] = type.split('.');
    const ok = sources.some((source) =>
      source.provider === 'generic' ? provider === 'generic' && rest.join('.') === source.name : source.provider === provider,
    );
    if (!ok) {
      problems.push({ field: `events[${index}]`, reason: `unknown event type ${JSON.stringify(type)}: no ${provider} inbound source of this fleet publishes it` });
    }
  }
  if (problems.length > 0) throw badRequest(problems);
}
