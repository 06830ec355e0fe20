import { createHash } from 'node:crypto';
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEventSourceMapping, type EventSourceMapping, type EventSourceMappingOptions } from '../../local/event-source-mapping';
import { createHooklineQueues, type HooklineQueues } from '../../local/queues';
import { startSqs, type SqsStandIn } from '../../local/sqs';
import { localClientConfig, recordingLogger, waitFor } from './local-support';

const MAX_ATTEMPTS = 2;

let server: SqsStandIn;
let sqs: SQSClient;
let queues: HooklineQueues;
let testNumber = 0;
const running: EventSourceMapping[] = [];

beforeAll(async () => {
  server = await startSqs({ region: 'us-east-1' });
  sqs = new SQSClient(localClientConfig(server.endpoint));
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((mapping) => mapping.stop()));
});

afterAll(async () => {
  sqs?.destroy();
  await server?.close();
});

/** Fresh queues per test (visibility 1 s, deliveries maxReceiveCount 2), so tests cannot see each other's messages. */
async function freshQueues(): Promise<HooklineQueues> {
  testNumber += 1;
  queues = await createHooklineQueues(sqs, { namePrefix: `esm${testNumber}`, deliveriesMaxReceiveCount: MAX_ATTEMPTS, visibilitySeconds: { events: 1, deliveries: 1 } });
  return queues;
}

function start(options: Partial<EventSourceMappingOptions> & Pick<EventSourceMappingOptions, 'handler'>): EventSourceMapping {
  const mapping = startEventSourceMapping({
    sqs,
    queueUrl: queues.deliveriesUrl,
    queueArn: queues.deliveriesArn,
    waitTimeSeconds: 1,
    logger: recordingLogger(),
    ...options,
  });
  running.push(mapping);
  return mapping;
}

async function send(queueUrl: string, ...bodies: string[]): Promise<void> {
  await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: bodies.map((body, i) => ({ Id: String(i), MessageBody: body })) }));
}

async function depth(queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible);
}

