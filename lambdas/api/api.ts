import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { badRequest, ClientError, isClientError, payloadTooLarge } from '../core/errors';
import { InvalidCursorError } from '../shared/cursor';
import { createAuthenticator, grantsFleet, type Principal } from './auth';
import { consoleAppRoutes } from './console-app';
import { consoleApiRoutes } from './console-routes';
import { buildConsoleSchemas } from './console-schemas';
import { deliveryRoutes } from './deliveries';
import type { ApiDeps, RouteDeps } from './deps';
import { createEndpointChecker } from './endpoint-check';
import { eventRoutes } from './events';
import { eventTypesRoute } from './event-types';
import { ingestRoutes } from './inbound';
import { inboundSourceRoutes } from './inbound-sources';
import {
  clientErrorResult,
  internalErrorResult,
  parseJsonBody,
  readRequest,
  toProxyResult,
  type ApiRequest,
  type ApiResult,
} from './http';
import { buildOpenApiDocument } from './openapi';
import { bodySchemaOf, defineRoute, resourceNotFound, type RouteSpec } from './route';
import { Router } from './router';
import { buildSchemas, FLEET_ID_PATTERN } from './schemas';
import { parseInput } from './validation';
import { webhookRoutes } from './webhooks';

/**
 * Room for the JSON around an event's `data` (type, id, whitespace): a body may exceed
 * maxPayloadBytes by this much before it is refused unread.
 */
export const BODY_OVERHEAD_BYTES = 16 * 1024;

export type ApiHandler = (event: APIGatewayProxyEvent, context?: Pick<Context, 'awsRequestId'>) => Promise<APIGatewayProxyResult>;

/**
 * The whole API as one function of a REST proxy event. Order of checks: route (404/405), token
 * (401), fleet syntax (400) and grant (404), query and body (400/413), then the route itself.
 */
export function createApi(deps: ApiDeps): ApiHandler {
  const routeDeps: RouteDeps = {
    ...deps,
    now: deps.now ?? (() => new Date()),
    checkUrl: createEndpointChecker({
      allowPrivateTargets: deps.settings.allowPrivateTargets,
      ...(deps.resolve === undefined ? {} : { resolve: deps.resolve }),
    }),
  };
  const schemas = buildSchemas(deps.settings);
  const consoleSchemas = buildConsoleSchemas(deps.settings, schemas);
  let openApiDocument: Record<string, unknown> | undefined;
  const openApiRoute = defineRoute({
    method: 'GET',
    path: '/openapi.json',
    operationId: 'getOpenApiDocument',
    summary: 'This OpenAPI document',
    tag: 'Meta',
    public: true,
    resource: 'fleet',
    responses: [{ status: 200, description: 'The OpenAPI 3.1 document of this API.' }],
    async handle() {
      openApiDocument ??= buildOpenApiDocument(routes, schemas, deps.settings);
      return { statusCode: 200, body: openApiDocument, headers: { 'cache-control': 'public, max-age=300' } };
    },
  });
  const routes: RouteSpec[] = [
    ...webhookRoutes(routeDeps, schemas),
    ...deliveryRoutes(routeDeps, schemas),
    ...eventRoutes(routeDeps, schemas),
    ...consoleApiRoutes(routeDeps, consoleSchemas, schemas),
    ...consoleAppRoutes(deps.settings),
    ...(deps.inbound === undefined ? [] : inboundSourceRoutes(routeDeps, deps.inbound)),
    ...(deps.inbound === undefined ? [] : ingestRoutes(routeDeps, deps.inbound)),
    eventTypesRoute(routeDeps, deps.inbound),
    openApiRoute,
  ];
  const router = new Router(routes);
  const authenticate = createAuthenticator({
    tokens: deps.tokens,
    clock: () => routeDeps.now().getTime(),
    ...(deps.tokenCacheTtlMs === undefined ? {} : { cacheTtlMs: deps.tokenCacheTtlMs }),
  });
  const bodyLimit = deps.settings.maxPayloadBytes + BODY_OVERHEAD_BYTES;

  async function dispatch(request: ApiRequest, route: RouteSpec, params: Record<string, string>): Promise<ApiResult> {
    let principal: Principal | undefined;
    if (!route.public) {
      principal = await authenticate(request.headers.authorization);
      const fleetId = params.fleetId;
      if (fleetId !== undefined) {
        if (!FLEET_ID_PATTERN.test(fleetId)) {
          throw badRequest([{ field: 'fleetId', reason: 'must be 1-128 letters, digits or . _ : -' }]);
        }
        if (!grantsFleet(principal, fleetId)) throw resourceNotFound(route.resource);
      }
      if (principal.portal !== undefined) checkPortalAccess(principal.portal, route);
    }
    if (route.raw) return route.handle({ request, params, query: request.query, body: request.body, principal });
    const query = route.query === undefined ? refuseQuery(request.query) : parseInput(route.query, { ...request.query }, 'query');
    // Every route, with a body or without, validates what was sent before it acts.
    const body = parseInput(bodySchemaOf(route), parseJsonBody(request.body, bodyLimit), 'body');
    return route.handle({ request, params, query, body, principal });
  }

  return async (event, context) => {
    const started = Date.now();
    let requestId = context?.awsRequestId ?? randomUUID();
    let routeName = 'unmatched';
    let result: ApiResult;
    try {
      const request = readRequest(event, requestId);
      requestId = request.requestId;
      const { route, params } = router.match(request.method, request.path);
      routeName = route.path;
      result = await dispatch(request, route, params);
    } catch (error) {
      result = errorResult(error, requestId, routeName);
    }
    const latencyMs = Date.now() - started;
    deps.logger.info('request', { method: event.httpMethod, route: routeName, statusCode: result.statusCode, latencyMs, requestId });
    deps.onResponse?.({ route: routeName, method: event.httpMethod, statusCode: result.statusCode, latencyMs });
    return toProxyResult(result);
  };

  function errorResult(error: unknown, requestId: string, route: string): ApiResult {
    if (isClientError(error)) return clientErrorResult(error);
    if (error instanceof InvalidCursorError) return clientErrorResult(badRequest([{ field: 'cursor', reason: error.message }]));
    // Only the logs learn the cause; the caller gets the request id to quote.
    deps.logger.error('request failed', { requestId, route, error });
    return internalErrorResult(requestId);
  }
}

/** Deployment-wide reads the console needs; each checks any fleet it is asked about against the token. */
const PORTAL_SHARED_ROUTES: ReadonlySet<string> = new Set(['/event-types']);

/**
 * A console portal session reaches its own fleet's routes only: not the deployment-wide ones, not
 * the minting of more sessions, and (read-only) no method but GET. Outside its routes it gets the
 * same 404 as an ungranted fleet.
 */
function checkPortalAccess(portal: { readOnly: boolean }, route: RouteSpec): void {
  const ownFleet = route.path.startsWith('/fleets/{fleetId}/') && route.portalDenied !== true;
  if (!ownFleet && !PORTAL_SHARED_ROUTES.has(route.path)) throw resourceNotFound('fleet');
  if (portal.readOnly && route.method !== 'GET') {
    throw new ClientError(403, 'forbidden', 'This console session is read-only.', [
      { field: 'authorization', reason: 'is a read-only portal session' },
    ]);
  }
}

function refuseQuery(query: Readonly<Record<string, string>>): undefined {
  const names = Object.keys(query);
  if (names.length > 0) throw badRequest(names.map((field) => ({ field, reason: 'is not a known query parameter' })));
  return undefined;
}
