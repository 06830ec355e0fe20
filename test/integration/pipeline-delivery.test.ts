import { createHmac } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryIdFor } from '../../lambdas/core/ids';
import type { DeliveryMessage, DeliveryRecord } from '../../lambdas/core/records';
import { generateSigningSecret } from '../../lambdas/core/secrets';
import { createSubscription, putEvent, sleep, startHarness, waitFor, type PipelineHarness } from './pipeline-helpers';

let harness: PipelineHarness;

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await harness?.stop();
});

async function settledDelivery(id: string, done: (record: DeliveryRecord) => boolean): Promise<DeliveryRecord> {
  return waitFor(`delivery ${id}`, async () => {
    const record = await harness.deliveries.get(id);
    return record !== undefined && done(record) ? record : undefined;
  });
}

async function storedEventId(fleetId: string): Promise<string> {
  const page = await harness.events.listByTime(fleetId, { since: '2000-01-01T00:00:00.000Z', until: '2100-01-01T00:00:00.000Z' }, { limit: 10 });
  const [event] = page.items;
  if (event === undefined) throw new Error(`no event stored for ${fleetId}`);
  return event.id;
}

describe('pipeline on the local runtime', { timeout: 30_000 }, () => {
  it('publish → fan-out → signed POST the receiver verifies with standardwebhooks and the seed scheme', async () => {
    const fleetId = 'fleet-publish';
    const { receiver } = harness;
    const { subscription, secret } = await createSubscription(harness, {
      fleetId,
      url: receiver.endpoint('/publish'),
      events: ['thread.completed'],
      headers: { 'x-tenant': 'acme' },
    });
    await createSubscription(harness, { fleetId, url: receiver.endpoint('/other-type'), events: ['agent.created'] });

    await putEvent(harness, fleetId, 'thread.completed', { threadId: 't-1', text: 'héllo ✓' });
    const [request] = await waitFor('the POST', () => (receiver.at('/publish').length > 0 ? receiver.at('/publish') : undefined));
    if (request === undefined) throw new Error('unreachable');

    const headers = request.headers as Record<string, string>;
    const payload = new Webhook(secret.current).verify(request.body, headers) as Record<string, unknown>;
    expect(payload).toMatchObject({ type: 'thread.completed', fleetId, data: { threadId: 't-1', text: 'héllo ✓' } });
    expect(Object.keys(payload)).toEqual(['id', 'type', 'timestamp', 'fleetId', 'data']);
    const seed = createHmac('sha256', secret.current).update(`${headers['x-webhook-timestamp']}.${request.body}`).digest('hex');
    expect(headers['x-webhook-signature']).toBe(`sha256=${seed}`);
    expect(headers['x-webhook-delivery-id']).toBe(headers['webhook-id']);
    expect(headers['user-agent']).toMatch(/^Hookline\/\d+\.\d+\.\d+/);
    expect(headers['content-type']).toBe('application/json');
    expect(headers['x-tenant']).toBe('acme');

    const eventId = await storedEventId(fleetId);
    const deliveryId = deliveryIdFor(fleetId, eventId, subscription.id, String(payload.timestamp));
    expect(headers['webhook-id']).toBe(deliveryId);
    const record = await settledDelivery(deliveryId, (found) => found.status === 'succeeded');
    expect(record).toMatchObject({
      fleetId,
      subscriptionId: subscription.id,
      eventId,
      eventType: 'thread.completed',
      webhookUrl: subscription.url,
      attemptCount: 1,
      httpStatusCode: 204,
      responseContentLength: 0,
    });
    expect(record.latencyMs).toBeGreaterThanOrEqual(0);
    expect(record.attempts).toHaveLength(1);
    // Stored once every delivery message is sent, which may be after this delivery already succeeded.
    await waitFor('the event stored', async () => ((await harness.events.get(fleetId, eventId)) ? true : undefined));
    // The subscription to another type got nothing.
    expect(receiver.at('/other-type')).toHaveLength(0);
  });

  it('500 then 200: two attempts with the same webhook-id, both recorded', async () => {
    const fleetId = 'fleet-retry';
    const { receiver } = harness;
    const { subscription } = await createSubscription(harness, {
      fleetId,
      url: receiver.endpoint('/flaky', (index) => (index === 0 ? 500 : 200)),
    });
    await putEvent(harness, fleetId, 'turn.completed', { n: 1 });
    const requests = await waitFor('two POSTs', () => (receiver.at('/flaky').length >= 2 ? receiver.at('/flaky') : undefined));
    const [first, second] = requests;
    expect(first?.headers['webhook-id']).toBe(second?.headers['webhook-id']);
    expect(first?.body).toBe(second?.body);
    // Retry after the one-second delay of the test schedule, not at once.
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(900);

    const record = await settledDelivery(String(first?.headers['webhook-id']), (found) => found.status === 'succeeded');
    expect(record.subscriptionId).toBe(subscription.id);
    expect(record.attemptCount).toBe(2);
    expect(record.httpStatusCode).toBe(200);
    expect(record.errorMessage).toBeUndefined();
    expect(record.attempts.map((attempt) => [attempt.attempt, attempt.statusCode, attempt.errorKind])).toEqual([
      [1, 500, 'http'],
      [2, 200, undefined],
    ]);
    expect(record.attempts[0]?.retryInSeconds).toBe(1);
    await sleep(1_500);
    expect(receiver.at('/flaky')).toHaveLength(2);
  });

  it('410 disables the subscription and ends the delivery as disabled', async () => {
    const fleetId = 'fleet-gone';
    const { receiver } = harness;
    const { subscription } = await createSubscription(harness, { fleetId, url: receiver.endpoint('/gone', () => 410) });
    await putEvent(harness, fleetId, 'agent.updated', { n: 1 });
    const [request] = await waitFor('the POST', () => (receiver.at('/gone').length > 0 ? receiver.at('/gone') : undefined));
    const record = await settledDelivery(String(request?.headers['webhook-id']), (found) => found.status === 'disabled');
    expect(record.httpStatusCode).toBe(410);
    const stored = await waitFor('the subscription disabled', async () => {
      const found = await harness.subscriptions.get(fleetId, subscription.id, true);
      return found?.enabled === false ? found : undefined;
    });
    expect(stored.disabledReason).toMatch(/410/);

    // A later event no longer reaches it.
    await putEvent(harness, fleetId, 'agent.updated', { n: 2 });
    await sleep(1_500);
    expect(receiver.at('/gone')).toHaveLength(1);
  });

  it('auto-disable: a subscription failing for longer than autoDisableAfterDays is disabled on its next failure', async () => {
    const fleetId = 'fleet-failing';
    const { receiver } = harness;
    const failingSince = new Date(Date.now() - 6 * 86_400_000).toISOString();
    const { subscription } = await createSubscription(harness, { fleetId, url: receiver.endpoint('/failing', () => 500), failingSince });
    await putEvent(harness, fleetId, 'turn.failed', { n: 1 });
    const [request] = await waitFor('the POST', () => (receiver.at('/failing').length > 0 ? receiver.at('/failing') : undefined));
    const record = await settledDelivery(String(request?.headers['webhook-id']), (found) => found.status === 'disabled');
    expect(record.attemptCount).toBe(1);
    // The attempt is recorded first, then the subscription is disabled.
    const stored = await waitFor('the subscription disabled', async () => {
      const found = await harness.subscriptions.get(fleetId, subscription.id, true);
      return found?.enabled === false ? found : undefined;
    });
    expect(stored.failingSince).toBe(failingSince);
    expect(stored.disabledReason).toMatch(/auto-disable/);
    await sleep(1_500);
    expect(receiver.at('/failing')).toHaveLength(1);
  });

  it('400 fails without retry', async () => {
    const fleetId = 'fleet-bad-request';
    const { receiver } = harness;
    await createSubscription(harness, { fleetId, url: receiver.endpoint('/rejects', () => 400) });
    await putEvent(harness, fleetId, 'message.created', { n: 1 });
    const [request] = await waitFor('the POST', () => (receiver.at('/rejects').length > 0 ? receiver.at('/rejects') : undefined));
    const record = await settledDelivery(String(request?.headers['webhook-id']), (found) => found.status === 'failed');
    expect(record.attemptCount).toBe(1);
    expect(record.httpStatusCode).toBe(400);
    expect(record.errorMessage).toMatch(/400/);
    expect(record.attempts[0]?.responseBodyExcerpt).toBe('status 400');
    await sleep(2_000);
    expect(receiver.at('/rejects')).toHaveLength(1);
  });

  it('during a rotation grace period both signatures are sent and each secret verifies', async () => {
    const fleetId = 'fleet-rotation';
    const { receiver } = harness;
    const previous = generateSigningSecret();
    const { secret } = await createSubscription(
      harness,
      { fleetId, url: receiver.endpoint('/rotating') },
      { current: generateSigningSecret(), previous, previousExpiresAt: new Date(Date.now() + 3_600_000).toISOString() },
    );
    await putEvent(harness, fleetId, 'approval.requested', { n: 1 });
    const [request] = await waitFor('the POST', () => (receiver.at('/rotating').length > 0 ? receiver.at('/rotating') : undefined));
    const headers = request?.headers as Record<string, string>;
    expect(headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(() => new Webhook(previous).verify(request?.body ?? '', headers)).not.toThrow();
    expect(() => new Webhook(secret.current).verify(request?.body ?? '', headers)).not.toThrow();
    expect(() => new Webhook(generateSigningSecret()).verify(request?.body ?? '', headers)).toThrow();
  });

  it('duplicates (a re-published event id, a repeated delivery message) keep the records consistent', async () => {
    const fleetId = 'fleet-duplicates';
    const { receiver } = harness;
    const { subscription } = await createSubscription(harness, { fleetId, url: receiver.endpoint('/dupes') });
    // The same producer id twice: one stored event, one delivery id.
    await putEvent(harness, fleetId, 'thread.created', { n: 1 }, 'order-7');
    await putEvent(harness, fleetId, 'thread.created', { n: 1 }, 'order-7');
    const event = await waitFor('the event fanned out (stored)', async () => harness.events.get(fleetId, 'order-7'));
    const deliveryId = deliveryIdFor(fleetId, 'order-7', subscription.id, event.timestamp);
    await waitFor('a POST', () => (receiver.at('/dupes').length > 0 ? true : undefined));

    // And the same delivery message sent twice more, as an SQS duplicate would arrive.
    const message: DeliveryMessage = {
      v: 1,
      deliveryId,
      fleetId,
      subscriptionId: subscription.id,
      event: { id: event.id, type: event.type, timestamp: event.timestamp, data: event.data },
      reason: 'fanout',
    };
    for (let copy = 0; copy < 2; copy += 1) {
      await harness.sqs.send(new SendMessageCommand({ QueueUrl: harness.runtime.queues.deliveriesUrl, MessageBody: JSON.stringify(message) }));
    }
    const posts = await waitFor('the duplicates delivered', () => (receiver.at('/dupes').length >= 3 ? receiver.at('/dupes') : undefined));
    await sleep(1_000);
    const record = await settledDelivery(deliveryId, (found) => found.attemptCount === receiver.at('/dupes').length);
    expect(new Set(posts.map((post) => post.headers['webhook-id']))).toEqual(new Set([deliveryId]));
    expect(new Set(posts.map((post) => JSON.parse(post.body).id))).toEqual(new Set(['order-7']));
    expect(record.status).toBe('succeeded');
    expect(record.attempts).toHaveLength(record.attemptCount);
    expect(new Set(record.attempts.map((attempt) => attempt.key)).size).toBe(record.attemptCount);
    const page = await harness.deliveries.list(subscription.id, { limit: 10 });
    expect(page.items.map((item) => item.id)).toEqual([deliveryId]);
  });
});
