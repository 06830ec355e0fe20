import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { deliveryIdFor } from '../../lambdas/core/ids';
import type { DeliveryMessage, DeliveryRecord, SubscriptionRecord } from '../../lambdas/core/records';
import { redriveDlq } from '../../local/queues';
import {
  createSubscription,
  putEvent,
  queueDepth,
  sleep,
  startHarness,
  waitFor,
  type PipelineHarness,
} from '../integration/pipeline-helpers';

/**
 * The delivery engine under the faults real AWS brings: the in-flight quota, Lambda throttles,
 * invocations that die mid-batch, Retry-After past SQS's visibility limit, duplicate messages, and a
 * DLQ redrive. Each case failed on the engine that parked retries in flight and counted attempts by
 * SQS receives.
 */

let harness: PipelineHarness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

async function subscribeMany(h: PipelineHarness, fleetId: string, count: number, path: (i: number) => string, events = ['thread.completed']) {
  const created: SubscriptionRecord[] = [];
  for (let i = 0; i < count; i += 1) {
    const url = `http://127.0.0.1:${h.receiver.port}${path(i)}`;
    created.push((await createSubscription(h, { fleetId, url, events })).subscription);
  }
  return created;
}

async function record(h: PipelineHarness, id: string): Promise<DeliveryRecord | undefined> {
  return h.deliveries.get(id);
}

function deliveryId(subscription: SubscriptionRecord, eventId: string, timestamp: string): string {
  return deliveryIdFor(subscription.fleetId, eventId, subscription.id, timestamp);
}

describe('waiting retries hold nothing in flight', () => {
  it('200 deliveries retrying to a dead endpoint, in-flight limit 50: healthy endpoints in the same and another fleet get theirs within seconds', async () => {
    harness = await startHarness({
      settings: { retryDelaysSeconds: [300], maxAttempts: 5 },
      runtime: { sqsInFlightLimit: 50 },
      pipeline: { dispatcherConcurrency: 4 },
    });
    const h = harness;
    h.receiver.endpoint('/dead', () => 500);
    await subscribeMany(h, 'fleet-a', 200, () => '/dead', ['thread.failed']);
    await putEvent(h, 'fleet-a', 'thread.failed', { n: 0 });
    await waitFor('200 first attempts at the dead endpoint', () => (h.receiver.at('/dead').length >= 200 ? true : undefined), 60_000);

    h.receiver.endpoint('/healthy-a');
    h.receiver.endpoint('/healthy-b');
    await createSubscription(h, { fleetId: 'fleet-a', url: `http://127.0.0.1:${h.receiver.port}/healthy-a`, events: ['thread.completed'] });
    await createSubscription(h, { fleetId: 'fleet-b', url: `http://127.0.0.1:${h.receiver.port}/healthy-b`, events: ['thread.completed'] });
    for (let i = 0; i < 5; i += 1) {
      await putEvent(h, 'fleet-a', 'thread.completed', { i });
      await putEvent(h, 'fleet-b', 'thread.completed', { i });
    }
    // The dead endpoint's retries wait 5 min as delayed messages; parked in flight they would block
    // every receive (past the limit long polls return nothing) until their visibility ran out.
    await waitFor('every healthy delivery', () => (h.receiver.at('/healthy-a').length >= 5 && h.receiver.at('/healthy-b').length >= 5 ? true : undefined), 15_000);
    expect(h.receiver.at('/dead').length).toBe(200);
    // A healthy delivery's message stays in flight from its receive until the dispatcher has recorded
    // the attempt and deleted it, a moment after the POST lands; once those settle, only the 200
    // delayed retries remain and nothing is in flight.
    const settled = await waitFor('healthy messages deleted, retries delayed', async () => {
      const attributes = await h.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: h.runtime.queues.deliveriesUrl, AttributeNames: ['ApproximateNumberOfMessagesDelayed', 'ApproximateNumberOfMessagesNotVisible'] }),
      );
      const notVisible = Number(attributes.Attributes?.ApproximateNumberOfMessagesNotVisible);
      return notVisible === 0 ? attributes.Attributes : undefined;
    }, 10_000);
    expect(Number(settled.ApproximateNumberOfMessagesDelayed)).toBe(200);
    expect(h.receiver.at('/dead').length).toBe(200);
  }, 120_000);
});