describe('local event source mapping', () => {
  it('invokes the handler with a Lambda-shaped SQS event and context, and deletes what succeeded', async () => {
    await freshQueues();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queues.deliveriesUrl,
        MessageBody: '{"n":1}',
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: 'test' },
          raw: { DataType: 'Binary', BinaryValue: Buffer.from('hi') },
        },
      }),
    );
    const seen: { event: SQSEvent; context: Context; remaining: number }[] = [];
    start({
      functionName: 'hookline-dispatcher',
      timeoutMs: 5_000,
      handler: (event, context) => {
        seen.push({ event, context, remaining: context.getRemainingTimeInMillis() });
        return { batchItemFailures: [] };
      },
    });
    await waitFor('an invocation', () => seen[0]);
    const [{ event, context, remaining }] = seen as [(typeof seen)[number]];
    const record = event.Records[0] as SQSRecord;
    expect(event.Records).toHaveLength(1);
    expect(record).toMatchObject({
      body: '{"n":1}',
      eventSource: 'aws:sqs',
      eventSourceARN: queues.deliveriesArn,
      awsRegion: 'us-east-1',
      md5OfBody: createHash('md5').update('{"n":1}').digest('hex'),
      attributes: { ApproximateReceiveCount: '1', SenderId: expect.any(String) },
      messageAttributes: {
        kind: { dataType: 'String', stringValue: 'test', stringListValues: [], binaryListValues: [] },
        raw: { dataType: 'Binary', binaryValue: Buffer.from('hi').toString('base64'), stringListValues: [], binaryListValues: [] },
      },
    });
    expect(record.messageId).toMatch(/\S/);
    expect(record.receiptHandle).toMatch(/\S/);
    expect(Number(record.attributes.SentTimestamp)).toBeGreaterThan(Date.now() - 60_000);
    expect(Number(record.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(Number(record.attributes.SentTimestamp));
    expect(context).toMatchObject({
      functionName: 'hookline-dispatcher',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:hookline-dispatcher',
      logGroupName: '/aws/lambda/hookline-dispatcher',
    });
    expect(context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(remaining).toBeGreaterThan(4_000);
    expect(remaining).toBeLessThanOrEqual(5_000);
    await waitFor('the message to be deleted', async () => ((await depth(queues.deliveriesUrl)) === 0 ? true : undefined));
  });

  it('keeps reported failures: the failed record returns with receive count 2, then lands in the DLQ', async () => {
    await freshQueues();
    await send(queues.deliveriesUrl, 'ok-1', 'fail', 'ok-2');
    const receipts: { body: string; count: string }[] = [];
    start({
      handler: (event) => {
        const failures: SQSBatchResponse['batchItemFailures'] = [];
        for (const record of event.Records) {
          receipts.push({ body: record.body, count: record.attributes.ApproximateReceiveCount });
          if (record.body === 'fail') failures.push({ itemIdentifier: record.messageId });
        }
        return { batchItemFailures: failures };
      },
    });
    await waitFor('the failed record in the DLQ', async () => ((await depth(queues.deliveriesDlqUrl)) === 1 ? true : undefined), 8_000);
    expect(receipts.filter((receipt) => receipt.body !== 'fail').map((receipt) => receipt.count)).toEqual(['1', '1']);
    expect(receipts.filter((receipt) => receipt.body === 'fail').map((receipt) => receipt.count)).toEqual(['1', '2']);
    expect(await depth(queues.deliveriesUrl)).toBe(0);
    const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.deliveriesDlqUrl }));
    expect(dead.Messages?.[0]?.Body).toBe('fail');
  });

  it('deletes nothing when the handler throws: the whole batch comes back', async () => {
    await freshQueues();
    await send(queues.deliveriesUrl, 'a', 'b');
    const counts: string[][] = [];
    start({
      handler: (event) => {
        counts.push(event.Records.map((record) => `${record.body}:${record.attributes.ApproximateReceiveCount}`).sort());
        if (counts.length === 1) throw new Error('boom');
        return undefined;
      },
    });
    await waitFor('a second invocation', () => (counts.length >= 2 ? true : undefined), 5_000);
    expect(counts.slice(0, 2)).toEqual([
      ['a:1', 'b:1'],
      ['a:2', 'b:2'],
    ]);
    await waitFor('the batch to be deleted', async () => ((await depth(queues.deliveriesUrl)) === 0 ? true : undefined));
  });

  it('fails the whole batch on an invalid response, a rejection or a timeout', async () => {
    await freshQueues();
    // The events queue: its maxReceiveCount (5) leaves room for four failing invocations.
    await send(queues.eventsUrl, 'x');
    const logger = recordingLogger();
    const counts: string[] = [];
    start({
      queueUrl: queues.eventsUrl,
      queueArn: queues.eventsArn,
      logger,
      timeoutMs: 300,
      handler: async (event) => {
        const record = event.Records[0]!;
        counts.push(record.attributes.ApproximateReceiveCount);
        if (counts.length === 1) return { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] };
        if (counts.length === 2) return Promise.reject(new Error('rejected'));
        if (counts.length === 3) return new Promise((resolve) => setTimeout(resolve, 1_000));
        return { batchItemFailures: [] };
      },
    });
    await waitFor('a fourth invocation', () => (counts.length >= 4 ? true : undefined), 8_000);
    // Each failed invocation left the message to come back once its visibility expired.
    expect(counts.slice(0, 4)).toEqual(['1', '2', '3', '4']);
    const errors = logger.lines.filter((line) => line.level === 'error').map((line) => line.message);
    expect(errors).toEqual([
      expect.stringContaining('itemIdentifier'),
      expect.stringContaining('rejected'),
      expect.stringContaining('Task timed out after 0.30 seconds'),
    ]);
  });

  it('stops promptly mid long-poll, leaving the next message to the next consumer, and waits for a running invocation', async () => {
    await freshQueues();
    const idle = start({ waitTimeSeconds: 20, handler: () => undefined });
    await new Promise((resolve) => setTimeout(resolve, 100));
    let started = Date.now();
    await idle.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    await idle.stop();

    let finished = false;
    const receiveCounts: string[] = [];
    const busy = start({
      waitTimeSeconds: 20,
      handler: async (event) => {
        receiveCounts.push(event.Records[0]!.attributes.ApproximateReceiveCount);
        await new Promise((resolve) => setTimeout(resolve, 400));
        finished = true;
      },
    });
    started = Date.now();
    await send(queues.deliveriesUrl, 'slow');
    await waitFor('the invocation to begin', () => receiveCounts[0]);
    // The abandoned long poll took nothing: first receive, well within the 1 s visibility timeout.
    expect(receiveCounts).toEqual(['1']);
    expect(Date.now() - started).toBeLessThan(900);
    started = Date.now();
    await busy.stop();
    expect(finished).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(await depth(queues.deliveriesUrl)).toBe(0);
  });

  it('runs `concurrency` invocations at once', async () => {
    await freshQueues();
    let active = 0;
    let peak = 0;
    let handled = 0;
    start({
      concurrency: 3,
      batchSize: 1,
      handler: async () => {
        active += 1;
        peak = Math.max(peak, active);
        await new Promise((resolve) => setTimeout(resolve, 150));
        active -= 1;
        handled += 1;
      },
    });
    await send(queues.deliveriesUrl, '1', '2', '3', '4', '5', '6');
    await waitFor('six invocations', () => (handled === 6 ? true : undefined));
    expect(peak).toBe(3);
  });

  it('logs and retries polling errors without crashing, and still stops', async () => {
    await freshQueues();
    const logger = recordingLogger();
    const mapping = start({ logger, queueUrl: `${server.endpoint}/000000000000/no-such-queue`, handler: () => undefined });
    await waitFor('two logged polling failures', () => (logger.lines.filter((line) => line.level === 'warn').length >= 2 ? true : undefined));
    expect(logger.lines[0]?.message).toMatch(/polling .*no-such-queue failed .*retrying in 100 ms/);
    expect(logger.lines[1]?.message).toMatch(/retrying in 200 ms/);
    await mapping.stop();
  });

  it('rejects options Lambda would refuse', () => {
    const base = { sqs, queueUrl: 'http://127.0.0.1:1/q', queueArn: 'arn:aws:sqs:us-east-1:000000000000:q', handler: () => undefined };
    expect(() => startEventSourceMapping({ ...base, batchSize: 11 })).toThrow(RangeError);
    expect(() => startEventSourceMapping({ ...base, waitTimeSeconds: 0 })).toThrow(RangeError);
    expect(() => startEventSourceMapping({ ...base, concurrency: 0 })).toThrow(RangeError);
    expect(() => startEventSourceMapping({ ...base, queueArn: 'q' })).toThrow(RangeError);
  });
});
