import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockAwsClient } from '../../support/aws-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deliveryIdFor } from '../../../lambdas/core/ids';
import type { EventRecord, ReplayJobMessage, SubscriptionRecord } from '../../../lambdas/core/records';
import type { Page } from '../../../lambdas/shared/cursor';
import { QueueSendError } from '../../../lambdas/shared/queue-sender';
import { runReplay, type ReplayDeps } from '../../../lambdas/shared/replay';
import { FLEET, QUEUES, subscription } from './harness';

const sqsMock = mockAwsClient(SQSClient);
const sqs = new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });

function event(index: number, type = 'thread.completed'): EventRecord {
  const timestamp = new Date(Date.UTC(2024, 4, 10, 10, 0, index)).toISOString();
  const id = `evt_${String(index).padStart(3, '0')}`;
  return { fleetId: FLEET, id, type, timestamp, data: { index }, timeKey: `${timestamp}#${id}`, source: 'api', expiresAt: 2e9 };
}

/** A by-time index over `all`, paged by position; the cursor is the next index. */
function eventsOver(all: EventRecord[]) {
  const calls: { limit: number; cursor?: string }[] = [];
  return {
    calls,
    async listByTime(_fleet: string, _range: unknown, options: { limit: number; cursor?: string }): Promise<Page<EventRecord>> {
      calls.push(options);
      const start = options.cursor === undefined ? 0 : Number(options.cursor);
      const items = all.slice(start, start + options.limit);
      const next = start + options.limit;
      return { items, ...(next < all.length ? { nextCursor: String(next) } : {}) };
    },
  };
}

const job = (sub: SubscriptionRecord, cursor?: string): ReplayJobMessage => ({
  v: 1,
  kind: 'replay',
  fleetId: FLEET,
  subscriptionId: sub.id,
  since: '2024-05-10T00:00:00.000Z',
  until: '2024-05-11T00:00:00.000Z',
  ...(cursor === undefined ? {} : { cursor }),
});

function deps(sub: SubscriptionRecord | undefined, events: ReplayDeps['events']): ReplayDeps {
  return {
    events,
    subscriptions: { get: async () => sub },
    sqs,
    deliveriesQueueUrl: QUEUES.deliveriesUrl,
    eventsQueueUrl: QUEUES.eventsUrl,
  };
}

function batchedBodies(): any[] {
  return sqsMock.commandCalls(SendMessageBatchCommand).flatMap((c) => (c.args[0].input.Entries ?? []).map((e) => JSON.parse(e.MessageBody!)));
}

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
    Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: '' })),
    Failed: [],
  }));
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm' });
});
afterEach(() => sqsMock.reset());

describe('runReplay', () => {
  it('sends every matching event of the range, in batches, with deterministic delivery ids', async () => {
    const sub = subscription({ events: ['thread.completed'] });
    const all = Array.from({ length: 25 }, (_, i) => event(i, i % 5 === 0 ? 'thread.failed' : 'thread.completed'));
    const result = await runReplay(deps(sub, eventsOver(all)), job(sub), { maxPages: 10, pageSize: 10 });
    expect(result).toEqual({ enqueued: 20, continued: false });
    const bodies = batchedBodies();
    expect(bodies).toHaveLength(20);
    expect(bodies[0]).toEqual({
      v: 1,
      deliveryId: deliveryIdFor(FLEET, all[1]!.id, sub.id, all[1]!.timestamp),
      fleetId: FLEET,
      subscriptionId: sub.id,
      event: { id: all[1]!.id, type: 'thread.completed', timestamp: all[1]!.timestamp, data: { index: 1 } },
      reason: 'replay',
      // A replay starts each delivery over: attempt 1 of a new round, whose id (a ULID) sorts after
      // the fan-out's round '0' and any earlier round, so a retry still waiting from one is dropped.
      round: bodies[0].round,
      attempt: 1,
      nonce: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/),
    });
    expect(bodies[0].round).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(new Set(bodies.map((body) => body.round))).toEqual(new Set([bodies[0].round]));
    // The fleet is the message group: SQS fair queues keep one busy fleet from delaying the others.
    const groups = sqsMock.commandCalls(SendMessageBatchCommand).flatMap((c) => (c.args[0].input.Entries ?? []).map((e) => e.MessageGroupId));
    expect(groups).toEqual(Array.from({ length: 20 }, () => FLEET));
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('hands the rest to the events queue when the page budget runs out, and resumes from the cursor', async () => {
    const sub = subscription();
    const all = Array.from({ length: 7 }, (_, i) => event(i));
    const first = await runReplay(deps(sub, eventsOver(all)), job(sub), { maxPages: 2, pageSize: 3 });
    expect(first).toEqual({ enqueued: 6, continued: true });
    const continuation = JSON.parse(sqsMock.commandCalls(SendMessageCommand)[0]!.args[0].input.MessageBody!);
    expect(continuation).toEqual({ ...job(sub), cursor: '6' });
    expect(sqsMock.commandCalls(SendMessageCommand)[0]!.args[0].input.QueueUrl).toBe(QUEUES.eventsUrl);

    const rest = await runReplay(deps(sub, eventsOver(all)), continuation, { maxPages: 2, pageSize: 3 });
    expect(rest).toEqual({ enqueued: 1, continued: false });
    expect(new Set(batchedBodies().map((b) => b.event.id)).size).toBe(7);
  });

  it('does nothing for a deleted or disabled subscription', async () => {
    const events = eventsOver([event(1)]);
    expect(await runReplay(deps(undefined, events), job(subscription()), { maxPages: 1 })).toEqual({ enqueued: 0, continued: false });
    const disabled = subscription({ enabled: false });
    expect(await runReplay(deps(disabled, events), job(disabled), { maxPages: 1 })).toEqual({ enqueued: 0, continued: false });
    expect(events.calls).toHaveLength(0);
    expect(sqsMock.calls()).toHaveLength(0);
  });

  it('never replays webhook.test events (they reach one endpoint only, by the test route)', async () => {
    const sub = subscription();
    const result = await runReplay(deps(sub, eventsOver([event(1, 'webhook.test'), event(2)])), job(sub), { maxPages: 1 });
    expect(result.enqueued).toBe(1);
    expect(batchedBodies()[0].event.type).toBe('thread.completed');
  });

  it('fails loudly when SQS keeps refusing entries, so the caller retries', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
      Successful: [],
      Failed: input.Entries.map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false })),
    }));
    const sub = subscription();
    await expect(runReplay(deps(sub, eventsOver([event(1)])), job(sub), { maxPages: 1 })).rejects.toBeInstanceOf(QueueSendError);
  });
});
