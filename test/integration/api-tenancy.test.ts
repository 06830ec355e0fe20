import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryIdFor } from '../../lambdas/core/ids';
import { createDocumentClient } from '../../lambdas/shared/clients';
import { DeliveriesStore } from '../../lambdas/shared/deliveries-store';
import { EventsStore } from '../../lambdas/shared/events-store';
import { runCli } from '../../cli/hookline';
import { startApiStack, type ApiStack } from './api-harness';

let stack: ApiStack;
let tokenA: string;
let tokenB: string;
let webhookA: string;
let deliveryA: string;
const since = () => new Date(Date.now() - 3_600_000).toISOString();

beforeAll(async () => {
  stack = await startApiStack();
  tokenA = await stack.issueToken(['fleet-a']);
  tokenB = await stack.issueToken(['fleet-b', 'fleet-c']);
  const created = await stack.request('POST', '/fleets/fleet-a/webhooks', { body: { url: 'https://example.com/a' }, token: tokenA });
  expect(created.status).toBe(201);
  webhookA = created.body.id;

  const doc = createDocumentClient();
  const timestamp = new Date(Date.now() - 60_000).toISOString();
  await new EventsStore(doc, stack.runtime.tables.events).putIfAbsent({
    fleetId: 'fleet-a', id: 'evt_a1', type: 'thread.completed', timestamp, data: {}, source: 'api', expiresAt: 2e9,
  });
  deliveryA = deliveryIdFor('fleet-a', 'evt_a1', webhookA, timestamp);
  await new DeliveriesStore(doc, stack.runtime.tables.deliveries).recordAttempt({
    identity: { id: deliveryA, fleetId: 'fleet-a', subscriptionId: webhookA, eventId: 'evt_a1', eventType: 'thread.completed', webhookUrl: 'https://example.com/a' },
    attempt: { key: 'k:1', attempt: 1, at: timestamp, statusCode: 500, latencyMs: 1 },
    status: 'failed',
    now: timestamp,
    expiresAt: 2e9,
  });
  doc.destroy();
});
afterAll(async () => {
  await stack?.stop();
});

/** Every route that names a fleet, with a valid body, aimed at fleet-a's resources under `fleet`. */
function routes(fleet: string, webhook: string, delivery: string): [string, string, unknown?][] {
  return [
    ['POST', `/fleets/${fleet}/webhooks`, { url: 'https://example.com/x' }],
    ['GET', `/fleets/${fleet}/webhooks`],
    ['GET', `/fleets/${fleet}/webhooks/${webhook}`],
    ['PATCH', `/fleets/${fleet}/webhooks/${webhook}`, { name: 'stolen' }],
    ['DELETE', `/fleets/${fleet}/webhooks/${webhook}`],
    ['POST', `/fleets/${fleet}/webhooks/${webhook}/rotate`],
    ['POST', `/fleets/${fleet}/webhooks/${webhook}/test`],
    ['GET', `/fleets/${fleet}/webhooks/${webhook}/deliveries`],
    ['POST', `/fleets/${fleet}/webhooks/${webhook}/replay`, { since: since(), until: new Date().toISOString() }],
    ['GET', `/fleets/${fleet}/deliveries/${delivery}`],
    ['POST', `/fleets/${fleet}/deliveries/${delivery}/retry`],
    ['POST', `/fleets/${fleet}/events`, { type: 'thread.completed', data: {} }],
  ];
}

describe('a token for other fleets sees nothing of fleet-a', () => {
  it.each(routes('fleet-a', 'WEBHOOK', 'DELIVERY'))(
    '%s %s → 404, identical to a true 404',
    async (method, template, body) => {
      const path = template.replace('WEBHOOK', webhookA).replace('DELIVERY', deliveryA);
      const response = await stack.request(method, path, { token: tokenB, ...(body === undefined ? {} : { body }) });
      expect(response.status).toBe(404);
      // The same answer a granted caller gets for an id that does not exist.
      const missingPath = template
        .replace('fleet-a', 'fleet-b')
        .replace('WEBHOOK', 'wh_01HZZZZZZZZZZZZZZZZZZZZZZZ')
        .replace('DELIVERY', 'dlv_01HZZZZZZZZZZZZZZZZZZZZZZZ');
      if (missingPath.includes('wh_01HZ') || missingPath.includes('dlv_01HZ')) {
        const missing = await stack.request(method, missingPath, { token: tokenB, ...(body === undefined ? {} : { body }) });
        expect(missing.status).toBe(404);
        expect(response.body).toEqual(missing.body);
      }
    },
  );

  it.each(routes('fleet-b', 'WEBHOOK', 'DELIVERY').filter(([, path]) => path.includes('WEBHOOK') || path.includes('DELIVERY')))(
    "%s %s with fleet-a's ids under a granted fleet → 404",
    async (method, template, body) => {
      const path = template.replace('WEBHOOK', webhookA).replace('DELIVERY', deliveryA);
      const response = await stack.request(method, path, { token: tokenB, ...(body === undefined ? {} : { body }) });
      expect(response.status).toBe(404);
    },
  );

  it("left fleet-a's data untouched", async () => {
    const fetched = await stack.request('GET', `/fleets/fleet-a/webhooks/${webhookA}`, { token: tokenA });
    expect(fetched.status).toBe(200);
    expect(fetched.body).not.toHaveProperty('name');
    expect(fetched.body.enabled).toBe(true);
    const list = await stack.request('GET', '/fleets/fleet-a/webhooks', { token: tokenA });
    expect(list.body.data.map((w: { id: string }) => w.id)).toEqual([webhookA]);
    const delivery = await stack.request('GET', `/fleets/fleet-a/deliveries/${deliveryA}`, { token: tokenA });
    expect(delivery.body.status).toBe('failed');
  });

  it('a token from `hookline token create --local --endpoint` grants exactly its fleets', async () => {
    const out: string[] = [];
    const io = { stdout: (text: string) => out.push(text), stderr: (text: string) => out.push(text), env: {} };
    const argv = ['token', 'create', '--fleet', 'fleet-a', '--local', '--endpoint', stack.runtime.endpoints.dynamodb, '--json'];
    expect(await runCli(argv, io)).toBe(0);
    const { token } = JSON.parse(out.join('')) as { token: string };
    expect((await stack.request('GET', `/fleets/fleet-a/webhooks/${webhookA}`, { token })).status).toBe(200);
    expect((await stack.request('GET', '/fleets/fleet-b/webhooks', { token })).status).toBe(404);
  });

  it('revoking a token stops it within the cache bound', async () => {
    const token = await stack.issueToken(['fleet-a']);
    expect((await stack.request('GET', '/fleets/fleet-a/webhooks', { token })).status).toBe(200);
    const [, tokenId] = /^hlk_(tok_[0-9A-Z]{26})_/.exec(token) ?? [];
    expect(await stack.tokens.delete(tokenId as string)).toBe(true);
    // TOKEN_CACHE_TTL_MS is 5 s; poll a little past it.
    const deadline = Date.now() + 7_000;
    let status = 200;
    while (Date.now() < deadline && status === 200) {
      status = (await stack.request('GET', '/fleets/fleet-a/webhooks', { token })).status;
      if (status === 200) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(status).toBe(401);
  });
});
