import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_CACHE_TTL_MS } from '../../lambdas/api/auth';
import { deliveryIdFor, newSubscriptionId } from '../../lambdas/core/ids';
import { encodeCursor } from '../../lambdas/shared/cursor';
import { eventTimeKey } from '../../lambdas/shared/events-store';
import { startApiStack, type ApiAnswer, type ApiStack, type IssuedToken } from './support/api-stack';
import { PUBLIC_V4, tableResolver } from './support/resolver';
import { seedDeliveryAttempt } from '../support/seed-delivery';

/**
 * Tenancy, route by route: a token for fleet A never reaches fleet B's data (404, byte-identical to
 * a missing id, nothing of B in the answer), a token for no fleet reaches nothing, and a missing,
 * malformed, tampered or revoked token gets 401.
 */

const A = 'fleet-a';
const B = 'fleet-b';

interface Fleet {
  webhook: string;
  delivery: string;
  url: string;
  name: string;
}

let stack: ApiStack;
let sqs: SQSClient;
let tokenA: IssuedToken;
let tokenB: IssuedToken;
let fleetA: Fleet;
let fleetB: Fleet;

async function seed(fleetId: string, token: string): Promise<Fleet> {
  const url = `https://example.com/${fleetId}/private-endpoint`;
  const name = `${fleetId} secret project`;
  const created = await stack.call('POST', `/fleets/${fleetId}/webhooks`, { token, body: { url, name, headers: { 'X-Tenant-Key': `${fleetId}-key` } } });
  expect(created.status).toBe(201);
  const webhook = created.body.id as string;
  const timestamp = new Date(Date.now() - 60_000).toISOString();
  const eventId = `evt-${fleetId}-1`;
  await stack.events.putIfAbsent({
    fleetId,
    id: eventId,
    type: 'thread.completed',
    timestamp,
    data: { owner: fleetId },
    timeKey: eventTimeKey(timestamp, eventId),
    source: 'api',
    fannedOutAt: timestamp,
    expiresAt: 2_000_000_000,
  });
  const delivery = deliveryIdFor(fleetId, eventId, webhook, timestamp);
  await seedDeliveryAttempt(stack.deliveries, {
    identity: { id: delivery, fleetId, subscriptionId: webhook, eventId, eventType: 'thread.completed', webhookUrl: url },
    attempt: { attempt: 1, at: timestamp, statusCode: 503, latencyMs: 5, responseBodyExcerpt: `${fleetId} says no` },
    status: 'failed',
    now: timestamp,
    expiresAt: 2_000_000_000,
  });
  return { webhook, delivery, url, name };
}

beforeAll(async () => {
  stack = await startApiStack({ resolve: tableResolver({ 'example.com': [PUBLIC_V4] }) });
  sqs = new SQSClient({});
  tokenA = await stack.issueToken([A]);
  tokenB = await stack.issueToken([B]);
  fleetA = await seed(A, tokenA.token);
  fleetB = await seed(B, tokenB.token);
}, 60_000);

afterAll(async () => {
  sqs?.destroy();
  await stack?.stop();
});

interface RouteCase {
  name: string;
  method: string;
  path: (fleet: string, webhook: string, delivery: string) => string;
  body?: () => unknown;
}