describe('attempts are counted by Hookline, not by SQS receives', () => {
  it('throttle storm: every first receive throttled → each delivery gets exactly its attempts, numbered 1…n, failed record before the DLQ', async () => {
    let throttled = 0;
    harness = await startHarness({
      settings: { retryDelaysSeconds: [1], maxAttempts: 3, deliveriesMaxReceiveCount: 5 },
      runtime: { queueVisibilitySeconds: { events: 5, deliveries: 2 } },
      pipeline: {
        dispatcherConcurrency: 4,
        // One message per invocation, so exactly each message's first receive is throttled.
        batchSize: 1,
        // Lambda throttles: the batch is received, not invoked, and comes back after the visibility timeout.
        dispatcherThrottle: (records) => {
          const first = records[0]?.attributes.ApproximateReceiveCount === '1';
          if (first) throttled += 1;
          return first;
        },
      },
    });
    const h = harness;
    const subs = await subscribeMany(h, 'fleet-t', 100, (i) => `/t${i}`);
    for (let i = 0; i < 100; i += 1) h.receiver.endpoint(`/t${i}`, () => 503);
    await putEvent(h, 'fleet-t', 'thread.completed', { storm: true }, 'evt_storm');
    const event = await waitFor('the stored event', () => h.events.get('fleet-t', 'evt_storm'));

    await waitFor('all 100 deliveries dead-lettered', async () => ((await queueDepth(h.sqs, h.runtime.queues.deliveriesDlqUrl)) >= 100 ? true : undefined), 90_000);
    expect(throttled).toBeGreaterThan(0);
    for (let i = 0; i < 100; i += 1) {
      const stored = await record(h, deliveryId(subs[i]!, event.id, event.timestamp));
      expect(stored?.status, `delivery ${i}`).toBe('failed');
      expect(stored?.attemptCount).toBe(3);
      expect(stored?.attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
      expect(h.receiver.at(`/t${i}`)).toHaveLength(3);
    }
    // Nothing more arrives: the DLQ holds them all, with failed records.
    await sleep(1_500);
    expect(await queueDepth(h.sqs, h.runtime.queues.deliveriesDlqUrl)).toBe(100);
    expect(await queueDepth(h.sqs, h.runtime.queues.deliveriesUrl)).toBe(0);
  }, 150_000);

  it('an invocation that dies mid-batch costs the other records of its batch no attempt', async () => {
    harness = await startHarness({
      settings: { retryDelaysSeconds: [1], maxAttempts: 2 },
      runtime: { queueVisibilitySeconds: { events: 5, deliveries: 4 } },
      // One poller, batches of 10, a 3-second function timeout.
      pipeline: { dispatcherConcurrency: 1, dispatcherTimeoutMs: 3_000 },
    });
    const h = harness;
    h.receiver.endpoint('/hang', () => 'hang');
    const healthy = await subscribeMany(h, 'fleet-c', 5, (i) => `/ok${i}`);
    for (let i = 0; i < 5; i += 1) h.receiver.endpoint(`/ok${i}`);
    const { subscription: hanging } = await createSubscription(h, {
      fleetId: 'fleet-c',
      url: `http://127.0.0.1:${h.receiver.port}/hang`,
      events: ['thread.completed'],
      timeoutSeconds: 30,
    });
    await putEvent(h, 'fleet-c', 'thread.completed', { batch: true }, 'evt_batch');
    const event = await waitFor('the stored event', () => h.events.get('fleet-c', 'evt_batch'));

    // The hanging POST outlives the function timeout, so the whole invocation fails and its batch returns.
    await waitFor('the hanging delivery to be tried twice', () => (h.receiver.at('/hang').length >= 2 ? true : undefined), 60_000);
    await waitFor('the hanging delivery to fail', async () => ((await record(h, deliveryId(hanging!, event.id, event.timestamp)))?.status === 'failed' ? true : undefined), 30_000);
    for (let i = 0; i < 5; i += 1) {
      expect(h.receiver.at(`/ok${i}`), `healthy ${i}`).toHaveLength(1);
      const stored = await record(h, deliveryId(healthy[i]!, event.id, event.timestamp));
      expect(stored?.status).toBe('succeeded');
      expect(stored?.attemptCount).toBe(1);
    }
    const hung = await record(h, deliveryId(hanging!, event.id, event.timestamp));
    expect(hung?.attempts.map((a) => [a.attempt, a.errorKind])).toEqual([
      [1, 'interrupted'],
      [2, 'interrupted'],
    ]);
  }, 120_000);
});

describe('long waits', () => {
  it('Retry-After: 86400 schedules the next attempt at the 12-hour cap, as a delayed message', async () => {
    harness = await startHarness({ settings: { retryDelaysSeconds: [1], maxAttempts: 3 } });
    const h = harness;
    // The shared receiver answers without headers; a dedicated one sends Retry-After.
    const { createServer } = await import('node:http');
    const busy = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(503, { 'retry-after': '86400' });
        res.end('busy');
      });
    });
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const port = (busy.address() as import('node:net').AddressInfo).port;
      const { subscription } = await createSubscription(h, { fleetId: 'fleet-r', url: `http://127.0.0.1:${port}/`, events: ['thread.completed'] });
      const before = Date.now();
      await putEvent(h, 'fleet-r', 'thread.completed', { r: 1 }, 'evt_ra');
      const event = await waitFor('the stored event', () => h.events.get('fleet-r', 'evt_ra'));
      const id = deliveryId(subscription, event.id, event.timestamp);
      const stored = await waitFor('the first attempt', async () => {
        const found = await record(h, id);
        return found?.attemptCount === 1 ? found : undefined;
      }, 20_000);
      expect(stored.status).toBe('pending');
      expect(stored.attempts[0]?.retryInSeconds).toBe(43_200);
      const due = Date.parse(stored.nextAttemptAt ?? '');
      expect(Math.abs(due - (before + 43_200_000))).toBeLessThan(120_000);

      // The wait is a delayed message carrying the due time, not an in-flight one. The record is
      // written before the next message is sent and the current one deleted: poll until both are done.
      const counts = async () => {
        const attributes = await h.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: h.runtime.queues.deliveriesUrl, AttributeNames: ['ApproximateNumberOfMessagesDelayed', 'ApproximateNumberOfMessagesNotVisible'] }),
        );
        return { delayed: Number(attributes.Attributes?.ApproximateNumberOfMessagesDelayed), notVisible: Number(attributes.Attributes?.ApproximateNumberOfMessagesNotVisible) };
      };
      const settled = await waitFor('the retry waiting as a delayed message', async () => {
        const now = await counts();
        return now.delayed === 1 && now.notVisible === 0 ? now : undefined;
      }, 20_000).catch(() => counts());
      expect(settled.delayed).toBe(1);
      expect(settled.notVisible).toBe(0);
      await sleep(2_000);
      expect(await record(h, id)).toMatchObject({ attemptCount: 1 });
    } finally {
      busy.closeAllConnections();
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  }, 60_000);

  it('a message that arrives before its notBefore is re-sent as the next hop, with no attempt', async () => {
    harness = await startHarness();
    const h = harness;
    h.receiver.endpoint('/later');
    const { subscription } = await createSubscription(h, { fleetId: 'fleet-h', url: `http://127.0.0.1:${h.receiver.port}/later`, events: ['thread.completed'] });
    const timestamp = new Date().toISOString();
    const message: DeliveryMessage = {
      v: 1,
      deliveryId: deliveryIdFor('fleet-h', 'evt_hop', subscription.id, timestamp),
      fleetId: 'fleet-h',
      subscriptionId: subscription.id,
      event: { id: 'evt_hop', type: 'thread.completed', timestamp, data: {} },
      reason: 'fanout',
      attempt: 2,
      notBefore: new Date(Date.now() + 3_600_000).toISOString(),
    };
    await h.sqs.send(new SendMessageCommand({ QueueUrl: h.runtime.queues.deliveriesUrl, MessageBody: JSON.stringify(message) }));
    await waitFor('the hop', async () => {
      const attributes = await h.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: h.runtime.queues.deliveriesUrl, AttributeNames: ['ApproximateNumberOfMessagesDelayed'] }),
      );
      return Number(attributes.Attributes?.ApproximateNumberOfMessagesDelayed) === 1 ? true : undefined;
    }, 10_000);
    expect(h.receiver.at('/later')).toHaveLength(0);
    expect(await record(h, message.deliveryId)).toBeUndefined();
  }, 30_000);
});

