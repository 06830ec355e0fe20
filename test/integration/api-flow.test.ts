import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryIdFor, isId } from '../../lambdas/core/ids';
import { createDocumentClient } from '../../lambdas/shared/clients';
import { DeliveriesStore } from '../../lambdas/shared/deliveries-store';
import { ENV } from '../../lambdas/shared/environment';
import { EventsStore, eventTimeKey } from '../../lambdas/shared/events-store';
import { SubscriptionsStore } from '../../lambdas/shared/subscriptions-store';
import { seedDeliveryAttempt } from '../support/seed-delivery';
import { startApiStack, type ApiStack } from './api-harness';

let stack: ApiStack;
beforeAll(async () => {
  stack = await startApiStack();
});
afterAll(async () => {
  await stack?.stop();
});

const FLEET = 'acme';

describe('subscriptions through the local HTTP front', () => {
  it('create → get → list → patch → rotate → delete', async () => {
    const created = await stack.request('POST', `/fleets/${FLEET}/webhooks`, {
      body: { url: 'https://example.com/hook', events: ['thread.completed'], name: 'prod', headers: { 'X-Customer': 'acme' }, timeoutSeconds: 5 },
    });
    expect(created.status).toBe(201);
    const { secret, ...view } = created.body;
    expect(secret).toMatch(/^whsec_/);
    expect(created.headers.get('location')).toBe(`/fleets/${FLEET}/webhooks/${view.id}`);

    const fetched = await stack.request('GET', `/fleets/${FLEET}/webhooks/${view.id}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(view);
    expect(JSON.stringify(fetched.body)).not.toContain('secret');

    // The signing secret is sealed on the subscription's own item; Secrets Manager holds the key ring alone.
    const sm = new SecretsManagerClient({});
    const subscriptions = new SubscriptionsStore(createDocumentClient(), stack.runtime.tables.subscriptions);
    const stored = (await subscriptions.get(FLEET, view.id, true))!;
    expect(stored.sealedSecret).toMatch(/^v1\.1\./);
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(await stack.secrets.get(stored)).toEqual({ current: secret });
    const listed = await sm.send(new ListSecretsCommand({ IncludePlannedDeletion: true }));
    expect(listed.SecretList?.map((entry) => entry.Name)).toEqual([stack.runtime.env[ENV.sealingKeySecret]]);

    const patched = await stack.request('PATCH', `/fleets/${FLEET}/webhooks/${view.id}`, {
      body: { enabled: false, name: null, events: [] },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ enabled: false, events: [] });
    expect(patched.body).not.toHaveProperty('name');
    expect(patched.body.updatedAt >= view.updatedAt).toBe(true);

    // Rotation: a new secret, the old one still inside the stored value for the grace period.
    const rotated = await stack.request('POST', `/fleets/${FLEET}/webhooks/${view.id}/rotate`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(secret);
    const afterRotation = await stack.request('GET', `/fleets/${FLEET}/webhooks/${view.id}`);
    expect(afterRotation.body).not.toHaveProperty('secret');
    const value = await stack.secrets.get((await subscriptions.get(FLEET, view.id, true))!);
    expect(value.current).toBe(rotated.body.secret);
    expect(value.previous).toBe(secret);
    expect(Date.parse(value.previousExpiresAt ?? '') - Date.now()).toBeGreaterThan(23 * 3_600_000);

    const deleted = await stack.request('DELETE', `/fleets/${FLEET}/webhooks/${view.id}`);
    expect(deleted.status).toBe(204);
    expect((await stack.request('GET', `/fleets/${FLEET}/webhooks/${view.id}`)).status).toBe(404);
    // Erased at once with the item: nothing of it is left to read.
    expect(await subscriptions.get(FLEET, view.id, true)).toBeUndefined();
    expect((await stack.request('DELETE', `/fleets/${FLEET}/webhooks/${view.id}`)).status).toBe(404);
    sm.destroy();
  });

  it('pages a fleet of 7 with limit 3 and the opaque cursor', async () => {
    const fleet = 'paging-fleet';
    const ids: string[] = [];
    for (let i = 0; i < 7; i += 1) {
      const created = await stack.request('POST', `/fleets/${fleet}/webhooks`, { body: { url: `https://example.com/h${i}` } });
      expect(created.status).toBe(201);
      ids.push(created.body.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? '?limit=3' : `?limit=3&cursor=${encodeURIComponent(cursor)}`;
      const page = await stack.request('GET', `/fleets/${fleet}/webhooks${query}`);
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.data.map((item: { id: string }) => item.id));
      cursor = page.body.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 10);
    expect(seen).toEqual([...ids].sort());
    expect(pages).toBeGreaterThanOrEqual(3);

    const tampered = await stack.request('GET', `/fleets/${FLEET}/webhooks?cursor=${encodeURIComponent(Buffer.from(JSON.stringify({ fleetId: fleet, id: ids[0] })).toString('base64url'))}`);
    expect(tampered.status).toBe(400);
    expect(tampered.body.error.details).toEqual([{ field: 'cursor', reason: expect.any(String) }]);
  });
});

