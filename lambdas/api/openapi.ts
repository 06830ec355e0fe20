import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import type { RouteSpec } from './route';
import { FLEET_ID_PATTERN, type ApiSchemas } from './schemas';

export const API_VERSION = '1.0.0';
const SECURITY_SCHEME = 'bearerAuth';

const ID_DESCRIPTION: Record<string, string> = {
  webhook: 'A webhook subscription id (`wh_…`).',
  delivery: 'A delivery id (`dlv_…`).',
  source: 'An inbound source id (`src_…`).',
};

/**
 * The OpenAPI 3.1 document of exactly the routes the router serves, with the zod schemas that
 * validate their requests. Error answers are declared for every route from the same error schema.
 */
export function buildOpenApiDocument(routes: readonly RouteSpec[], schemas: ApiSchemas): Record<string, unknown> {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', SECURITY_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'hlk_<tokenId>_<secret>',
    description: 'A Hookline API token (`npx hookline token create`). It grants a set of fleets, or all.',
  });

  const error = (description: string) => ({
    description,
    content: { 'application/json': { schema: schemas.ErrorBody } },
  });

  for (const route of routes) {
    const responses: RouteConfig['responses'] = {};
    for (const response of route.responses) {
      responses[response.status] = response.schema
        ? { description: response.description, content: { 'application/json': { schema: response.schema } } }
        : { description: response.description };
    }
    if (route.query !== undefined || route.body !== undefined || route.headers !== undefined || route.path.includes('{')) {
      responses[400] = error('Invalid input; `details` names each field and why.');
    }
    if (!route.public) {
      responses[401] = error('Missing or invalid bearer token.');
      responses[404] = error('Not found, or in a fleet this token does not grant (never 403).');
    }
    if (route.responses.some((response) => response.status === 202) && route.resource === 'webhook') {
      responses[409] = error('The webhook is disabled.');
    }
    if (route.operationId === 'retryDelivery') {
      responses[409] = error('The webhook is disabled or deleted.');
      responses[410] = error('The event is past its retention and was deleted.');
    }
    if (route.body !== undefined) responses[413] = error('The body (or the event `data`) is too large.');
    responses[500] = error('Internal error; the body carries only a request id.');

    registry.registerPath({
      method: route.method.toLowerCase() as RouteConfig['method'],
      path: route.path,
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description === undefined ? {} : { description: route.description }),
      tags: [route.tag],
      security: route.public ? [] : [{ [SECURITY_SCHEME]: [] }],
      request: {
        ...(route.path.includes('{') ? { params: pathParams(route) } : {}),
        ...(route.query === undefined ? {} : { query: route.query as z.ZodObject }),
        ...(route.headers === undefined ? {} : { headers: route.headers }),
        ...(route.body === undefined
          ? {}
          : { body: { required: true, content: { 'application/json': { schema: route.body } } } }),
      },
      responses,
    });
  }

  const generator = new OpenApiGeneratorV31(registry.definitions);
  return generator.generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Hookline API',
      version: API_VERSION,
      description:
        'Manage webhook subscriptions of your fleets, inspect and replay deliveries, publish events. ' +
        'Every route is under /fleets/{fleetId}; a token for one fleet sees nothing of another.',
    },
    security: [{ [SECURITY_SCHEME]: [] }],
  }) as unknown as Record<string, unknown>;
}

function pathParams(route: RouteSpec): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const [, name] of route.path.matchAll(/\{(\w+)\}/g)) {
    if (name === 'fleetId') {
      shape.fleetId = z
        .string()
        .regex(FLEET_ID_PATTERN)
        .openapi({ description: 'Your fleet (tenant) id.', example: 'fleet_abc123' });
    } else if (name !== undefined) {
      shape[name] = z.string().openapi({ description: ID_DESCRIPTION[route.resource] ?? 'An id.' });
    }
  }
  return z.object(shape);
}
