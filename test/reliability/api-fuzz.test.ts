import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_OVERHEAD_BYTES } from '../../lambdas/api/api';
import { deliveryIdFor, newSubscriptionId } from '../../lambdas/core/ids';
import { encodeCursor } from '../../lambdas/shared/cursor';
import { startApiStack, tokenSecretOf, type ApiAnswer, type ApiStack } from './support/api-stack';
import { captureOutput, type OutputCapture } from './support/log-capture';
import { PUBLIC_V4, PUBLIC_V6, tableResolver } from './support/resolver';

/**
 * Hostile input, generated: ≥ 10,000 requests over every route through the deployed API wiring
 * (real router, auth, validation, routes and stores on the local stand-ins). Every answer must be
 * below 500, every 4xx must name a field (or the body), and the service must still work after.
 */

// HOOKLINE_FUZZ_RUNS raises the count for a deeper local run; the suite's own run is 10,000.
const RUNS = Math.max(Number(process.env.HOOKLINE_FUZZ_MIN ?? 10_000), Number(process.env.HOOKLINE_FUZZ_RUNS ?? 0));
const FLEET_A = 'fleet-a';
const FLEET_B = 'fleet-b';

const ROUTES = [
  { method: 'POST', path: '/fleets/{fleetId}/webhooks' },
  { method: 'GET', path: '/fleets/{fleetId}/webhooks' },
  { method: 'GET', path: '/fleets/{fleetId}/webhooks/{id}' },
  { method: 'PATCH', path: '/fleets/{fleetId}/webhooks/{id}' },
  { method: 'DELETE', path: '/fleets/{fleetId}/webhooks/{id}' },
  { method: 'POST', path: '/fleets/{fleetId}/webhooks/{id}/rotate' },
  { method: 'POST', path: '/fleets/{fleetId}/webhooks/{id}/test' },
  { method: 'GET', path: '/fleets/{fleetId}/webhooks/{id}/deliveries' },
  { method: 'POST', path: '/fleets/{fleetId}/webhooks/{id}/replay' },
  { method: 'GET', path: '/fleets/{fleetId}/deliveries/{id}' },
  { method: 'POST', path: '/fleets/{fleetId}/deliveries/{id}/retry' },
  { method: 'POST', path: '/fleets/{fleetId}/events' },
  { method: 'GET', path: '/openapi.json' },
] as const;
type Route = (typeof ROUTES)[number];

interface World {
  tokens: { a: string; b: string; all: string; none: string; revoked: string };
  webhooksA: string[];
  webhooksB: string[];
  deliveriesA: string[];
  deliveriesB: string[];
}

let stack: ApiStack;
let output: OutputCapture;
let world: World;

const resolver = tableResolver({
  'example.com': [PUBLIC_V4],
  'hooks.example.com': [PUBLIC_V4, PUBLIC_V6],
  'internal.example.com': ['10.0.0.5'],
  'loopback.example.com': ['127.0.0.1'],
});

async function seedFleet(fleetId: string, token: string): Promise<{ webhooks: string[]; deliveries: string[] }> {
  const webhooks: string[] = [];
  for (let index = 0; index < 3; index += 1) {
    const created = await stack.call('POST', `/fleets/${fleetId}/webhooks`, {
      token,
      body: { url: `https://example.com/${fleetId}/${index}`, name: `seed ${index}` },
    });
    expect(created.status).toBe(201);
    webhooks.push(created.body.id);
  }
  const deliveries: string[] = [];
  const timestamp = new Date(Date.now() - 60_000).toISOString();
  for (const [index, webhook] of webhooks.entries()) {
    const eventId = `evt-seed-${fleetId}-${index}`;
    await stack.events.putIfAbsent({
      fleetId,
      id: eventId,
      type: 'thread.completed',
      timestamp,
      data: { seed: index },
           source: 'api',
      expiresAt: 2_000_000_000,
    });
    const id = deliveryIdFor(fleetId, eventId, webhook, timestamp);
    await stack.deliveries.recordAttempt({
      identity: { id, fleetId, subscriptionId: webhook, eventId, eventType: 'thread.completed', webhookUrl: `https://example.com/${fleetId}/${index}` },
      attempt: { key: `seed:${index}`, attempt: 1, at: timestamp, statusCode: 500, latencyMs: 3 },
      status: 'failed',
      now: timestamp,
      expiresAt: 2_000_000_000,
    });
    deliveries.push(id);
  }
  return { webhooks, deliveries };
}