describe('events, tests, replays and deliveries', () => {
  it('publish with an idempotency-key: same id, one message on the events queue', async () => {
    await stack.drain(stack.runtime.queues.eventsUrl);
    const body = { type: 'thread.completed', data: { threadId: 't-1' } };
    const first = await stack.request('POST', `/fleets/${FLEET}/events`, { body, headers: { 'idempotency-key': 'order-1' } });
    const second = await stack.request('POST', `/fleets/${FLEET}/events`, { body, headers: { 'idempotency-key': 'order-1' } });
    expect(first.status).toBe(202);
    expect(isId('evt', first.body.id)).toBe(true);
    expect(second.body.id).toBe(first.body.id);
    // Nothing fans out here, so the repeat may re-send until fannedOutAt is set; mark it like the fan-out does.
    const events = new EventsStore(createDocumentClient(), stack.runtime.tables.events);
    await events.markFannedOut(FLEET, first.body.id, new Date().toISOString(), 2e9);
    const third = await stack.request('POST', `/fleets/${FLEET}/events`, { body, headers: { 'idempotency-key': 'order-1' } });
    expect(third.body.id).toBe(first.body.id);

    const messages = await stack.drain(stack.runtime.queues.eventsUrl);
    const forEvent = messages.filter((m) => m.event?.id === first.body.id);
    // Before fannedOutAt a repeat re-sends (healing a lost message); after it, never again.
    expect(forEvent.length).toBe(2);
    expect(forEvent[0]).toEqual({ v: 1, kind: 'event', fleetId: FLEET, event: { id: first.body.id, type: 'thread.completed', timestamp: expect.any(String), data: { threadId: 't-1' } } });

    const otherKey = await stack.request('POST', `/fleets/${FLEET}/events`, { body, headers: { 'idempotency-key': 'order-2' } });
    expect(otherKey.body.id).not.toBe(first.body.id);
    expect(await stack.drain(stack.runtime.queues.eventsUrl)).toHaveLength(1);
  });

  it('test sends one webhook.test delivery to that subscription only', async () => {
    const created = await stack.request('POST', `/fleets/${FLEET}/webhooks`, { body: { url: 'https://hooks.example.com/t' } });
    await stack.drain(stack.runtime.queues.deliveriesUrl);
    const tested = await stack.request('POST', `/fleets/${FLEET}/webhooks/${created.body.id}/test`);
    expect(tested.status).toBe(202);
    const messages = await stack.drain(stack.runtime.queues.deliveriesUrl);
    expect(messages).toEqual([
      expect.objectContaining({ deliveryId: tested.body.deliveryId, subscriptionId: created.body.id, reason: 'test', event: expect.objectContaining({ type: 'webhook.test' }) }),
    ]);
    expect(await stack.drain(stack.runtime.queues.eventsUrl)).toEqual([]);
  });

  it('replay re-enqueues stored events with their original delivery ids; the log lists, shows and retries deliveries', async () => {
    const fleet = 'replay-fleet';
    const sub = (await stack.request('POST', `/fleets/${fleet}/webhooks`, { body: { url: 'https://example.com/r', events: ['thread.completed'] } })).body;
    const doc = createDocumentClient();
    const events = new EventsStore(doc, stack.runtime.tables.events);
    const base = Date.now() - 3_600_000;
    const stored = [];
    for (let i = 0; i < 5; i += 1) {
      const timestamp = new Date(base + i * 1000).toISOString();
      const id = `evt_replay_${i}`;
      const type = i === 2 ? 'thread.failed' : 'thread.completed';
      await events.putIfAbsent({ fleetId: fleet, id, type, timestamp, data: { i }, timeKey: eventTimeKey(timestamp, id), source: 'api', expiresAt: 2e9 });
      stored.push({ id, type, timestamp });
    }
    await stack.drain(stack.runtime.queues.deliveriesUrl);

    const replay = await stack.request('POST', `/fleets/${fleet}/webhooks/${sub.id}/replay`, {
      body: { since: new Date(base - 1000).toISOString(), until: new Date().toISOString() },
    });
    expect(replay.status).toBe(202);
    expect(replay.body).toEqual({ enqueued: 4, continued: false });
    const messages = await stack.drain(stack.runtime.queues.deliveriesUrl);
    const expectedIds = stored.filter((e) => e.type === 'thread.completed').map((e) => deliveryIdFor(fleet, e.id, sub.id, e.timestamp));
    expect(messages.map((m) => m.deliveryId).sort()).toEqual(expectedIds.sort());

    // A delivery recorded the way the dispatcher records it.
    const deliveries = new DeliveriesStore(doc, stack.runtime.tables.deliveries);
    const first = stored[0]!;
    const deliveryId = deliveryIdFor(fleet, first.id, sub.id, first.timestamp);
    const now = new Date().toISOString();
    await seedDeliveryAttempt(deliveries, {
      identity: { id: deliveryId, fleetId: fleet, subscriptionId: sub.id, eventId: first.id, eventType: first.type, webhookUrl: sub.url },
      attempt: { attempt: 1, at: now, statusCode: 503, latencyMs: 20, errorKind: 'http', responseBodyExcerpt: 'busy' },
      status: 'failed',
      now,
      expiresAt: 2e9,
    });

    const log = await stack.request('GET', `/fleets/${fleet}/webhooks/${sub.id}/deliveries?status=failed`);
    expect(log.status).toBe(200);
    expect(log.body.data).toEqual([expect.objectContaining({ id: deliveryId, webhookId: sub.id, status: 'failed', attemptCount: 1, httpStatusCode: 503 })]);
    expect((await stack.request('GET', `/fleets/${fleet}/webhooks/${sub.id}/deliveries?status=succeeded`)).body.data).toEqual([]);
    expect((await stack.request('GET', `/fleets/${fleet}/webhooks/${sub.id}/deliveries?until=2000-01-01T00:00:00Z`)).body.data).toEqual([]);

    const one = await stack.request('GET', `/fleets/${fleet}/deliveries/${deliveryId}`);
    expect(one.status).toBe(200);
    expect(one.body.attempts).toEqual([{ round: 1, attempt: 1, at: now, statusCode: 503, latencyMs: 20, errorKind: 'http', responseBodyExcerpt: 'busy' }]);

    const retried = await stack.request('POST', `/fleets/${fleet}/deliveries/${deliveryId}/retry`);
    expect(retried.status).toBe(202);
    // A retry request is attempt 1 of a new round (a ULID, sorting after the fan-out's round '0').
    const retryMessages = await stack.drain(stack.runtime.queues.deliveriesUrl);
    expect(retryMessages).toEqual([
      expect.objectContaining({ deliveryId, reason: 'retry', attempt: 1, event: expect.objectContaining({ id: first.id, data: { i: 0 } }) }),
    ]);
    expect(retryMessages[0]?.round).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    // The record changes only when the dispatcher claims the new round's first attempt, so a request
    // whose message was never sent leaves nothing pending without a message on its way.
    const unchanged = await stack.request('GET', `/fleets/${fleet}/deliveries/${deliveryId}`);
    expect(unchanged.body).toMatchObject({ status: 'failed', attemptCount: 1 });
    doc.destroy();
  });
});