describe('one POST of a delivery at a time', () => {
  it('20 concurrent duplicates of one delivery message make exactly one POST', async () => {
    harness = await startHarness({ pipeline: { dispatcherConcurrency: 4, batchSize: 1 } });
    const h = harness;
    // A slow endpoint keeps the first POST in flight while the duplicates arrive.
    const { createServer } = await import('node:http');
    let posts = 0;
    const slow = createServer((req, res) => {
      posts += 1;
      req.resume();
      setTimeout(() => res.writeHead(204).end(), 500);
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const port = (slow.address() as import('node:net').AddressInfo).port;
      const { subscription } = await createSubscription(h, { fleetId: 'fleet-d', url: `http://127.0.0.1:${port}/`, events: ['thread.completed'] });
      const timestamp = new Date().toISOString();
      const message: DeliveryMessage = {
        v: 1,
        deliveryId: deliveryIdFor('fleet-d', 'evt_dup', subscription.id, timestamp),
        fleetId: 'fleet-d',
        subscriptionId: subscription.id,
        event: { id: 'evt_dup', type: 'thread.completed', timestamp, data: { dup: true } },
        reason: 'fanout',
      };
      await Promise.all(
        Array.from({ length: 20 }, () =>
          h.sqs.send(new SendMessageCommand({ QueueUrl: h.runtime.queues.deliveriesUrl, MessageBody: JSON.stringify(message) })),
        ),
      );
      await waitFor('the delivery to succeed', async () => ((await record(h, message.deliveryId))?.status === 'succeeded' ? true : undefined), 20_000);
      await sleep(2_000);
      expect(posts).toBe(1);
      const stored = await record(h, message.deliveryId);
      expect(stored?.attemptCount).toBe(1);
    } finally {
      slow.closeAllConnections();
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
  }, 60_000);
});

describe('exhaustion and redrive', () => {
  it('exhausted → failed record → DLQ → console redrive → a fresh round with the same id; the record shows both rounds', async () => {
    harness = await startHarness({ settings: { retryDelaysSeconds: [1], maxAttempts: 2, deliveriesMaxReceiveCount: 5 } });
    const h = harness;
    let healthy = false;
    h.receiver.endpoint('/flaky', () => (healthy ? 204 : 500));
    const { subscription } = await createSubscription(h, { fleetId: 'fleet-x', url: `http://127.0.0.1:${h.receiver.port}/flaky`, events: ['thread.completed'] });
    await putEvent(h, 'fleet-x', 'thread.completed', { x: 1 }, 'evt_x');
    const event = await waitFor('the stored event', () => h.events.get('fleet-x', 'evt_x'));
    const id = deliveryId(subscription, event.id, event.timestamp);
    await waitFor('the DLQ to hold it', async () => ((await queueDepth(h.sqs, h.runtime.queues.deliveriesDlqUrl)) === 1 ? true : undefined), 30_000);
    // Every message in the DLQ has a failed record.
    const failed = await record(h, id);
    expect(failed).toMatchObject({ status: 'failed', attemptCount: 2 });
    expect(h.receiver.at('/flaky')).toHaveLength(2);

    healthy = true;
    await redriveDlq(h.sqs, h.runtime.queues.deliveriesDlqUrl, h.runtime.queues.deliveriesUrl);
    const done = await waitFor('the redriven delivery', async () => {
      const found = await record(h, id);
      return found?.status === 'succeeded' ? found : undefined;
    }, 20_000);
    expect(done.attempts.map((a) => [a.round, a.attempt])).toEqual([
      [1, 1],
      [1, 2],
      [2, 1],
    ]);
    expect(done.rounds).toBe(2);
    const ids = new Set(h.receiver.at('/flaky').map((r) => r.headers['webhook-id']));
    expect([...ids]).toEqual([id]);
    await sleep(1_000);
    expect(h.receiver.at('/flaky')).toHaveLength(3);
    const leftover = await h.sqs.send(new ReceiveMessageCommand({ QueueUrl: h.runtime.queues.deliveriesDlqUrl, WaitTimeSeconds: 0 }));
    expect(leftover.Messages ?? []).toHaveLength(0);
  }, 60_000);
});