beforeAll(async () => {
  stack = await startApiStack({ resolve: resolver });
  const [a, b, all, none, revoked] = await Promise.all([
    stack.issueToken([FLEET_A]),
    stack.issueToken([FLEET_B]),
    stack.issueToken(['*']),
    stack.issueToken([]),
    stack.issueToken([FLEET_A]),
  ]);
  await stack.tokens.delete(revoked.id);
  const seededA = await seedFleet(FLEET_A, a.token);
  const seededB = await seedFleet(FLEET_B, b.token);
  world = {
    tokens: { a: a.token, b: b.token, all: all.token, none: none.token, revoked: revoked.token },
    webhooksA: seededA.webhooks,
    webhooksB: seededB.webhooks,
    deliveriesA: seededA.deliveries,
    deliveriesB: seededB.deliveries,
  };
  output = captureOutput();
}, 60_000);

afterAll(async () => {
  output?.restore();
  await stack?.stop();
});

// ---------- generators ----------

const unicode = fc.string({ unit: 'binary', maxLength: 40 });
const hostileStrings = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 3, arbitrary: unicode },
  { weight: 2, arbitrary: fc.constantFrom('', ' ', '__proto__', 'constructor', 'prototype', 'null', 'undefined', 'NaN', '../..', '%00', '\u0000', '\ud800', '🙂'.repeat(50), '${jndi:x}', "' OR 1=1 --") },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 5_000 }).map((length) => 'x'.repeat(length)) },
);

const segment = (values: readonly string[]) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...values) },
    { weight: 2, arbitrary: fc.constant(null).map(() => newSubscriptionId()) },
    { weight: 2, arbitrary: hostileStrings },
    { weight: 1, arbitrary: fc.ulid().map((ulid) => `dlv_${ulid}`) },
  );

const fleetSegment = fc.oneof(
  { weight: 12, arbitrary: fc.constant(FLEET_A) },
  { weight: 2, arbitrary: fc.constant(FLEET_B) },
  { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/) },
  { weight: 2, arbitrary: hostileStrings },
);


/** Percent-encodes UTF-8 bytes; unlike encodeURIComponent it accepts lone surrogates (as U+FFFD, like a client would send). */
function percentEncode(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((byte) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');
}

/** A path segment as a client might send it: encoded, raw, or encoded twice. */
const encoded = (value: fc.Arbitrary<string>) =>
  fc.tuple(value, fc.constantFrom('encode', 'encode', 'encode', 'raw', 'double')).map(([text, how]) => {
    if (how === 'raw') return text;
    const once = percentEncode(text);
    return how === 'double' ? percentEncode(once) : once;
  });

const isoTimes = fc.oneof(
  fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((date) => date.toISOString()),
  fc.constant(null).map(() => new Date(Date.now() - 3_600_000).toISOString()),
  fc.constantFrom('2024-05-01T12:00:00+02:00', '2024-13-01T00:00:00Z', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59Z', 'yesterday', '1714560000'),
);

/** Cursors of the right shape with hostile values: forged pagination must stay a 4xx. */
const forgedCursor = fc
  .tuple(
    fc.constantFrom(['fleetId', 'id'], ['id', 'subscriptionId', 'createdKey'], ['id', 'subscriptionStatus', 'createdKey'], ['x']),
    fc.array(fc.oneof(fc.constant(FLEET_A), fc.constant(FLEET_B), hostileStrings, fc.integer({ min: 1_000, max: 2_000 }).map((n) => 'k'.repeat(n))), {
      minLength: 3,
      maxLength: 3,
    }),
  )
  .map(([keys, values]) => encodeCursor(Object.fromEntries(keys.map((key, index) => [key, values[index]]))) as string);

const queryValue = fc.oneof(
  fc.integer({ min: -5, max: 1_000 }).map(String),
  fc.constantFrom('1e2', '0x10', '50.5', 'Infinity', '-0', ''),
  fc.constantFrom('pending', 'succeeded', 'failed', 'disabled', 'thread.completed', 'webhook.test'),
  isoTimes,
  forgedCursor,
  hostileStrings,
);
const queryKey = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('limit', 'cursor', 'status', 'eventType', 'since', 'until') },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'hasOwnProperty', 'toString') },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 10 }) },
);
const query = fc.option(
  fc.dictionary(queryKey, fc.oneof({ weight: 5, arbitrary: queryValue }, { weight: 1, arbitrary: fc.array(queryValue, { minLength: 2, maxLength: 3 }) }), {
    maxKeys: 4,
  }),
  { nil: undefined, freq: 2 },
);

