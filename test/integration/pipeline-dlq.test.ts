import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryRecord } from '../../lambdas/core/records';
import { redriveDlq } from '../../local/queues';
import { createSubscription, putEvent, queueDepth, startHarness, waitFor, type PipelineHarness } from './pipeline-helpers';

let harness: PipelineHarness;

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await harness?.stop();
});

async function deliveryWhen(id: string, done: (record: DeliveryRecord) => boolean, timeoutMs = 10_000): Promise<DeliveryRecord> {
  return waitFor(
    `delivery ${id}`,
    async () => {
      const record = await harness.deliveries.get(id);
      return record !== undefined && done(record) ? record : undefined;
    },
    timeoutMs,
  );
}

describe('retries exhausted, DLQ and redrive; timeouts; poison events', { timeout: 40_000 }, () => {
  it('an exhausted schedule lands in the DLQ; a console-style redrive delivers it again with the same id and a fresh schedule', async () => {
    const fleetId = 'fleet-exhausted';
    const { receiver, sqs, runtime } = harness;
    // Three failures use up maxAttempts (3); after the redrive the endpoint has recovered.
    const url = receiver.endpoint('/down', (index) => (index < 3 ? 503 : 200));
    await createSubscription(harness, { fleetId, url });
    await putEvent(harness, fleetId, 'thread.failed', { reason: 'boom' });

    const failedPosts = await waitFor('three attempts', () => (receiver.at('/down').length >= 3 ? receiver.at('/down') : undefined), 15_000);
    const deliveryId = String(failedPosts[0]?.headers['webhook-id']);
    const failed = await deliveryWhen(deliveryId, (record) => record.status === 'failed');
    expect(failed.attempts.map((attempt) => [attempt.round, attempt.attempt, attempt.statusCode])).toEqual([
      [1, 1, 503],
      [1, 2, 503],
      [1, 3, 503],
    ]);
    expect(failed.nextAttemptAt).toBeUndefined();

    // The record says failed first; then the exhausted message bounces (visibility 0) until the
    // queue's redrive policy (deliveriesMaxReceiveCount receives) moves it to the DLQ.
    await waitFor('the message in the DLQ', async () => ((await queueDepth(sqs, runtime.queues.deliveriesDlqUrl)) === 1 ? true : undefined));
    expect(await queueDepth(sqs, runtime.queues.deliveriesUrl)).toBe(0);
    expect(receiver.at('/down')).toHaveLength(3);
    expect((await harness.deliveries.get(deliveryId))?.status).toBe('failed');

    const moved = await redriveDlq(sqs, runtime.queues.deliveriesDlqUrl, runtime.queues.deliveriesUrl);
    expect(moved).toBe(1);
    const redelivered = await deliveryWhen(deliveryId, (record) => record.status === 'succeeded');
    const posts = receiver.at('/down');
    expect(posts).toHaveLength(4);
    expect(new Set(posts.map((post) => post.headers['webhook-id']))).toEqual(new Set([deliveryId]));
    // The redriven message starts a second round, again at attempt 1; the record shows both rounds.
    expect(redelivered.attempts.map((attempt) => [attempt.round, attempt.attempt, attempt.statusCode])).toEqual([
      [1, 1, 503],
      [1, 2, 503],
      [1, 3, 503],
      [2, 1, 200],
    ]);
    expect(redelivered.attemptCount).toBe(4);
    expect(redelivered.rounds).toBe(2);
    // The record is written before the event source mapping deletes the message: wait for the deletion.
    await waitFor('the redriven message deleted', async () => ((await queueDepth(sqs, runtime.queues.deliveriesUrl)) === 0 ? true : undefined));
    expect(await queueDepth(sqs, runtime.queues.deliveriesDlqUrl)).toBe(0);
  });

  it('a receiver that never answers: the attempt is recorded as a timeout and retried', async () => {
    const fleetId = 'fleet-silent';
    const { receiver } = harness;
    const url = receiver.endpoint('/silent', (index) => (index === 0 ? 'hang' : 200));
    await createSubscription(harness, { fleetId, url, timeoutSeconds: 1 });
    await putEvent(harness, fleetId, 'schedule.triggered', { at: 'now' });
    const [first] = await waitFor('the first POST', () => (receiver.at('/silent').length > 0 ? receiver.at('/silent') : undefined));
    const record = await deliveryWhen(String(first?.headers['webhook-id']), (found) => found.status === 'succeeded');
    const [timedOut, answered] = record.attempts;
    expect(timedOut).toMatchObject({ attempt: 1, errorKind: 'timeout', retryInSeconds: 1 });
    expect(timedOut?.statusCode).toBeUndefined();
    expect(timedOut?.latencyMs).toBeGreaterThanOrEqual(950);
    expect(timedOut?.latencyMs).toBeLessThan(3_000);
    expect(answered).toMatchObject({ attempt: 2, statusCode: 200 });
  });

  it('an invalid event is set aside in the events DLQ after its receives, not retried forever', async () => {
    const { sqs, runtime } = harness;
    await putEvent(harness, 'fleet-poison', 'not.in.catalog', { n: 1 });
    await sqs.send(new SendMessageCommand({ QueueUrl: runtime.queues.eventsUrl, MessageBody: 'this is not json' }));
    await waitFor('both in the events DLQ', async () => ((await queueDepth(sqs, runtime.queues.eventsDlqUrl)) === 2 ? true : undefined), 15_000);
    expect(await queueDepth(sqs, runtime.queues.eventsUrl)).toBe(0);
    const parked = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: runtime.queues.eventsDlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 30 }),
    );
    const bodies = (parked.Messages ?? []).map((message) => message.Body ?? '');
    expect(bodies).toContain('this is not json');
    expect(bodies.some((body) => body.includes('not.in.catalog'))).toBe(true);
    const stored = await harness.events.listByTime(
      'fleet-poison',
      { since: '2000-01-01T00:00:00.000Z', until: '2100-01-01T00:00:00.000Z' },
      { limit: 10 },
    );
    expect(stored.items).toHaveLength(0);
  });
});