const ROUTES: RouteCase[] = [
  { name: 'create webhook', method: 'POST', path: (f) => `/fleets/${f}/webhooks`, body: () => ({ url: 'https://example.com/intruder' }) },
  { name: 'list webhooks', method: 'GET', path: (f) => `/fleets/${f}/webhooks` },
  { name: 'get webhook', method: 'GET', path: (f, w) => `/fleets/${f}/webhooks/${w}` },
  { name: 'update webhook', method: 'PATCH', path: (f, w) => `/fleets/${f}/webhooks/${w}`, body: () => ({ url: 'https://example.com/hijacked', name: 'mine now' }) },
  { name: 'delete webhook', method: 'DELETE', path: (f, w) => `/fleets/${f}/webhooks/${w}` },
  { name: 'rotate secret', method: 'POST', path: (f, w) => `/fleets/${f}/webhooks/${w}/rotate` },
  { name: 'send test', method: 'POST', path: (f, w) => `/fleets/${f}/webhooks/${w}/test` },
  { name: 'list deliveries', method: 'GET', path: (f, w) => `/fleets/${f}/webhooks/${w}/deliveries` },
  {
    name: 'replay',
    method: 'POST',
    path: (f, w) => `/fleets/${f}/webhooks/${w}/replay`,
    body: () => ({ since: new Date(Date.now() - 3_600_000).toISOString(), until: new Date().toISOString() }),
  },
  { name: 'get delivery', method: 'GET', path: (f, _w, d) => `/fleets/${f}/deliveries/${d}` },
  { name: 'retry delivery', method: 'POST', path: (f, _w, d) => `/fleets/${f}/deliveries/${d}/retry` },
  { name: 'publish event', method: 'POST', path: (f) => `/fleets/${f}/events`, body: () => ({ type: 'thread.completed', data: { spoofed: true } }) },
];

const call = (route: RouteCase, fleet: string, webhook: string, delivery: string, token: string | null): Promise<ApiAnswer> =>
  stack.call(route.method, route.path(fleet, webhook, delivery), { token, ...(route.body === undefined ? {} : { body: route.body() }) });

/** Nothing that identifies or belongs to fleet B. */
function expectNothingOfB(answer: ApiAnswer): void {
  for (const secretOfB of [fleetB.webhook, fleetB.delivery, fleetB.url, fleetB.name, `${B}-key`, `${B} says no`, 'evt-fleet-b-1']) {
    expect(answer.raw).not.toContain(secretOfB);
  }
}

/** Ids of the right shape that were never issued. */
const missingWebhook = newSubscriptionId();
const missingDelivery = deliveryIdFor(A, 'evt-never', missingWebhook, new Date().toISOString());

