import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEnvelope } from '../../lambdas/core/envelope';
import { deliveryIdFor } from '../../lambdas/core/ids';
import { createDocumentClient } from '../../lambdas/shared/clients';
import { DeliveriesStore } from '../../lambdas/shared/deliveries-store';
import { startApiStack, type ApiStack } from './api-harness';
import { seedDeliveryAttempt } from '../support/seed-delivery';

/**
 * The console's routes on the real local tables (dynalite, the same indexes a deployed stack has):
 * the events log, an event's deliveries, the fleet-wide log and its filters, portal sessions.
 */
let stack: ApiStack;
let tokenA: string;
const published: Record<string, { id: string; timestamp: string }> = {};
let webhookA: string;
let webhookB: string;

async function publish(fleet: string, body: unknown, token?: string): Promise<string> {
  const response = await stack.request('POST', `/fleets/${fleet}/events`, { body, ...(token === undefined ? {} : { token }) });
  expect(response.status).toBe(202);
  return response.body.id as string;
}

beforeAll(async () => {
  stack = await startApiStack();
  tokenA = await stack.issueToken(['fleet-a']);
  webhookA = (await stack.request('POST', '/fleets/fleet-a/webhooks', { body: { url: 'https://example.com/a' } })).body.id;
  webhookB = (await stack.request('POST', '/fleets/fleet-b/webhooks', { body: { url: 'https://example.com/b' } })).body.id;
  // The same producer-chosen id in two fleets: each fleet must see only its own.
  await publish('fleet-a', { type: 'thread.completed', data: { n: 1 }, id: 'order-1' });
  await publish('fleet-b', { type: 'thread.completed', data: { n: 'b' }, id: 'order-1' });
  await new Promise((resolve) => setTimeout(resolve, 5));
  await publish('fleet-a', { type: 'approval.requested', data: { n: 2 }, id: 'order-2' });
  const doc = createDocumentClient();
  const deliveries = new DeliveriesStore(doc, stack.runtime.tables.deliveries);
  for (const [fleet, id, webhook, status] of [
    ['fleet-a', 'order-1', webhookA, 500],
    ['fleet-b', 'order-1', webhookB, 204],
    ['fleet-a', 'order-2', webhookA, 204],
  ] as const) {
    const event = (await stack.request('GET', `/fleets/${fleet}/events/${id}`)).body;
    published[`${fleet}/${id}`] = { id, timestamp: event.timestamp };
    const now = new Date().toISOString();
    await seedDeliveryAttempt(deliveries, {
      identity: { id: deliveryIdFor(fleet, id, webhook, event.timestamp), fleetId: fleet, subscriptionId: webhook, eventId: id, eventType: event.type, webhookUrl: 'https://example.com' },
      attempt: { attempt: 1, at: now, statusCode: status, latencyMs: 3 },
      status: status === 204 ? 'succeeded' : 'failed',
      now,
      expiresAt: 2e9,
    });
  }
  doc.destroy();
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

describe('console routes on the local tables', () => {
  it('lists events newest first, filters by type, and pages with a cursor', async () => {
    const all = await stack.request('GET', '/fleets/fleet-a/events');
    expect(all.body.data.map((e: { id: string }) => e.id)).toEqual(['order-2', 'order-1']);
    expect(all.body.data[0]).not.toHaveProperty('data');
    const typed = await stack.request('GET', '/fleets/fleet-a/events?type=thread.completed');
    expect(typed.body.data.map((e: { id: string }) => e.id)).toEqual(['order-1']);
    const first = await stack.request('GET', '/fleets/fleet-a/events?limit=1');
    expect(first.body.data).toHaveLength(1);
    const second = await stack.request('GET', `/fleets/fleet-a/events?limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body.data.map((e: { id: string }) => e.id)).toEqual(['order-1']);
    const future = await stack.request('GET', `/fleets/fleet-a/events?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    expect(future.body.data).toEqual([]);
  });

  it("shows an event's data and only its own fleet's deliveries", async () => {
    const event = await stack.request('GET', '/fleets/fleet-a/events/order-1');
    expect(event.status).toBe(200);
    expect(event.body.data).toEqual({ n: 1 });
    expect(event.body.deliveries.map((d: { webhookId: string; httpStatusCode: number }) => [d.webhookId, d.httpStatusCode])).toEqual([[webhookA, 500]]);
    const other = await stack.request('GET', '/fleets/fleet-b/events/order-1');
    expect(other.body.deliveries.map((d: { webhookId: string }) => d.webhookId)).toEqual([webhookB]);
  });

  it('lists the fleet-wide log newest event first, with the HTTP status and time filters', async () => {
    const all = await stack.request('GET', '/fleets/fleet-a/deliveries');
    expect(all.body.data.map((d: { eventId: string }) => d.eventId)).toEqual(['order-2', 'order-1']);
    expect(all.body.data[0]).toMatchObject({ fleetId: 'fleet-a', webhookId: webhookA, status: 'succeeded' });
    const failing = await stack.request('GET', '/fleets/fleet-a/deliveries?httpStatus=500');
    expect(failing.body.data.map((d: { eventId: string }) => d.eventId)).toEqual(['order-1']);
    const t2 = published['fleet-a/order-2']!.timestamp;
    const fromSecond = await stack.request('GET', `/fleets/fleet-a/deliveries?since=${encodeURIComponent(t2)}`);
    expect(fromSecond.body.data.map((d: { eventId: string }) => d.eventId)).toEqual(['order-2']);
    const t1 = published['fleet-a/order-1']!.timestamp;
    const untilFirst = await stack.request('GET', `/fleets/fleet-a/deliveries?until=${encodeURIComponent(t1)}`);
    expect(untilFirst.body.data.map((d: { eventId: string }) => d.eventId)).toEqual(['order-1']);
  });

  it('shows the payload a delivery sent', async () => {
    const { timestamp } = published['fleet-a/order-1']!;
    const response = await stack.request('GET', `/fleets/fleet-a/deliveries/${deliveryIdFor('fleet-a', 'order-1', webhookA, timestamp)}`);
    expect(response.body.payload.body).toBe(buildEnvelope('fleet-a', { id: 'order-1', type: 'thread.completed', timestamp, data: { n: 1 } }));
  });

  it('issues a portal link on the URL the caller used, scoped to one fleet', async () => {
    const created = await stack.request('POST', '/fleets/fleet-a/portal-sessions', { body: { ttlSeconds: 120 }, token: tokenA });
    expect(created.status).toBe(201);
    const url = new URL(created.body.url);
    expect(`${url.origin}${url.pathname}`).toBe(`${stack.server.url}/console`);
    const token = new URLSearchParams(url.hash.slice(1)).get('portal') as string;
    expect((await stack.request('GET', '/fleets/fleet-a/deliveries', { token })).status).toBe(200);
    expect((await stack.request('GET', '/fleets/fleet-b/deliveries', { token })).status).toBe(404);
    expect((await stack.request('POST', '/fleets/fleet-a/portal-sessions', { body: {}, token })).status).toBe(404);
    const page = await fetch(`${stack.server.url}/console`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });
});
