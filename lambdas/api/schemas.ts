import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import * as z from 'zod';
import { TEST_EVENT_TYPE, type DeploymentSettings } from '../core/settings';
import { validateSubscriptionEvents } from '../core/catalog';
import { eventDataDepthProblem } from '../core/event-data';
import { isReservedHeaderName, isValidHeaderName, isValidHeaderValue, reservedHeaderReason } from '../core/signing';
import { isInboundEventType } from '../core/inbound/event-types';

// Only ZodType's prototype is patched. Handing over the namespace object itself would make the
// bundler build it whole, and with it every one of zod's ≈ 40 locales (≈ 260 KB the API compiles at
// each cold start); `import * as z` elsewhere keeps to the members actually used.
extendZodWithOpenApi({ ZodType: z.ZodType } as unknown as Parameters<typeof extendZodWithOpenApi>[0]);

export const FLEET_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const MAX_URL_LENGTH = 2048;
export const MAX_NAME_LENGTH = 200;
export const MAX_DESCRIPTION_LENGTH = 1000;
export const MAX_CUSTOM_HEADERS = 20;
export const MAX_HEADER_NAME_LENGTH = 128;
export const MAX_HEADER_VALUE_LENGTH = 1024;
/** Names plus values of all custom headers together. */
export const MAX_HEADERS_TOTAL_BYTES = 8 * 1024;
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed', 'disabled'] as const;
/** Inbound types a subscription may list on top of the catalog. */
export const MAX_INBOUND_EVENT_TYPES = 100;

