import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newSubscriptionId } from '../../lambdas/core/ids';
import { addKeyVersion, generateKeyRing, sealSigningSecrets } from '../../lambdas/core/sealed-secrets';
import type { AttemptRecord, DeliveryMessage, DeliveryRecord, EventRecord, SubscriptionRecord } from '../../lambdas/core/records';
import { parseDeploymentSettings } from '../../lambdas/core/settings';
import { DeliveriesStore, type AttemptWrite } from '../../lambdas/shared/deliveries-store';
import { startEventSourceMapping, type EventSourceMapping, type SqsEventHandler } from '../../local/event-source-mapping';
import type { LocalLogger } from '../../local/logger';
import { EVENTS_MAX_RECEIVE_COUNT } from '../../local/queues';
import { FaultReceiver } from './support/fault-receiver';
import { awsError, buildDispatcher, buildFanout, deliveryMessage, handlerClients, injectFaults, sqsRecord, type HandlerClients } from './support/handlers';
import { captureOutput, type OutputCapture } from './support/log-capture';
import { startPipelineStack, type PipelineStack } from './support/pipeline-stack';
import { storeSubscription, waitFor } from './support/subscriptions';

/**
 * Crash and duplicate safety: the real fan-out and dispatcher on the local runtime's queues, with
 * deaths, throws, duplicate messages, poison messages and failing AWS calls injected. Whatever
 * happens, every delivery ends recorded once, with the same `webhook-id`, and nothing is lost.
 * Queues use a 1 s visibility timeout, so a crashed message comes back quickly.
 */

const SETTINGS = { allowPrivateTargets: ['127.0.0.0/8'], retryDelaysSeconds: [1], retryJitter: 0, maxAttempts: 3 };

let stack: PipelineStack;
let receiver: FaultReceiver;
let output: OutputCapture;
const mappings: EventSourceMapping[] = [];
const clientsToClose: HandlerClients[] = [];
const mappingErrors: string[] = [];

const mappingLogger: LocalLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message) => mappingErrors.push(message),
  error: (message) => mappingErrors.push(message),
};

beforeAll(async () => {
  receiver = new FaultReceiver();
  await receiver.start();
  stack = await startPipelineStack({ settings: SETTINGS, visibilitySeconds: 1 });
  output = captureOutput();
}, 60_000);

afterEach(async () => {
  await Promise.all(mappings.splice(0).map((mapping) => mapping.stop()));
  for (const clients of clientsToClose.splice(0)) clients.destroy();
});

afterAll(async () => {
  output?.restore();
  await stack?.stop();
  await receiver?.stop();
});

function clients(): HandlerClients {
  const made = handlerClients();
  clientsToClose.push(made);
  return made;
}

function run(queue: 'deliveries' | 'events', handler: SqsEventHandler, options: { timeoutMs?: number; batchSize?: number } = {}): void {
  const { queues } = stack.runtime;
  mappings.push(
    startEventSourceMapping({
      sqs: clients().sqs,
      queueUrl: queue === 'deliveries' ? queues.deliveriesUrl : queues.eventsUrl,
      queueArn: queue === 'deliveries' ? queues.deliveriesArn : queues.eventsArn,
      handler,
      batchSize: options.batchSize ?? 10,
      concurrency: 1,
      waitTimeSeconds: 1,
      timeoutMs: options.timeoutMs ?? 10_000,
      logger: mappingLogger,
    }),
  );
}

/** `count` subscriptions in a fleet, each with its own endpoint answering 200. */
async function subscribers(fleetId: string, count: number): Promise<SubscriptionRecord[]> {
  const made: SubscriptionRecord[] = [];
  for (let index = 0; index < count; index += 1) {
    const url = receiver.endpoint(`/${fleetId}/${index}`, () => ({ status: 200 }));
    made.push((await storeSubscription(stack, { fleetId, url })).subscription);
  }
  return made;
}