const urls = fc.oneof(
  fc.constantFrom(
    'https://example.com/hook',
    'https://hooks.example.com/a?b=c',
    'https://internal.example.com/x',
    'https://loopback.example.com/x',
    'https://nx.example.com/',
    'http://example.com/plain',
    'https://127.0.0.1/',
    'https://[::1]/',
    'https://169.254.169.254/latest/meta-data',
    'https://user:pass@example.com/',
    'https://example.com/#frag',
    'ftp://example.com/',
    'https://exa mple.com/',
    'javascript:alert(1)',
    'https://example.com:99999/',
    'https://xn--80ak6aa92e.com/',
  ),
  fc.webUrl({ withQueryParameters: true }),
  hostileStrings,
);
const events = fc.oneof(
  fc.subarray(['thread.completed', 'agent.created', 'approval.requested', 'turn.failed']),
  fc.array(fc.constantFrom('thread.completed', 'webhook.test', 'no.such.type', 'THREAD.COMPLETED', ''), { maxLength: 5 }),
  fc.constant(null),
  hostileStrings,
);
const headerMaps = fc.oneof(
  fc.dictionary(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/), fc.stringMatching(/^[!-~]{1,30}$/), { maxKeys: 25 }),
  fc.dictionary(
    fc.oneof(fc.constantFrom('content-type', 'webhook-id', 'X-Webhook-Signature', 'Host', '__proto__', 'constructor', 'bad name', ''), unicode),
    fc.oneof(hostileStrings, fc.integer()),
    { maxKeys: 5 },
  ),
  fc.constant(null),
);
const numbers = fc.oneof(
  fc.integer({ min: -10, max: 100 }),
  fc.double(),
  fc.constantFrom(0, 1, 30, 31, 9, 10, 1e308, -0),
  fc.string({ maxLength: 4 }),
  fc.constant(null),
);

/** Field values of the right name with any shape; unknown keys and prototype keys mixed in. */
function shapedBody(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(
      fc.record(fields, { requiredKeys: [] }),
      fc.option(fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('constructor', 'prototype', 'id', 'secret')), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }), {
        nil: undefined,
        freq: 4,
      }),
    )
    .map(([known, extra]) => ({ ...known, ...extra }));
}

/** Bodies that pass validation (mostly), so the fuzz also reaches the stores and queues. */
const validBodies: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  'POST /fleets/{fleetId}/webhooks': fc.record(
    {
      url: fc.constantFrom('https://example.com/ok', 'https://hooks.example.com/a?b=1', 'https://example.com:8443/deep/path'),
      events: fc.subarray(['thread.completed', 'agent.created', 'approval.requested']),
      name: fc.string({ minLength: 1, maxLength: 50 }),
      description: fc.string({ maxLength: 100 }),
      enabled: fc.boolean(),
      headers: fc.dictionary(fc.stringMatching(/^X-[A-Za-z0-9]{1,10}$/), fc.stringMatching(/^[!-~]{1,20}$/), { maxKeys: 20 }),
      timeoutSeconds: fc.integer({ min: 1, max: 30 }),
      maxAttempts: fc.integer({ min: 1, max: 9 }),
    },
    { requiredKeys: ['url'] },
  ),
  'PATCH /fleets/{fleetId}/webhooks/{id}': fc.record(
    {
      url: fc.constantFrom('https://example.com/patched', 'https://hooks.example.com/p'),
      events: fc.oneof(fc.constant(null), fc.subarray(['thread.completed', 'turn.failed'])),
      name: fc.oneof(fc.constant(null), fc.string({ minLength: 1, maxLength: 20 })),
      enabled: fc.boolean(),
      timeoutSeconds: fc.oneof(fc.constant(null), fc.integer({ min: 1, max: 30 })),
    },
    { requiredKeys: ['enabled'] },
  ),
  'POST /fleets/{fleetId}/webhooks/{id}/replay': fc.integer({ min: 1, max: 48 }).map((hours) => ({
    since: new Date(Date.now() - hours * 3_600_000).toISOString(),
    until: new Date().toISOString(),
  })),
  'POST /fleets/{fleetId}/events': fc.record(
    {
      type: fc.constantFrom('thread.completed', 'approval.requested', 'agent.created'),
      data: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
      id: fc.stringMatching(/^[A-Za-z0-9._:-]{1,40}$/),
    },
    { requiredKeys: ['type', 'data'] },
  ),
};