describe('tenancy on every route', () => {
  it.each(ROUTES)('$name: a fleet-A token on fleet B is a 404 identical to a missing id, with nothing of B', async (route) => {
    const intruding = await call(route, B, fleetB.webhook, fleetB.delivery, tokenA.token);
    expect(intruding.status).toBe(404);
    expectNothingOfB(intruding);
    const missing = await call(route, B, missingWebhook, missingDelivery, tokenA.token);
    expect(intruding.raw).toBe(missing.raw);
  });

  it.each(ROUTES.filter((route) => route.path(A, 'W', 'D').includes('W') || route.path(A, 'W', 'D').includes('D')))(
    "$name: a fleet-A token with B's ids under fleet A is a 404 identical to a missing id",
    async (route) => {
      const crossed = await call(route, A, fleetB.webhook, fleetB.delivery, tokenA.token);
      expect(crossed.status).toBe(404);
      expectNothingOfB(crossed);
      const missing = await call(route, A, missingWebhook, missingDelivery, tokenA.token);
      expect(crossed.raw).toBe(missing.raw);
    },
  );

  it.each(ROUTES)('$name: a token granting no fleet gets 404 on both fleets', async (route) => {
    const none = await stack.issueToken([]);
    for (const [fleet, data] of [
      [A, fleetA],
      [B, fleetB],
    ] as const) {
      const answer = await call(route, fleet, data.webhook, data.delivery, none.token);
      expect(answer.status).toBe(404);
      expectNothingOfB(answer);
      // The same answer as for an id that does not exist: an ungranted fleet is indistinguishable.
      const missing = await call(route, fleet, missingWebhook, missingDelivery, none.token);
      expect(answer.raw).toBe(missing.raw);
    }
  });

  it.each(ROUTES)('$name: no token, a malformed one, a tampered one and an unknown one get 401', async (route) => {
    const tampered = `${tokenB.token.slice(0, -4)}${tokenB.token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    const unknown = (await stack.issueToken([B])).token.replace(/tok_[0-9A-Z]{26}/, newSubscriptionId().replace('wh_', 'tok_'));
    for (const token of [null, 'raw:Bearer', 'raw:Basic Zm9vOmJhcg==', 'raw:Bearer hlk_garbage', tampered, unknown]) {
      const answer = await call(route, B, fleetB.webhook, fleetB.delivery, token);
      expect(answer.status, String(token)).toBe(401);
      expect(answer.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(answer.body.error.details[0].field).toBe('authorization');
      expectNothingOfB(answer);
    }
  });

  it("a list of fleet A shows none of B's webhooks, and a cursor forged for B's partition is refused", async () => {
    const list = await stack.call('GET', `/fleets/${A}/webhooks`, { token: tokenA.token });
    expect(list.status).toBe(200);
    expect(list.body.data.map((webhook: { id: string }) => webhook.id)).toEqual([fleetA.webhook]);
    const forged = encodeCursor({ fleetId: B, id: fleetB.webhook });
    const paged = await stack.call('GET', `/fleets/${A}/webhooks`, { token: tokenA.token, query: { cursor: forged as string } });
    expect(paged.status).toBe(400);
    expect(paged.body.error.details[0].field).toBe('cursor');
    const forgedLog = encodeCursor({ id: fleetB.delivery, subscriptionId: fleetB.webhook, createdKey: `2024-01-01T00:00:00.000Z#${fleetB.delivery}` });
    const log = await stack.call('GET', `/fleets/${A}/webhooks/${fleetA.webhook}/deliveries`, { token: tokenA.token, query: { cursor: forgedLog as string } });
    expect(log.status).toBe(400);
    expectNothingOfB(log);
  });

  it("fleet B's data is untouched by every attempt above, and nothing was queued for it", async () => {
    const read = await stack.call('GET', `/fleets/${B}/webhooks/${fleetB.webhook}`, { token: tokenB.token });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ url: fleetB.url, name: fleetB.name, enabled: true });
    expect(read.body.updatedAt).toBe(read.body.createdAt);
    const stored = await stack.subscriptions.get(B, fleetB.webhook, true);
    const secret = await stack.secrets.get(stored!);
    expect(secret.previous).toBeUndefined();
    const delivery = await stack.deliveries.get(fleetB.delivery);
    expect(delivery?.status).toBe('failed');
    const webhooks = await stack.subscriptions.list(B, { limit: 10 });
    expect(webhooks.items.map((item) => item.id)).toEqual([fleetB.webhook]);

    const queued: string[] = [];
    for (const queueUrl of [stack.runtime.queues.deliveriesUrl, stack.runtime.queues.eventsUrl]) {
      for (;;) {
        const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 60 }));
        if ((received.Messages ?? []).length === 0) break;
        queued.push(...(received.Messages ?? []).map((message) => message.Body ?? ''));
      }
    }
    expect(queued.filter((body) => body.includes(B))).toEqual([]);
  });

  it('a revoked token stops working on every route within the documented cache bound', { timeout: 15_000 }, async () => {
    const revoked = await stack.issueToken([A]);
    const before = await stack.call('GET', `/fleets/${A}/webhooks`, { token: revoked.token });
    expect(before.status).toBe(200);
    expect(await stack.tokens.delete(revoked.id)).toBe(true);
    // The authenticator reuses a token record for TOKEN_CACHE_TTL_MS (the documented revocation bound).
    await new Promise((resolve) => setTimeout(resolve, TOKEN_CACHE_TTL_MS + 50));
    for (const route of ROUTES) {
      const answer = await call(route, A, fleetA.webhook, fleetA.delivery, revoked.token);
      expect(answer.status, route.name).toBe(401);
    }
    const still = await stack.call('GET', `/fleets/${A}/webhooks/${fleetA.webhook}`, { token: tokenA.token });
    expect(still.status).toBe(200);
  });
});