function messagesFor(subscriptions: SubscriptionRecord[], tag: string): DeliveryMessage[] {
  const event = { id: `evt-${tag}`, type: 'thread.completed', timestamp: new Date().toISOString(), data: { tag } };
  return subscriptions.map((subscription) =>
    deliveryMessage({
      deliveryId: stack.deliveryId({ ...event, fleetId: subscription.fleetId } as EventRecord, subscription.id),
      fleetId: subscription.fleetId,
      subscriptionId: subscription.id,
      event,
    }),
  );
}

async function enqueue(sqs: SQSClient, messages: DeliveryMessage[]): Promise<void> {
  await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: stack.runtime.queues.deliveriesUrl,
      Entries: messages.map((message, index) => ({ Id: String(index), MessageBody: JSON.stringify(message) })),
    }),
  );
}

/**
 * A delivery record that is internally consistent: one entry per counted attempt, no (round, attempt)
 * twice, rounds in order and attempts numbered 1, 2, … within each round.
 */
function expectConsistent(record: DeliveryRecord): void {
  expect(record.attemptCount).toBe(record.attempts.length);
  const turns = record.attempts.map((attempt) => `${attempt.round}:${attempt.attempt}`);
  expect(new Set(turns).size).toBe(turns.length);
  let previous: AttemptRecord | undefined;
  for (const attempt of record.attempts) {
    const expected = previous === undefined || previous.round !== attempt.round ? 1 : previous.attempt + 1;
    expect(attempt.attempt, turns.join(' ')).toBe(expected);
    if (previous !== undefined) expect(attempt.round).toBeGreaterThanOrEqual(previous.round);
    previous = attempt;
  }
}

/** Round, attempt number and what happened, per recorded attempt. */
const history = (record: DeliveryRecord) => record.attempts.map((attempt) => [attempt.round, attempt.attempt, attempt.statusCode ?? attempt.errorKind]);

const posts = (subscription: SubscriptionRecord) => receiver.at(new URL(subscription.url).pathname);

async function queuesEmpty(): Promise<void> {
  const { queues } = stack.runtime;
  await waitFor('the queues to empty', async () =>
    (await stack.depth(queues.deliveriesUrl)) === 0 && (await stack.depth(queues.eventsUrl)) === 0 ? true : undefined,
  );
  expect(await stack.depth(queues.deliveriesDlqUrl)).toBe(0);
}