const bodies: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  'POST /fleets/{fleetId}/webhooks': shapedBody({
    url: urls,
    events,
    name: hostileStrings,
    description: hostileStrings,
    enabled: fc.oneof(fc.boolean(), hostileStrings),
    headers: headerMaps,
    timeoutSeconds: numbers,
    maxAttempts: numbers,
  }),
  'PATCH /fleets/{fleetId}/webhooks/{id}': shapedBody({
    url: urls,
    events,
    name: fc.oneof(hostileStrings, fc.constant(null)),
    description: fc.oneof(hostileStrings, fc.constant(null)),
    enabled: fc.oneof(fc.boolean(), hostileStrings),
    headers: headerMaps,
    timeoutSeconds: numbers,
    maxAttempts: numbers,
  }),
  'POST /fleets/{fleetId}/webhooks/{id}/replay': shapedBody({ since: isoTimes, until: isoTimes }),
  'POST /fleets/{fleetId}/events': shapedBody({
    type: fc.oneof(fc.constantFrom('thread.completed', 'approval.requested', 'webhook.test', 'nope'), hostileStrings),
    data: fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }))),
    id: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/), hostileStrings),
  }),
};

/** Bodies that are not objects of the route's shape at all. */
const rawBodies = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 5 }).map((value) => JSON.stringify(value)) },
  { weight: 3, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 2, arbitrary: fc.constantFrom('{', '{"url":', '[1,2', 'nul', '{"a":1}{"b":2}', '\ufeff{}', '{"url":"https://example.com/"\u0000}') },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.constantFrom('url', 'data', 'headers', 'events'))
      .map(([key, field]) => `{"${field}":{"${key}":{"polluted":true}},"${key}":{"polluted":true},"type":"thread.completed","url":"https://example.com/p"}`),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: 30, max: 50_000 }), fc.constantFrom('[', '{"a":'), fc.boolean())
      .map(([depth, open, asData]) => {
        const close = open === '[' ? ']' : '}';
        const nested = `${open.repeat(depth)}1${close.repeat(depth)}`;
        return asData ? `{"type":"thread.completed","data":{"deep":${nested}}}` : nested;
      }),
  },
  {
    weight: 1,
    // Past the API's body limit (maxPayloadBytes + overhead): refused with 413, never parsed.
    arbitrary: fc.integer({ min: 1, max: 1_000 }).map((extra) => `{"data":"${'x'.repeat(65_536 + BODY_OVERHEAD_BYTES + extra)}"}`),
  },
  {
    weight: 1,
    // Inside the body limit but over maxPayloadBytes for the event data itself.
    arbitrary: fc.integer({ min: 1, max: 2_000 }).map((extra) => `{"type":"thread.completed","data":{"blob":"${'y'.repeat(65_536 + extra)}"}}`),
  },
);

const authorization = fc.oneof(
  { weight: 14, arbitrary: fc.constant('a') },
  { weight: 2, arbitrary: fc.constantFrom('b', 'all', 'none', 'revoked') },
  { weight: 1, arbitrary: fc.constantFrom('missing', 'garbage', 'basic', 'tampered') },
  { weight: 1, arbitrary: fc.oneof(hostileStrings.map((value) => `raw:${value}`), hostileStrings.map((value) => `raw:Bearer ${value}`), hostileStrings.map((value) => `raw:Bearer hlk_tok_${value}`)) },
);

