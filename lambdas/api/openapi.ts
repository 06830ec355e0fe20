import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import * as z from 'zod';
import type { RouteSpec } from './route';
import { FLEET_ID_PATTERN, type ApiSchemas } from './schemas';
import { TEST_EVENT_TYPE } from '../core/settings';

export const API_VERSION = '1.0.0';
const SECURITY_SCHEME = 'bearerAuth';

const ID_DESCRIPTION: Record<string, string> = {
  webhook: 'A webhook subscription id (`wh_…`).',
  delivery: 'A delivery id (`dlv_…`).',
  event: 'An event id (`evt_…` or the producer\'s own).',
  source: 'An inbound source id (`src_…`).',
};

/**
 * The OpenAPI 3.1 document of exactly the routes the router serves, with the zod schemas that
 * validate their requests. Error answers are declared for every route from the same error schema.
 */
export function buildOpenApiDocument(
  routes: readonly RouteSpec[],
  schemas: ApiSchemas,
  delivery: DeliveryDocOptions,
): Record<string, unknown> {
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
    if (route.undocumented === true) continue;
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
      if (route.method !== 'GET') responses[403] = error('A read-only console portal session cannot change anything.');
    }
    if (route.responses.some((response) => response.status === 202) && route.resource === 'webhook') {
      responses[409] = error('The webhook is disabled.');
    }
    if (route.operationId === 'publishEvent') {
      responses[409] = error('An event with this id or idempotency-key was already published with another type or data.');
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

  registerDelivery(registry, delivery);

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
    servers: [
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com/{stage}',
        description: 'A deployed stack: its ApiUrl output (apiId is the REST API id, stage the apiStageName setting).',
        variables: { apiId: { default: 'abcdef1234' }, region: { default: 'us-east-1' }, stage: { default: 'v1' } },
      },
      { url: 'http://127.0.0.1:8787', description: 'Local mode (`npm start`; the port is HOOKLINE_PORT).' },
    ],
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

/** What the outbound delivery documentation depends on: the deployment's header prefix and catalog. */
export interface DeliveryDocOptions {
  signatureHeaderPrefix: string;
  eventCatalog: readonly string[];
}

/**
 * The `webhooks` section: the POST Hookline sends to a subscriber's endpoint, with its body and
 * every signature header, so receivers can generate their side from the same document.
 */
function registerDelivery(registry: OpenAPIRegistry, options: DeliveryDocOptions): void {
  const prefix = options.signatureHeaderPrefix;
  const types = [...options.eventCatalog, TEST_EVENT_TYPE] as unknown as [string, ...string[]];
  const envelope = z
    .object({
      id: z.string().openapi({ description: 'The event id; the same for every subscription it is delivered to.', example: 'evt_01J0Z8K7Q3N5X2B4C6D8E0F1G2' }),
      type: z.enum(types).openapi({ description: 'The event type.' }),
      timestamp: z.string().openapi({ description: 'When the event was published (ISO 8601).', example: '2026-01-01T12:00:00.000Z' }),
      fleetId: z.string().openapi({ example: 'fleet_abc123' }),
      data: z.unknown().openapi({ description: 'The event data as the producer published it.' }),
    })
    .openapi('DeliveryPayload', { description: 'The body of every delivery, sent byte for byte as signed.' });
  const headers = z.object({
    'webhook-id': z.string().openapi({
      description: 'The delivery id: stable across retries, redeliveries and replays; deduplicate on it.',
      example: 'dlv_01J0Z8K7Q3ABCDEFGHJKMNPQRS',
    }),
    'webhook-timestamp': z.string().openapi({ description: 'Unix seconds of this attempt.', example: '1767268800' }),
    'webhook-signature': z.string().openapi({
      description:
        'Standard Webhooks: space-separated `v1,<base64 HMAC-SHA256>` entries, keyed with the base64-decoded part of ' +
        'the `whsec_` secret over `{webhook-id}.{webhook-timestamp}.{body}`; two entries while a rotated-out secret ' +
        'is in its grace period. The `standardwebhooks` and `svix` packages verify it as they are.',
      example: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    }),
    [`${prefix}-Delivery-Id`]: z.string().openapi({ description: 'The delivery id again (the hex scheme).' }),
    [`${prefix}-Timestamp`]: z.string().openapi({ description: 'Unix seconds of this attempt (the hex scheme).' }),
    [`${prefix}-Signature`]: z.string().openapi({
      description:
        `The hex ${prefix}-Signature scheme: \`sha256=<hex HMAC-SHA256>\` keyed with the whole secret string ` +
        `(\`whsec_…\` included) over \`{${prefix}-Timestamp}.{body}\`; the current secret only.`,
      example: 'sha256=0f1e…',
    }),
    'user-agent': z.string().openapi({ example: 'Hookline/1.0.0' }),
  });
  registry.registerWebhook({
    method: 'post',
    path: 'delivery',
    operationId: 'receiveDelivery',
    summary: 'A delivery to a subscriber endpoint',
    description:
      'Hookline POSTs each matching event to the subscription URL, with the subscription\'s custom headers too ' +
      '(they never replace these). Verify with `verify()` from the Hookline client, or the `standardwebhooks` package.',
    tags: ['Deliveries'],
    request: { headers, body: { required: true, content: { 'application/json': { schema: envelope } } } },
    responses: {
      '2XX': { description: 'Delivered.' },
      '410': { description: 'Gone: Hookline disables the subscription.' },
      '429': { description: 'Retried on the schedule; a `Retry-After` is honoured as a minimum wait.' },
      '5XX': { description: 'Retried on the schedule (so are 408, network errors and timeouts).' },
      default: { description: 'Any other status, redirects included, fails the delivery without retry.' },
    },
  });
}