/** A producer-chosen event id: the same alphabet as fleet ids, so it can never look like `idem#…`. */
const EVENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]+$/;
/** Keys that are data in JSON but would mean something else to a careless JavaScript reader. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** A schema-level message replaces zod's for every issue, a missing value included; keep that one. */
export const requiredOr =
  (message: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? 'is required' : message;

export const isoDateTime = () =>
  z.iso
    .datetime({ offset: true, error: requiredOr('must be an ISO-8601 date-time such as 2024-05-01T12:00:00Z') })
    .openapi({ example: '2024-05-01T12:00:00Z' });

/** A time-range query's rule: `until`, when both are given, is not before `since`. */
export const sinceBeforeUntil = (query: { since?: string | undefined; until?: string | undefined }) =>
  query.since === undefined || query.until === undefined || Date.parse(query.since) <= Date.parse(query.until);

const Cursor = z.string().min(1).max(2048).openapi({ description: 'The nextCursor of the previous page.' });
const Limit = z.coerce
  .number()
  .int()
  .min(1)
  .max(MAX_PAGE_SIZE)
  .openapi({ description: `Page size, default ${DEFAULT_PAGE_SIZE}.`, example: 20 });
/** The paging fields of every list query. */
export const PAGE_QUERY_FIELDS = { limit: Limit.optional(), cursor: Cursor.optional() };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Every schema the API validates with and documents. Built from the deployment settings because
 * the catalog and the attempts ceiling are per deployment; the OpenAPI document shows them. Each
 * resource has its own builder below; this one puts them together.
 */
export function buildSchemas(settings: DeploymentSettings) {
  const types = eventTypeSchemas(settings);
  const webhooks = webhookSchemas(settings, types.Events);
  return {
    ...webhooks,
    WebhookPage: page(webhooks.Webhook, 'WebhookPage'),
    ListQuery: z.strictObject(PAGE_QUERY_FIELDS),
    ...deliverySchemas(types.AnyEventType),
    ...replaySchemas(settings),
    ...publishSchemas(types.SubscribableEventType),
    ...resultSchemas(),
    ErrorBody: errorSchema(),
  };
}

/** A page of a list: its items and the cursor of the next. */
const page = <T extends z.ZodType>(item: T, name: string) =>
  z
    .object({
      data: z.array(item),
      nextCursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page; null on the last.' }),
    })
    .openapi(name);

/** Event types as a publish, a subscription and a delivery filter name them: the deployment's catalog. */
function eventTypeSchemas(settings: DeploymentSettings) {
  const catalog = settings.eventCatalog as [string, ...string[]];

  const eventTypeError = (issue: { input?: unknown }) =>
    issue.input === TEST_EVENT_TYPE
      ? `${TEST_EVENT_TYPE} is reserved for the test route and cannot be used here`
      : requiredOr('is not an event type of this deployment')(issue);

  const SubscribableEventType = z.enum(catalog, { error: eventTypeError }).openapi('EventType', {
    description: `An event type of this deployment's catalog. ${TEST_EVENT_TYPE} is reserved for the test route.`,
    example: catalog[0],
  });

  // The core's rules (catalog, duplicates, the reserved test type) so the API and fan-out agree.
  const Events = z
    .array(z.string().openapi({ description: 'A catalog type, or an inbound type of one of the fleet\'s sources.' }))
    .max(catalog.length + MAX_INBOUND_EVENT_TYPES, `must have at most ${catalog.length + MAX_INBOUND_EVENT_TYPES} items`)
    .superRefine((events, ctx) => {
      // Inbound types pass here on syntax; the route checks them against the fleet's sources.
      for (const problem of validateSubscriptionEvents(events, catalog, isInboundEventType)) {
        const index = Number(/\[(\d+)\]$/.exec(problem.field)?.[1]);
        ctx.addIssue({ code: 'custom', path: Number.isInteger(index) ? [index] : [], message: problem.reason });
      }
    })
    .openapi({
      description:
        `Event types to deliver: catalog types and inbound types (\`<provider>.<event>\`) of the fleet's sources; ` +
        `omitted or empty means every type but ${TEST_EVENT_TYPE}. No duplicates.`,
      example: ['thread.completed', 'approval.requested'].filter((type) => catalog.includes(type)),
    });

  const AnyEventType = z.string().refine((type) => type === TEST_EVENT_TYPE || catalog.includes(type) || isInboundEventType(type), {
    error: 'is not an event type of this deployment',
  });

  return { SubscribableEventType, Events, AnyEventType };
}

/** The fields of a webhook a create or an update may set, with this deployment's limits. */
function webhookFieldSchemas(settings: DeploymentSettings) {
  const Url = z
    .string()
    .min(1, 'is required')
    .max(MAX_URL_LENGTH, `must be at most ${MAX_URL_LENGTH} characters long`)
    .openapi({
      format: 'uri',
      description:
        'HTTPS endpoint receiving deliveries. Its host must not resolve to a private, loopback, link-local or ' +
        'metadata address (plain http only for private targets the deployment allows).',
      example: 'https://example.com/webhooks/hookline',
    });

  const Headers = customHeadersSchema(settings);
  const Name = z.string().min(1).max(MAX_NAME_LENGTH).openapi({ example: 'Production receiver' });
  const Description = z.string().max(MAX_DESCRIPTION_LENGTH).openapi({ example: 'Thread events for the billing service' });
  const TimeoutSeconds = z
    .number()
    .int()
    .min(1)
    .max(settings.maxAttemptTimeoutSeconds)
    .openapi({
      description: `Per-attempt timeout in seconds, up to ${settings.maxAttemptTimeoutSeconds} (deployment setting maxAttemptTimeoutSeconds); default ${settings.attemptTimeoutSeconds}.`,
      example: 10,
    });
  const TlsVerify = z.boolean().openapi({
    description: settings.allowInsecureTls
      ? 'Verify the endpoint\'s TLS certificate (default true). false skips the check: anyone on the path can then read and alter deliveries.'
      : 'Verify the endpoint\'s TLS certificate. Always true here: this deployment does not allow insecure TLS (setting allowInsecureTls).',
  });
  const MaxAttempts = z
    .number()
    .int()
    .min(1)
    .max(settings.maxAttempts)
    .openapi({ description: `Attempts per delivery round; default and ceiling ${settings.maxAttempts}.`, example: 5 });

  const RateLimitPerSecond = z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .openapi({
      description:
        'Deliveries per second to this endpoint, across all dispatchers; deliveries over it wait and consume no attempt.' +
        (settings.defaultRateLimitPerSecond > 0 ? ` Default ${settings.defaultRateLimitPerSecond}.` : ' Default: none.'),
      example: 20,
    });
  const MaxConcurrency = z
    .number()
    .int()
    .min(1)
    .max(1_000)
    .openapi({
      description:
        'Requests in flight at once to this endpoint, across all dispatchers. ' +
        `Without it, ${settings.endpointMaxConcurrency > 0 ? `${settings.endpointMaxConcurrency} applies while the endpoint is slow` : 'no cap applies'}.`,
      example: 5,
    });
  return { Url, Headers, Name, Description, TimeoutSeconds, TlsVerify, MaxAttempts, RateLimitPerSecond, MaxConcurrency };
}

/** A webhook's custom request headers: names and values HTTP allows, none Hookline sets itself. */
function customHeadersSchema(settings: DeploymentSettings) {
  const headerName = z
    .string()
    .max(MAX_HEADER_NAME_LENGTH, `must be at most ${MAX_HEADER_NAME_LENGTH} characters long`)
    .refine(isValidHeaderName, { error: "must be an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)" })
    .refine((name) => !PROTOTYPE_KEYS.has(name.toLowerCase()), { error: 'is not allowed as a header name' })
    .refine((name) => !isReservedHeaderName(name, settings.signatureHeaderPrefix), {
      error: (issue) => reservedHeaderReason(String(issue.input), settings.signatureHeaderPrefix),
    });

  return z
    .record(
      headerName,
      z
        .string()
        .max(MAX_HEADER_VALUE_LENGTH, `must be at most ${MAX_HEADER_VALUE_LENGTH} characters long`)
        .refine(isValidHeaderValue, { error: 'must be printable ASCII without line breaks or surrounding spaces' }),
    )
    .superRefine((headers, ctx) => {
      const names = Object.keys(headers);
      if (names.length > MAX_CUSTOM_HEADERS) {
        ctx.addIssue({ code: 'custom', path: [], message: `must have at most ${MAX_CUSTOM_HEADERS} headers` });
      }
      const total = names.reduce((sum, name) => sum + name.length + (headers[name]?.length ?? 0), 0);
      if (total > MAX_HEADERS_TOTAL_BYTES) {
        ctx.addIssue({ code: 'custom', path: [], message: `must be at most ${MAX_HEADERS_TOTAL_BYTES} bytes in all` });
      }
      const seen = new Set<string>();
      for (const name of names) {
        const lower = name.toLowerCase();
        if (seen.has(lower)) ctx.addIssue({ code: 'custom', path: [name], message: 'repeats a header name (names are case-insensitive)' });
        seen.add(lower);
      }
    })
    .openapi({
      description:
        `Extra request headers (at most ${MAX_CUSTOM_HEADERS}). They cannot override content-type, user-agent, ` +
        `webhook-* or ${settings.signatureHeaderPrefix}-* headers, nor set headers that change how the request is ` +
        'framed, decoded or routed (host, content-length, content-encoding, transfer-encoding, te, trailer, connection, ' +
        'keep-alive, upgrade, expect, proxy-*, x-http-method-override and the like).',
      example: { 'X-Customer': 'acme' },
    });

}

function webhookSchemas(settings: DeploymentSettings, Events: z.ZodType<string[]>) {
  const fields = webhookFieldSchemas(settings);
  const { Url, Headers, Name, Description, TimeoutSeconds, TlsVerify, MaxAttempts, RateLimitPerSecond, MaxConcurrency } = fields;
  const refuseInsecureTls = insecureTlsRefusal(settings);

  const CreateWebhook = z
    .strictObject({
      url: Url,
      events: Events.optional(),
      name: Name.optional(),
      description: Description.optional(),
      enabled: z.boolean().optional().openapi({ description: 'Default true.' }),
      headers: Headers.optional(),
      timeoutSeconds: TimeoutSeconds.optional(),
      maxAttempts: MaxAttempts.optional(),
      rateLimitPerSecond: RateLimitPerSecond.optional(),
      maxConcurrency: MaxConcurrency.optional(),
      tlsVerify: TlsVerify.optional(),
    })
    .superRefine(refuseInsecureTls)
    .openapi('CreateWebhookRequest', {
      example: { url: 'https://example.com/webhooks/hookline', events: ['thread.completed'], name: 'Production receiver' },
    });

  const UpdateWebhook = z
    .strictObject({
      url: Url.optional(),
      events: Events.nullable().optional(),
      name: Name.nullable().optional(),
      description: Description.nullable().optional(),
      enabled: z.boolean().optional().openapi({ description: 'true re-enables a subscription Hookline disabled.' }),
      headers: Headers.nullable().optional(),
      timeoutSeconds: TimeoutSeconds.nullable().optional(),
      maxAttempts: MaxAttempts.nullable().optional(),
      rateLimitPerSecond: RateLimitPerSecond.nullable().optional(),
      maxConcurrency: MaxConcurrency.nullable().optional(),
      tlsVerify: TlsVerify.optional(),
    })
    .superRefine(refuseInsecureTls)
    .refine((patch) => Object.values(patch).some((value) => value !== undefined), {
      error: 'must change at least one field',
    })
    .openapi('UpdateWebhookRequest', {
      description: 'Partial update; `null` removes an optional field.',
      example: { enabled: false },
    });

  const Webhook = webhookView();
  const WebhookWithSecret = Webhook.extend({
    secret: z.string().openapi({
      description: 'The signing secret, shown only by create and rotate.',
      example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    }),
  }).openapi('WebhookWithSecret');

  return { CreateWebhook, UpdateWebhook, Webhook, WebhookWithSecret };
}

/** A create or an update may turn TLS verification off only where the deployment allows it. */
function insecureTlsRefusal(settings: DeploymentSettings) {
  return (input: { tlsVerify?: boolean | undefined }, ctx: z.RefinementCtx): void => {
    if (input.tlsVerify === false && !settings.allowInsecureTls) {
      ctx.addIssue({
        code: 'custom',
        path: ['tlsVerify'],
        message: 'can be false only where the deployment allows insecure TLS (setting allowInsecureTls), and this one does not',
      });
    }
  };
}

/** A webhook as the API shows it (never its secret: WebhookWithSecret adds that for create and rotate). */
function webhookView() {
  return z
    .object({
      id: z.string().openapi({ example: 'wh_01J0Z8K7Q3N5X2B4C6D8E0F1G2' }),
      fleetId: z.string().openapi({ example: 'fleet_abc123' }),
      url: z.string(),
      events: z.array(z.string()).openapi({ description: 'Empty: every event type but webhook.test.' }),
      enabled: z.boolean(),
      createdAt: z.string(),
      updatedAt: z.string(),
      name: z.string().optional(),
      description: z.string().optional(),
      headers: z.record(z.string(), z.string()).optional(),
      timeoutSeconds: z.number().int().optional(),
      maxAttempts: z.number().int().optional(),
      tlsVerify: z.boolean().openapi({ description: 'Whether deliveries verify the endpoint\'s TLS certificate.' }),
      disabledReason: z.string().optional().openapi({ description: 'Why Hookline disabled it (e.g. the endpoint answered 410).' }),
      lastTriggeredAt: z.string().optional().openapi({ description: 'When Hookline last attempted a delivery to this endpoint (kept to the minute).' }),
      rateLimitPerSecond: z.number().int().optional(),
      maxConcurrency: z.number().int().optional(),
      health: z
        .object({
          state: z.enum(['closed', 'open', 'half-open']).openapi({ description: 'The circuit: open means deliveries wait for a probe.' }),
          consecutiveFailures: z.number().int(),
          since: z.string().optional().openapi({ description: 'When the circuit opened.' }),
          nextProbeAt: z.string().optional(),
          lastError: z.string().optional(),
          slow: z.boolean().openapi({ description: 'Attempts take long enough for the concurrency cap to apply.' }),
        })
        .openapi('EndpointHealth'),
    })
    .openapi('Webhook');
}

/** Deliveries: the list filter, the summary a list shows and the whole record with its attempts. */
function deliverySchemas(AnyEventType: z.ZodType<string>) {
  const DeliveryStatus = z.enum(DELIVERY_STATUSES).openapi('DeliveryStatus');
  const DeliveryListQuery = z
    .strictObject({
      ...PAGE_QUERY_FIELDS,
      status: DeliveryStatus.optional(),
      eventType: AnyEventType.optional(),
      since: isoDateTime().optional().openapi({ description: 'Deliveries created at or after this time.' }),
      until: isoDateTime().optional().openapi({ description: 'Deliveries created at or before this time.' }),
    })
    .refine(sinceBeforeUntil, { error: 'must not be before since', path: ['until'] });
  const { DeliverySummary, Delivery } = deliveryViews(DeliveryStatus);
  return { DeliveryListQuery, DeliverySummary, Delivery, DeliveryPage: page(DeliverySummary, 'DeliveryPage') };
}

/** A delivery as a list shows it (the summary) and as its own page does (attempts and payload). */
function deliveryViews(DeliveryStatus: z.ZodType<(typeof DELIVERY_STATUSES)[number]>) {
  const ErrorKind = z.enum(['timeout', 'connection', 'dns', 'tls', 'http', 'blocked', 'interrupted']);

  const DeliverySummary = z
    .object({
      id: z.string().openapi({ example: 'dlv_01J0Z8K7Q3ABCDEFGHJKMNPQRS' }),
      fleetId: z.string(),
      webhookId: z.string(),
      eventId: z.string(),
      eventType: z.string(),
      webhookUrl: z.string(),
      status: DeliveryStatus,
      attemptCount: z.number().int(),
      lastAttemptAt: z.string().optional(),
      httpStatusCode: z.number().int().optional(),
      latencyMs: z.number().optional(),
      responseContentLength: z.number().int().optional(),
      errorMessage: z.string().optional(),
      errorKind: ErrorKind.optional(),
      nextAttemptAt: z.string().optional(),
      createdAt: z.string(),
      updatedAt: z.string(),
    })
    .openapi('DeliverySummary');

  const Attempt = attemptView(ErrorKind);

  const DeliveryPayload = z
    .object({
      body: z.string().openapi({ description: 'The JSON envelope exactly as POSTed and signed.' }),
      headers: z.record(z.string(), z.string()).openapi({
        description:
          'The request headers of the latest attempt. Signatures are computed per attempt and never stored: ' +
          'their values are shown truncated.',
      }),
    })
    .openapi('DeliveryPayload');

  const Delivery = DeliverySummary.extend({
    round: z.number().int().optional().openapi({ description: 'Rounds started so far.' }),
    responseHeaders: z.record(z.string(), z.string()).optional().openapi({ description: "The latest attempt's response headers (see Attempt)." }),
    attempts: z.array(Attempt),
    payload: DeliveryPayload.nullable().openapi({ description: 'What was sent; null once the event is past its retention.' }),
  }).openapi('Delivery');

  return { DeliverySummary, Delivery };
}

/** One attempt as a delivery's page lists it. */
function attemptView(ErrorKind: z.ZodType<string>) {
  return z
    .object({
      round: z.number().int().openapi({ description: 'Round of the delivery (a retry request, replay or DLQ redrive starts a new one).' }),
      attempt: z.number().int().openapi({ description: 'Attempt number within its round.' }),
      at: z.string(),
      statusCode: z.number().int().optional(),
      latencyMs: z.number(),
      responseContentLength: z.number().int().optional(),
      responseHeaders: z.record(z.string(), z.string()).optional().openapi({
        description:
          'A selection of the response headers, at most 256 bytes: content-type, retry-after, location and www-authenticate first, ' +
          'then the others in the order sent (request and trace ids, server). Headers recorded otherwise or added to every answer ' +
          '(date, content-length, caching, connection, CORS and browser security headers, x-powered-by) and set-cookie are not kept.',
      }),
      responseBodyExcerpt: z.string().optional().openapi({
        description: 'The first 1 KB of the response body (cut on a whole UTF-8 character); the rest is never read.',
      }),
      errorKind: ErrorKind.optional(),
      errorMessage: z.string().optional(),
      retryInSeconds: z.number().optional(),
    })
    .openapi('Attempt');
}

function replaySchemas(settings: DeploymentSettings) {
  const ReplayRequest = z
    .strictObject({ since: isoDateTime(), until: isoDateTime() })
    .superRefine((range, ctx) => {
      const since = Date.parse(range.since);
      const until = Date.parse(range.until);
      if (since >= until) ctx.addIssue({ code: 'custom', path: ['until'], message: 'must be after since' });
      else if (until - since > settings.maxReplayDays * 86_400_000) {
        ctx.addIssue({ code: 'custom', path: ['until'], message: `must be at most ${settings.maxReplayDays} days after since` });
      }
    })
    .openapi('ReplayRequest', {
      description: `A time range of at most ${settings.maxReplayDays} days within the event retention.`,
      example: { since: '2024-05-01T00:00:00Z', until: '2024-05-02T00:00:00Z' },
    });

  const ReplayResult = z
    .object({
      enqueued: z.number().int().openapi({ description: 'Deliveries enqueued by this request.' }),
      continued: z.boolean().openapi({ description: 'True when the rest of the range is being enqueued asynchronously.' }),
    })
    .openapi('ReplayResult');

  return { ReplayRequest, ReplayResult };
}

function publishSchemas(SubscribableEventType: z.ZodType<string>) {
  const PublishRequest = z
    .strictObject({
      type: SubscribableEventType,
      data: z
        .custom<Record<string, unknown>>(isPlainObject, { error: requiredOr('must be a JSON object') })
        .superRefine((data, ctx) => {
          const problem = eventDataDepthProblem(data);
          if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
        })
        .openapi({ type: 'object', additionalProperties: true, example: { threadId: 'thr_123', status: 'completed' } }),
      id: z
        .string()
        .regex(EVENT_ID, 'must be 1-128 letters, digits or . _ : -')
        .optional()
        .openapi({ description: 'Your own event id; a repeat publish with it is a no-op.', example: 'evt_order_42' }),
    })
    .openapi('PublishEventRequest', {
      example: { type: 'thread.completed', data: { threadId: 'thr_123', status: 'completed' } },
    });

  const IdempotencyKey = z
    .string()
    .max(MAX_IDEMPOTENCY_KEY_LENGTH, `must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters long`)
    .regex(IDEMPOTENCY_KEY, 'must be visible ASCII without spaces')
    .openapi({ description: 'A repeat publish with the same key within 24 hours returns the first event id.', example: 'order-42-completed' });

  const PublishResult = z
    .object({
      id: z.string().openapi({ example: 'evt_01J0Z8K7Q3N5X2B4C6D8E0F1G2' }),
      duplicate: z.boolean().optional().openapi({
        description: 'true when this was an identical repeat (same id or idempotency-key): nothing new was sent.',
      }),
    })
    .openapi('PublishEventResult');
  return { PublishRequest, IdempotencyKey, PublishResult };
}

/** What the test and retry actions answer. */
function resultSchemas() {
  const TestResult = z
    .object({ deliveryId: z.string(), eventId: z.string() })
    .openapi('TestDeliveryResult');
  const RetryResult = z.object({ deliveryId: z.string() }).openapi('RetryDeliveryResult');

  return { TestResult, RetryResult };
}

/** Every 4xx and 5xx answer's body. */
function errorSchema() {
  return z
    .object({
      error: z.object({
        code: z.string().openapi({ example: 'invalid_request' }),
        message: z.string().openapi({ example: 'The request body is invalid.' }),
        details: z
          .array(z.object({ field: z.string(), reason: z.string() }))
          .optional()
          .openapi({ example: [{ field: 'url', reason: 'must use https' }] }),
        requestId: z.string().optional().openapi({ description: 'Present on 5xx answers.' }),
      }),
    })
    .openapi('Error');
}

export type ApiSchemas = ReturnType<typeof buildSchemas>;
export type CreateWebhookInput = z.infer<ApiSchemas['CreateWebhook']>;
export type UpdateWebhookInput = z.infer<ApiSchemas['UpdateWebhook']>;
export type DeliveryListQuery = z.infer<ApiSchemas['DeliveryListQuery']>;
export type PublishInput = z.infer<ApiSchemas['PublishRequest']>;