interface GeneratedRequest {
  route: Route;
  method: string;
  fleet: string;
  id: string;
  tail: string;
  query: Record<string, string | string[]> | undefined;
  auth: string;
  body: { kind: 'shaped'; value: Record<string, unknown> } | { kind: 'raw'; value: string } | { kind: 'none' };
  idempotencyKey: string | undefined;
}

/** Built once the seeded ids exist: path ids are mostly real ones, of both fleets. */
const requestArbitrary = (): fc.Arbitrary<GeneratedRequest> => {
  const idSegment = segment([...world.webhooksA, ...world.deliveriesA, ...world.webhooksB, ...world.deliveriesB]);
  return fc
  .constantFrom(...ROUTES)
  .chain((route) =>
    fc.record({
      route: fc.constant(route),
      method: fc.oneof({ weight: 9, arbitrary: fc.constant<string>(route.method) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS', 'HEAD') }),
      fleet: encoded(fleetSegment),
      id: encoded(idSegment),
      tail: fc.oneof({ weight: 20, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('/', '//', '/extra', '/..', '/%2e%2e') }),
      query,
      auth: authorization,
      body: fc.oneof(
        { weight: validBodies[`${route.method} ${route.path}`] === undefined ? 0 : 4, arbitrary: (validBodies[`${route.method} ${route.path}`] ?? fc.constant({})).map((value) => ({ kind: 'shaped' as const, value })) },
        { weight: bodies[`${route.method} ${route.path}`] === undefined ? 0 : 5, arbitrary: (bodies[`${route.method} ${route.path}`] ?? fc.constant({})).map((value) => ({ kind: 'shaped' as const, value })) },
        { weight: 3, arbitrary: rawBodies.map((value) => ({ kind: 'raw' as const, value })) },
        { weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
      ),
      idempotencyKey: fc.option(fc.oneof(fc.stringMatching(/^[!-~]{1,20}$/), hostileStrings), { nil: undefined, freq: 4 }),
    }),
  );
};

function tokenHeader(auth: string): string | null {
  const { tokens } = world;
  if (auth.startsWith('raw:')) return auth;
  switch (auth) {
    case 'missing':
      return null;
    case 'garbage':
      return 'raw:Bearer hlk_not_a_token';
    case 'basic':
      return 'raw:Basic dXNlcjpwYXNz';
    case 'tampered':
      return `${tokens.a.slice(0, -2)}${tokens.a.endsWith('AA') ? 'BB' : 'AA'}`;
    default:
      return tokens[auth as keyof World['tokens']];
  }
}

function pathOf(generated: GeneratedRequest): string {
  return generated.route.path.replace('{fleetId}', generated.fleet).replace('{id}', generated.id) + generated.tail;
}

// ---------- checks ----------

/** A real signing secret (the OpenAPI example is deliberately shorter). */
const SIGNING_SECRET = /whsec_[A-Za-z0-9+/]{43}=/;

interface Problem {
  request: string;
  status: number;
  body: string;
}

/** What every answer must satisfy; returns a description of what is wrong, or undefined. */
function judge(answer: ApiAnswer, generated: GeneratedRequest): string | undefined {
  if (answer.status >= 500) return '5xx';
  if (answer.status >= 400) {
    const details = answer.body?.error?.details;
    if (!Array.isArray(details) || details.length === 0) return '4xx without details';
    for (const detail of details) {
      if (typeof detail?.field !== 'string' || detail.field === '' || typeof detail?.reason !== 'string' || detail.reason === '') {
        return '4xx detail without a field and a reason';
      }
    }
  }
  const mayShowSecret =
    answer.status < 300 &&
    ((generated.route.path === '/fleets/{fleetId}/webhooks' && generated.method === 'POST') || generated.route.path.endsWith('/rotate'));
  if (!mayShowSecret && SIGNING_SECRET.test(answer.raw)) return 'a signing secret in a response that is not create/rotate';
  if (Object.values(world.tokens).some((token) => answer.raw.includes(tokenSecretOf(token)))) return 'a token in a response';
  return undefined;
}

describe('API fuzz', () => {
  it(`answers ${RUNS} generated requests over every route with no 5xx and a named field on every 4xx`, { timeout: 240_000 }, async () => {
    const problems: Problem[] = [];
    const perRoute = new Map<string, number>();
    const statuses = new Map<number, number>();
    const prototypeKeysBefore = Object.getOwnPropertyNames(Object.prototype).sort();
    const seed = Number(process.env.HOOKLINE_FUZZ_SEED ?? Date.now() % 2 ** 31);

    await fc.assert(
      fc.asyncProperty(requestArbitrary(), async (generated) => {
        const path = pathOf(generated);
        const token = tokenHeader(generated.auth);
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (generated.idempotencyKey !== undefined) headers['idempotency-key'] = generated.idempotencyKey;
        const body = generated.body;
        const answer = await stack.call(generated.method, path, {
          token,
          headers,
          ...(generated.query === undefined ? {} : { query: generated.query }),
          ...(body.kind === 'shaped' ? { body: body.value } : body.kind === 'raw' ? { rawBody: body.value } : {}),
        });
        perRoute.set(generated.route.path, (perRoute.get(generated.route.path) ?? 0) + 1);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        const wrong = judge(answer, generated);
        if (wrong !== undefined && problems.length < 20) {
          const sent = body.kind === 'none' ? '' : (body.kind === 'raw' ? body.value : JSON.stringify(body.value)).slice(0, 300);
          problems.push({ request: `${wrong}: ${generated.method} ${path.slice(0, 200)} ${JSON.stringify(generated.query ?? {}).slice(0, 200)} ${sent}`, status: answer.status, body: answer.raw.slice(0, 300) });
        }
        return true;
      }),
      { numRuns: RUNS, seed, endOnFailure: true },
    );

    expect(problems, `seed ${seed}`).toEqual([]);
    const total = [...perRoute.values()].reduce((sum, count) => sum + count, 0);
    expect(total).toBe(RUNS);
    for (const route of ROUTES) expect(perRoute.get(route.path) ?? 0, route.path).toBeGreaterThanOrEqual(RUNS / ROUTES.length / 2);
    // The generators reach past validation: successes and each kind of refusal all happen.
    for (const status of [200, 201, 202, 204, 400, 401, 404, 405, 413]) expect(statuses.get(status) ?? 0, `HTTP ${status}`).toBeGreaterThan(0);
    // No prototype pollution survived the `__proto__` / `constructor` bodies.
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeysBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // Every failure the API logged was a handled one: no 'request failed' (the 5xx path).
    expect(output.logLines().filter((line) => line.message === 'request failed')).toEqual([]);
  });

  it('still works afterwards: create, read, publish, list deliveries, and fleets stay apart', async () => {
    const { tokens } = world;
    const created = await stack.call('POST', `/fleets/${FLEET_A}/webhooks`, {
      token: tokens.a,
      body: { url: 'https://hooks.example.com/after-fuzz', events: ['thread.completed'] },
    });
    expect(created.status).toBe(201);
    const read = await stack.call('GET', `/fleets/${FLEET_A}/webhooks/${created.body.id}`, { token: tokens.a });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: created.body.id, url: 'https://hooks.example.com/after-fuzz', events: ['thread.completed'] });
    expect(read.raw).not.toContain('whsec_');
    const published = await stack.call('POST', `/fleets/${FLEET_A}/events`, { token: tokens.a, body: { type: 'thread.completed', data: { ok: true } } });
    expect(published.status).toBe(202);
    const log = await stack.call('GET', `/fleets/${FLEET_A}/webhooks/${created.body.id}/deliveries`, { token: tokens.a });
    expect(log.status).toBe(200);
    const foreign = await stack.call('GET', `/fleets/${FLEET_B}/webhooks/${created.body.id}`, { token: tokens.b });
    expect(foreign.status).toBe(404);
    const openapi = await stack.call('GET', '/openapi.json', { token: null });
    expect(openapi.status).toBe(200);
  });
});