describe('crash and duplicate safety', () => {
  it('the dispatcher dies mid-batch after a POST and before its record write: the batch comes back, only the interrupted delivery is POSTed again (same webhook-id)', { timeout: 45_000 }, async () => {
    const subs = await subscribers('crash-die', 4);
    const messages = messagesFor(subs, 'die');
    const victim = messages[1]?.deliveryId;
    let died = false;
    const made = clients();
    class DyingStore extends DeliveriesStore {
      override recordAttempt(write: AttemptWrite): Promise<'recorded' | 'stale'> {
        if (write.identity.id === victim && !died) {
          died = true;
          // The process is gone: this write never happens and the invocation never returns.
          return new Promise(() => undefined);
        }
        return super.recordAttempt(write);
      }
    }
    const { handler, http } = buildDispatcher(stack.runtime, made, { deliveries: new DyingStore(made.doc, stack.runtime.tables.deliveries) });
    await enqueue(made.sqs, messages);
    run('deliveries', handler, { timeoutMs: 1_500 });

    const records = await Promise.all(
      messages.map((message) =>
        stack.settled(message.deliveryId, (record) => record.status === 'succeeded' && (message.deliveryId !== victim || record.attemptCount === 2), 30_000),
      ),
    );
    await queuesEmpty();
    await http.close();
    expect(died).toBe(true);
    expect(mappingErrors.some((line) => /timed out/i.test(line))).toBe(true);
    records.forEach((record, index) => {
      const subscription = subs[index] as SubscriptionRecord;
      expectConsistent(record);
      const webhookIds = posts(subscription).map((post) => post.headers['webhook-id']);
      if (record.id === victim) {
        // Its claimed attempt never reported: once the claim's lease ran out it counted as made
        // (the POST may have gone out), and attempt 2 delivered it again under the same id.
        expect(webhookIds).toEqual([record.id, record.id]);
        expect(history(record)).toEqual([
          [1, 1, 'interrupted'],
          [1, 2, 200],
        ]);
      } else {
        // The others were recorded before the batch died: their returning messages are duplicates, not POSTed.
        expect(webhookIds).toEqual([record.id]);
        expect(history(record)).toEqual([[1, 1, 200]]);
      }
    });
  });

  it('the handler throws after the POST and before the record write: only that message comes back and, once its claim has run out, is attempted again with the same webhook-id', { timeout: 45_000 }, async () => {
    const subs = await subscribers('crash-throw', 3);
    const messages = messagesFor(subs, 'throw');
    const victim = messages[2]?.deliveryId;
    let thrown = false;
    const made = clients();
    class ThrowingStore extends DeliveriesStore {
      override async recordAttempt(write: AttemptWrite): Promise<'recorded' | 'stale'> {
        if (write.identity.id === victim && !thrown) {
          thrown = true;
          throw awsError('InternalServerError', 'injected crash before the record write');
        }
        return super.recordAttempt(write);
      }
    }
    const { handler, http } = buildDispatcher(stack.runtime, made, { deliveries: new ThrowingStore(made.doc, stack.runtime.tables.deliveries) });
    await enqueue(made.sqs, messages);
    // A 5 s function timeout: the claim's lease (deadline + 5 s) runs out about 10 s after the POST.
    run('deliveries', handler, { timeoutMs: 5_000 });
    const records = await Promise.all(
      messages.map((message) =>
        stack.settled(message.deliveryId, (record) => record.status === 'succeeded' && (message.deliveryId !== victim || record.attemptCount === 2), 35_000),
      ),
    );
    await queuesEmpty();
    await http.close();
    expect(thrown).toBe(true);
    records.forEach((record, index) => {
      expectConsistent(record);
      const expectedPosts = record.id === victim ? 2 : 1;
      expect(posts(subs[index] as SubscriptionRecord).map((post) => post.headers['webhook-id'])).toEqual(Array(expectedPosts).fill(record.id));
      // While the claim was held, the returning message made no POST; then the attempt counted as interrupted.
      expect(history(record)).toEqual(record.id === victim ? [[1, 1, 'interrupted'], [1, 2, 200]] : [[1, 1, 200]]);
    });
  });

  it('the same SQS message delivered twice, concurrently and in sequence: one POST, one record, one counted attempt', { timeout: 30_000 }, async () => {
    const made = clients();
    const { handler, http } = buildDispatcher(stack.runtime, made);
    for (const [mode, status] of [
      ['concurrent', 200],
      ['sequential', 200],
      ['concurrent', 500],
      ['sequential', 500],
    ] as const) {
      const fleetId = `dup-${mode}-${status}`;
      const url = receiver.endpoint(`/${fleetId}`, () => ({ status }));
      const { subscription } = await storeSubscription(stack, { fleetId, url });
      const [message] = messagesFor([subscription], fleetId) as [DeliveryMessage];
      const record = sqsRecord(message, { messageId: `msg-${fleetId}`, receiveCount: 1 });
      if (mode === 'concurrent') await Promise.all([handler({ Records: [record] }), handler({ Records: [record] })]);
      else {
        await handler({ Records: [record] });
        await handler({ Records: [record] });
      }
      const stored = await stack.deliveries.get(message.deliveryId);
      expect(stored, fleetId).toMatchObject({ attemptCount: 1, status: status === 200 ? 'succeeded' : 'pending' });
      expect(stored?.attempts, fleetId).toHaveLength(1);
      // The claim admits one POST: a concurrent copy looks again later (a new delayed message), a later one finds the attempt recorded.
      expect(receiver.at(`/${fleetId}`).map((post) => post.headers['webhook-id']), fleetId).toEqual([message.deliveryId]);
    }
    await http.close();
    // The 500s each left attempt 2 waiting as a delayed message (a sequential copy may send it again:
    // the record cannot tell whether the first send happened; the claim makes the copy harmless).
    let retries: DeliveryMessage[] = [];
    await waitFor('the retries to be drained', async () => {
      retries = [...retries, ...(await stack.drain(stack.runtime.queues.deliveriesUrl)).map((body) => JSON.parse(body) as DeliveryMessage)];
      return (await stack.depth(stack.runtime.queues.deliveriesUrl)) === 0 ? true : undefined;
    });
    // Attempt 2 of each 500; and the concurrent copies' second looks, attempt 1 again (judged then: already made, dropped).
    const next = retries.filter((retry) => retry.attempt === 2);
    expect(new Set(next.map((retry) => retry.event.id))).toEqual(new Set(['evt-dup-concurrent-500', 'evt-dup-sequential-500']));
    for (const retry of next) expect(retry).toMatchObject({ round: '0', attempt: 2 });
    const looks = retries.filter((retry) => retry.attempt !== 2);
    for (const look of looks) {
      expect(look.attempt ?? 1).toBe(1);
      expect(look.event.id).toMatch(/^evt-dup-concurrent-/);
    }
  });

  it('the fan-out crashes after sending part of its batches and runs again: every delivery id once in the set, none missing, identical messages', { timeout: 20_000 }, async () => {
    const fleetId = 'fanout-crash';
    const subs: SubscriptionRecord[] = [];
    for (let index = 0; index < 35; index += 1) subs.push((await storeSubscription(stack, { fleetId, url: `http://127.0.0.1:9/${index}` })).subscription);
    const body = JSON.stringify({ v: 1, kind: 'event', fleetId, event: { id: 'evt-fanout-crash', type: 'thread.completed', timestamp: new Date().toISOString(), data: { big: 'fan' } } });

    const crashing = clients();
    let sendCalls = 0;
    const fault = injectFaults(crashing.sqs, (command) => {
      if (command !== 'SendMessageBatchCommand') return undefined;
      sendCalls += 1;
      return sendCalls > 2 ? awsError('ServiceUnavailable', 'injected: the fan-out dies here') : undefined;
    });
    const first = await buildFanout(stack.runtime, crashing, { subscriptionPageSize: 10, sendConcurrency: 1 })({ Records: [sqsRecord(body, { messageId: 'evt-msg', receiveCount: 1 })] });
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'evt-msg' }]);
    expect(fault.injected.length).toBeGreaterThan(0);
    const partial = await stack.drain(stack.runtime.queues.deliveriesUrl);
    expect(partial).toHaveLength(20);
    expect((await stack.events.get(fleetId, 'evt-fanout-crash'))?.fannedOutAt).toBeUndefined();

    const second = await buildFanout(stack.runtime, clients(), { subscriptionPageSize: 10, sendConcurrency: 1 })({ Records: [sqsRecord(body, { messageId: 'evt-msg', receiveCount: 2 })] });
    expect(second.batchItemFailures).toEqual([]);
    const rest = await stack.drain(stack.runtime.queues.deliveriesUrl);
    expect(rest).toHaveLength(35);

    const event = (await stack.events.get(fleetId, 'evt-fanout-crash')) as EventRecord;
    expect(event.fannedOutAt).toBeDefined();
    const expected = subs.map((subscription) => stack.deliveryId(event, subscription.id)).sort();
    const all = [...partial, ...rest].map((text) => JSON.parse(text) as DeliveryMessage);
    expect([...new Set(all.map((message) => message.deliveryId))].sort()).toEqual(expected);
    // A repeat carries the same message but for its nonce (new for every message sent, so a stray
    // copy is never taken for a DLQ redrive): the receiver dedupes on webhook-id, the event is identical.
    const byId = new Map<string, string>();
    for (const text of [...partial, ...rest]) {
      const { nonce, ...message } = JSON.parse(text) as DeliveryMessage;
      expect(nonce).toMatch(/^[A-Za-z0-9_-]{16}$/);
      const same = JSON.stringify(message);
      expect(byId.get(message.deliveryId) ?? same).toBe(same);
      byId.set(message.deliveryId, same);
    }
    // A third run (the message delivered again after success) sends nothing.
    const third = await buildFanout(stack.runtime, clients())({ Records: [sqsRecord(body, { messageId: 'evt-msg', receiveCount: 3 })] });
    expect(third.batchItemFailures).toEqual([]);
    expect(await stack.drain(stack.runtime.queues.deliveriesUrl)).toEqual([]);
  });

  it('poison messages end in the DLQ or as a recorded delivery, each with a logged reason, never looping', { timeout: 40_000 }, async () => {
    output.clear();
    const made = clients();
    const { handler, http } = buildDispatcher(stack.runtime, made);
    run('deliveries', handler);
    run('events', buildFanout(stack.runtime, made));
    const { queues } = stack.runtime;

    // A signing secret no key can open: sealed under a key version the deployment's key ring does not hold.
    const { subscription: orphan } = await storeSubscription(stack, { fleetId: 'poison', url: receiver.endpoint('/poison-secret', () => ({ status: 200 })) });
    const foreign = sealSigningSecrets(addKeyVersion(generateKeyRing()), orphan.fleetId, orphan.id, { current: 'whsec_AAAA' });
    expect(await stack.subscriptions.replaceSecret(orphan.fleetId, orphan.id, orphan.sealedSecret, foreign, undefined)).toMatchObject(foreign);
    const [orphanMessage] = messagesFor([orphan], 'orphan') as [DeliveryMessage];
    // Unknown subscription: nobody to deliver to.
    const ghostId = newSubscriptionId();
    const ghostMessage = deliveryMessage({
      deliveryId: stack.deliveryId({ id: 'evt-ghost', fleetId: 'poison', timestamp: new Date().toISOString() } as EventRecord, ghostId),
      fleetId: 'poison',
      subscriptionId: ghostId,
      event: { id: 'evt-ghost', type: 'thread.completed', timestamp: new Date().toISOString(), data: {} },
    });
    for (const body of ['{not json', JSON.stringify({ v: 1, deliveryId: 'nope' }), JSON.stringify(orphanMessage), JSON.stringify(ghostMessage)]) {
      await made.sqs.send(new SendMessageCommand({ QueueUrl: queues.deliveriesUrl, MessageBody: body }));
    }
    for (const body of ['][', JSON.stringify({ v: 1, kind: 'event', fleetId: 'poison', event: { id: 'e1', type: 'no.such.type', timestamp: new Date().toISOString(), data: {} } })]) {
      await made.sqs.send(new SendMessageCommand({ QueueUrl: queues.eventsUrl, MessageBody: body }));
    }

    await waitFor('poison in the DLQs', async () =>
      (await stack.depth(queues.deliveriesDlqUrl)) === 3 && (await stack.depth(queues.eventsDlqUrl)) === 2 ? true : undefined,
    30_000);
    const parked = await stack.drain(queues.deliveriesDlqUrl);
    expect(parked.sort()).toEqual(['{not json', JSON.stringify({ v: 1, deliveryId: 'nope' }), JSON.stringify(orphanMessage)].sort());
    const parkedEvents = await stack.drain(queues.eventsDlqUrl);
    expect(parkedEvents).toHaveLength(2);
    expect(parkedEvents).toContain('][');
    expect(parkedEvents.some((body) => body.includes('no.such.type'))).toBe(true);
    await queuesEmpty();

    const orphanRecord = await stack.deliveries.get(orphanMessage.deliveryId);
    expect(orphanRecord).toMatchObject({ status: 'failed', attemptCount: 0, errorMessage: expect.stringMatching(/signing secret/) });
    expect(receiver.at('/poison-secret')).toHaveLength(0);
    const ghostRecord = await stack.deliveries.get(ghostMessage.deliveryId);
    expect(ghostRecord).toMatchObject({ status: 'disabled', attemptCount: 0, errorMessage: 'the subscription was deleted' });

    const reasons = output.logLines().filter((line) => line.level === 'ERROR').map((line) => String(line.reason ?? ''));
    expect(reasons).toContainEqual(expect.stringMatching(/not JSON/));
    expect(reasons).toContainEqual(expect.stringMatching(/not a delivery message/));
    expect(reasons).toContainEqual(expect.stringMatching(/signing secret/));
    expect(reasons).toContainEqual(expect.stringMatching(/not in the event catalog/));
    // Set aside after exactly maxReceiveCount receives (one reason line per receive), not an endless loop.
    const setAside = (message: string) =>
      output.logLines().filter((line) => line.message === message && line.reason === 'message body is not JSON');
    expect(setAside('deliveries-queue message set aside for the DLQ')).toHaveLength(parseDeploymentSettings(SETTINGS).deliveriesMaxReceiveCount);
    expect(setAside('events-queue message set aside for the DLQ')).toHaveLength(EVENTS_MAX_RECEIVE_COUNT);
    await http.close();
  });

  it('DynamoDB and Secrets Manager throttling and errors are retried through the queues: nothing lost, records consistent', { timeout: 40_000 }, async () => {
    const fleetId = 'throttled';
    const subs = await subscribers(fleetId, 3);
    const made = clients();
    const counts = new Map<string, number>();
    const failFirst = (key: string, times: number, error: Error) => {
      const seen = (counts.get(key) ?? 0) + 1;
      counts.set(key, seen);
      return seen <= times ? error : undefined;
    };
    const { deliveries, events, subscriptions } = stack.runtime.tables;
    const dynamo = injectFaults(made.dynamodb, (command, input) => {
      if (command === 'PutItemCommand' && input.TableName === events) return failFirst('event put', 2, awsError('ProvisionedThroughputExceededException'));
      if (command === 'QueryCommand' && input.TableName === subscriptions) return failFirst('subscriptions query', 1, awsError('ThrottlingException'));
      if (command === 'GetItemCommand' && input.TableName === subscriptions) return failFirst('subscription get', 1, awsError('InternalServerError'));
      if (command === 'UpdateItemCommand' && input.TableName === deliveries) return failFirst('delivery write', 1, awsError('ProvisionedThroughputExceededException'));
      return undefined;
    });
    const secrets = injectFaults(made.secrets, (command) =>
      command === 'GetSecretValueCommand' ? failFirst('secret get', 1, awsError('ThrottlingException', 'Rate exceeded')) : undefined,
    );
    const { handler, http } = buildDispatcher(stack.runtime, made);
    run('events', buildFanout(stack.runtime, made));
    run('deliveries', handler);

    const event = await stack.publish(fleetId, 'thread.completed', { survives: 'throttling' }, 'evt-throttled');
    const records = await Promise.all(subs.map((subscription) => stack.settled(stack.deliveryId(event, subscription.id), (record) => record.status === 'succeeded', 30_000)));
    await queuesEmpty();
    await http.close();

    expect(dynamo.injected).toEqual(expect.arrayContaining(['PutItemCommand', 'QueryCommand', 'GetItemCommand', 'UpdateItemCommand']));
    expect(secrets.injected.length).toBeGreaterThan(0);
    records.forEach((record, index) => {
      expectConsistent(record);
      const subscription = subs[index] as SubscriptionRecord;
      expect(posts(subscription).length).toBeGreaterThanOrEqual(1);
      expect(new Set(posts(subscription).map((post) => post.headers['webhook-id']))).toEqual(new Set([record.id]));
      expect(JSON.parse(posts(subscription)[0]?.body ?? '{}')).toMatchObject({ id: 'evt-throttled', data: { survives: 'throttling' } });
    });
  });
});
