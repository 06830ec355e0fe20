import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
  TagQueueCommand,
  type Message,
  type QueueAttributeName,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHooklineQueues, EVENTS_MAX_RECEIVE_COUNT, redriveDlq, type HooklineQueues } from '../../local/queues';
import { startSqs, type SqsStandIn } from '../../local/sqs';
import { localClientConfig, temporaryDirectory, waitFor } from './local-support';

const MAX_ATTEMPTS = 3;
const HOUR_MS = 3_600_000;

/** The stand-in's clock: real time plus what a test skipped. */
let skippedMs = 0;
const clock = (): number => Date.now() + skippedMs;

let server: SqsStandIn;
let sqs: SQSClient;
let queues: HooklineQueues;

beforeAll(async () => {
  server = await startSqs({ region: 'us-east-1', clock });
  sqs = new SQSClient(localClientConfig(server.endpoint));
  queues = await createHooklineQueues(sqs, { namePrefix: 'sqs-test', deliveriesMaxReceiveCount: MAX_ATTEMPTS, visibilitySeconds: { events: 7, deliveries: 30 } });
});

afterAll(async () => {
  sqs?.destroy();
  await server?.close();
});

async function receiveOne(queueUrl: string, waitTimeSeconds = 0, client = sqs): Promise<Message | undefined> {
  const result = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 1,
      WaitTimeSeconds: waitTimeSeconds,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  );
  return result.Messages?.[0];
}

async function attributes(queueUrl: string, names: QueueAttributeName[], client = sqs): Promise<Record<string, string>> {
  const result = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: names }));
  return result.Attributes ?? {};
}

async function counts(queueUrl: string, client = sqs): Promise<{ visible: number; inFlight: number; delayed: number }> {
  const values = await attributes(queueUrl, ['All'], client);
  return {
    visible: Number(values.ApproximateNumberOfMessages),
    inFlight: Number(values.ApproximateNumberOfMessagesNotVisible),
    delayed: Number(values.ApproximateNumberOfMessagesDelayed),
  };
}

async function depth(queueUrl: string): Promise<number> {
  const { visible, inFlight, delayed } = await counts(queueUrl);
  return visible + inFlight + delayed;
}

async function createQueue(name: string, attributes: Record<string, string> = {}): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  return QueueUrl!;
}

async function remove(queueUrl: string, message: Message, client = sqs): Promise<void> {
  await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
}

async function drain(queueUrl: string): Promise<void> {
  await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
}

describe('local SQS: queues', () => {
  it('serves queue URLs on its own loopback origin, as real SQS does', () => {
    for (const url of [queues.eventsUrl, queues.eventsDlqUrl, queues.deliveriesUrl, queues.deliveriesDlqUrl]) {
      expect(url.startsWith(`${server.endpoint}/`)).toBe(true);
    }
    expect(server.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(queues.deliveriesArn).toBe('arn:aws:sqs:us-east-1:000000000000:sqs-test-deliveries');
  });

  it('deploys the construct redrive settings', async () => {
    const events = await attributes(queues.eventsUrl, ['RedrivePolicy', 'VisibilityTimeout', 'MessageRetentionPeriod']);
    expect(JSON.parse(events.RedrivePolicy!)).toEqual({ deadLetterTargetArn: queues.eventsDlqArn, maxReceiveCount: EVENTS_MAX_RECEIVE_COUNT });
    expect(events.VisibilityTimeout).toBe('7');
    expect(events.MessageRetentionPeriod).toBe(String(14 * 86_400));

    const deliveries = await attributes(queues.deliveriesUrl, ['RedrivePolicy', 'VisibilityTimeout']);
    expect(JSON.parse(deliveries.RedrivePolicy!)).toEqual({ deadLetterTargetArn: queues.deliveriesDlqArn, maxReceiveCount: MAX_ATTEMPTS });
    expect(deliveries.VisibilityTimeout).toBe('30');

    const dlq = await attributes(queues.deliveriesDlqUrl, ['RedriveAllowPolicy']);
    expect(JSON.parse(dlq.RedriveAllowPolicy!)).toEqual({ redrivePermission: 'byQueue', sourceQueueArns: [queues.deliveriesArn] });
  });

  it('re-creating the queues with other settings updates them and keeps their messages', async () => {
    const options = { namePrefix: 'redeploy', deliveriesMaxReceiveCount: 5, visibilitySeconds: { events: 30, deliveries: 30 } };
    const first = await createHooklineQueues(sqs, options);
    await sqs.send(new SendMessageCommand({ QueueUrl: first.deliveriesUrl, MessageBody: 'kept' }));
    const second = await createHooklineQueues(sqs, { ...options, deliveriesMaxReceiveCount: 8, visibilitySeconds: { events: 30, deliveries: 90 } });
    expect(second).toEqual(first);
    const deliveries = await attributes(second.deliveriesUrl, ['RedrivePolicy', 'VisibilityTimeout']);
    expect(JSON.parse(deliveries.RedrivePolicy!)).toMatchObject({ maxReceiveCount: 8 });
    expect(deliveries.VisibilityTimeout).toBe('90');
    expect(await depth(second.deliveriesUrl)).toBe(1);
    await drain(second.deliveriesUrl);
  });

  it('creates, finds, lists, tags, configures, purges and deletes queues', async () => {
    const url = await createQueue('ops-a', { DelaySeconds: '5', SqsManagedSseEnabled: 'true' });
    expect(await createQueue('ops-a', { DelaySeconds: '5' })).toBe(url);
    await expect(createQueue('ops-a', { DelaySeconds: '6' })).rejects.toMatchObject({ name: 'QueueNameExists' });
    await createQueue('ops-b');
    expect((await sqs.send(new GetQueueUrlCommand({ QueueName: 'ops-a' }))).QueueUrl).toBe(url);
    expect((await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'ops-' }))).QueueUrls).toEqual([url, url.replace('ops-a', 'ops-b')]);

    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { VisibilityTimeout: '45', ReceiveMessageWaitTimeSeconds: '2' } }));
    const all = await attributes(url, ['All']);
    expect(all).toMatchObject({ VisibilityTimeout: '45', ReceiveMessageWaitTimeSeconds: '2', DelaySeconds: '5', SqsManagedSseEnabled: 'true' });
    expect(all.QueueArn).toBe('arn:aws:sqs:us-east-1:000000000000:ops-a');
    await expect(attributes(url, ['Nonsense' as QueueAttributeName])).rejects.toMatchObject({ name: 'InvalidAttributeName' });

    await sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: { team: 'hooks' } }));
    expect((await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags).toEqual({ team: 'hooks' });

    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', DelaySeconds: 0 }));
    expect(await depth(url)).toBe(1);
    await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    expect(await depth(url)).toBe(0);

    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    await expect(sqs.send(new GetQueueUrlCommand({ QueueName: 'ops-a' }))).rejects.toMatchObject({ name: 'QueueDoesNotExist' });
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' }))).rejects.toMatchObject({ name: 'QueueDoesNotExist' });
  });

  it('refuses FIFO queues and out-of-range attributes', async () => {
    await expect(createQueue('orders.fifo', { FifoQueue: 'true' })).rejects.toThrow(/FIFO/);
    await expect(createQueue('bad-delay', { DelaySeconds: '901' })).rejects.toMatchObject({ name: 'InvalidAttributeValue' });
    await expect(createQueue('bad-visibility', { VisibilityTimeout: '43201' })).rejects.toMatchObject({ name: 'InvalidAttributeValue' });
    await expect(createQueue('bad-name!')).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });
});

describe('local SQS: messages', () => {
  it('accepts every character SQS allows, byte-exact, and refuses the rest', async () => {
    const url = await createQueue('characters');
    const body = 'emoji 🎉👩‍💻, astral 𝄞, tab\t, CJK 漢字, \u{E000}\u{FFFD}\u{10FFFF}';
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    const message = await receiveOne(url);
    expect(message?.Body).toBe(body);
    expect(Buffer.from(message!.Body!, 'utf8').equals(Buffer.from(body, 'utf8'))).toBe(true);
    expect(message?.MessageId).toBe(sent.MessageId);
    await remove(url, message!);

    for (const refused of ['\u{FFFF}', '\u{FFFE}', 'lone \uD800 surrogate', 'nul \u0000', 'bell \u0007']) {
      await expect(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: refused }))).rejects.toMatchObject({ name: 'InvalidMessageContents' });
    }
    expect(await depth(url)).toBe(0);
  });

  it('accepts a message of 1 MiB (body and attributes) and refuses one byte more', async () => {
    const url = await createQueue('sizes');
    const attribute = { DataType: 'String', StringValue: 'v' };
    const attributeBytes = 'a'.length + 'String'.length + 1;
    const fits = 'x'.repeat(1_048_576 - attributeBytes);
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: fits, MessageAttributes: { a: attribute } }));
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: `${fits}x`, MessageAttributes: { a: attribute } }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    const message = await receiveOne(url);
    expect(message?.Body?.length).toBe(fits.length);
    await remove(url, message!);
  });

  it('returns message attributes and system attributes with their digests', async () => {
    const url = await createQueue('attributes');
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: 'with attributes',
        MessageGroupId: 'fleet-1',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'a' }, blob: { DataType: 'Binary', BinaryValue: Buffer.from([0, 1, 255]) } },
      }),
    );
    expect(sent.MD5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
    const message = await receiveOne(url);
    expect(message?.MD5OfMessageAttributes).toBe(sent.MD5OfMessageAttributes);
    expect(message?.MessageAttributes?.kind?.StringValue).toBe('a');
    expect(Buffer.from(message!.MessageAttributes!.blob!.BinaryValue!)).toEqual(Buffer.from([0, 1, 255]));
    expect(message?.Attributes).toMatchObject({ ApproximateReceiveCount: '1', MessageGroupId: 'fleet-1', SenderId: expect.any(String) });
    expect(Number(message?.Attributes?.SentTimestamp)).toBeGreaterThan(0);
    expect(Number(message?.Attributes?.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(Number(message?.Attributes?.SentTimestamp));
    await remove(url, message!);
  });

  it('runs batches entry by entry: a refused entry fails alone', async () => {
    const url = await createQueue('batches');
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'a', MessageBody: 'one' },
          { Id: 'b', MessageBody: 'bad \u{FFFF}' },
          { Id: 'c', MessageBody: 'three' },
        ],
      }),
    );
    expect(sent.Successful?.map((entry) => entry.Id)).toEqual(['a', 'c']);
    expect(sent.Failed).toEqual([expect.objectContaining({ Id: 'b', Code: 'InvalidMessageContents', SenderFault: true })]);
    await expect(sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'x', MessageBody: '1' }, { Id: 'x', MessageBody: '2' }] }))).rejects.toMatchObject({
      name: 'BatchEntryIdsNotDistinct',
    });

    const received = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }))).Messages ?? [];
    expect(received.map((message) => message.Body).sort()).toEqual(['one', 'three']);
    const changed = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: received.map((message, index) => ({ Id: `m${index}`, ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0 })),
      }),
    );
    expect(changed.Successful).toHaveLength(2);
    const again = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }))).Messages ?? [];
    expect(again).toHaveLength(2);
    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: url, Entries: again.map((message, index) => ({ Id: `m${index}`, ReceiptHandle: message.ReceiptHandle! })) }),
    );
    expect(deleted.Successful).toHaveLength(2);
    expect(await depth(url)).toBe(0);
  });

  it('delays messages 0–900 s, per message or by the queue, and does not count them in flight', async () => {
    const url = await createQueue('delays', { DelaySeconds: '60' });
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', DelaySeconds: 901 }))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', DelaySeconds: -1 }))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'longest', DelaySeconds: 900 }));
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'queue delay' }));
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'now', DelaySeconds: 0 }));
    expect(await counts(url)).toEqual({ visible: 1, inFlight: 0, delayed: 2 });
    const now = await receiveOne(url);
    expect(now?.Body).toBe('now');
    await remove(url, now!);

    skippedMs += 61_000;
    const queueDelayed = await receiveOne(url);
    expect(queueDelayed?.Body).toBe('queue delay');
    await remove(url, queueDelayed!);
    expect(await receiveOne(url)).toBeUndefined();
    skippedMs += 840_000;
    expect((await receiveOne(url))?.Body).toBe('longest');
  });

  it('hides a message for the visibility ChangeMessageVisibility sets', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queues.eventsUrl, MessageBody: 'later' }));
    const first = await receiveOne(queues.eventsUrl);
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queues.eventsUrl, ReceiptHandle: first!.ReceiptHandle!, VisibilityTimeout: 1 }));
    expect(await receiveOne(queues.eventsUrl)).toBeUndefined();
    const second = await receiveOne(queues.eventsUrl, 5);
    expect(second?.Body).toBe('later');
    expect(second?.Attributes?.ApproximateReceiveCount).toBe('2');
    // The first receipt handle is stale now: it neither deletes nor changes the message.
    await remove(queues.eventsUrl, first!);
    await expect(
      sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queues.eventsUrl, ReceiptHandle: first!.ReceiptHandle!, VisibilityTimeout: 5 })),
    ).rejects.toMatchObject({ name: 'MessageNotInflight' });
    expect(await depth(queues.eventsUrl)).toBe(1);
    await remove(queues.eventsUrl, second!);
    expect(await depth(queues.eventsUrl)).toBe(0);
  });

  it('caps the total visibility at 12 hours from the receive', async () => {
    const url = await createQueue('twelve-hours', { VisibilityTimeout: '43200' });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'parked' }));
    const message = await receiveOne(url);
    const change = (seconds: number) => sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: message!.ReceiptHandle!, VisibilityTimeout: seconds }));
    await expect(change(43_201)).rejects.toMatchObject({ name: 'InvalidParameterValue' });

    skippedMs += HOUR_MS;
    // 11 h left of the window: 10 h 59 min fits, 11 h 1 min does not, whatever was set before.
    await change(39_540);
    await expect(change(39_660)).rejects.toThrow('Total VisibilityTimeout for the message is beyond the limit [43200 seconds]');
    await expect(change(43_200)).rejects.toMatchObject({ name: 'InvalidParameterValue' });

    skippedMs += 10 * HOUR_MS;
    await change(3_540);
    await expect(change(3_660)).rejects.toThrow(/beyond the limit/);
    expect(await receiveOne(url)).toBeUndefined();

    // A new receive opens a new window.
    skippedMs += HOUR_MS;
    const again = await receiveOne(url);
    expect(again?.Attributes?.ApproximateReceiveCount).toBe('2');
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: again!.ReceiptHandle!, VisibilityTimeout: 43_000 }));
    await remove(url, again!);
  });

  it('drops messages past the retention period', async () => {
    const url = await createQueue('retention', { MessageRetentionPeriod: '60' });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'short-lived' }));
    expect(await depth(url)).toBe(1);
    skippedMs += 61_000;
    expect(await receiveOne(url)).toBeUndefined();
    expect(await depth(url)).toBe(0);
  });

  it('long-polls: a waiting receive returns as soon as a message arrives', async () => {
    const waiting = receiveOne(queues.eventsUrl, 20);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    await sqs.send(new SendMessageCommand({ QueueUrl: queues.eventsUrl, MessageBody: 'polled' }));
    const message = await waiting;
    expect(message?.Body).toBe('polled');
    // Woken by the send, not by its 20 s wait running out.
    expect(Date.now() - started).toBeLessThan(15_000);
    await remove(queues.eventsUrl, message!);
  });

  it('lets an abandoned long poll take nothing, with the wait given per call or by the queue', async () => {
    const queueUrl = await createQueue('queue-level-wait', { ReceiveMessageWaitTimeSeconds: '20' });
    for (const waitTimeSeconds of [20, undefined]) {
      const abandoned = new AbortController();
      const polling = sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: waitTimeSeconds }), { abortSignal: abandoned.signal });
      await new Promise((resolve) => setTimeout(resolve, 100));
      abandoned.abort();
      await expect(polling).rejects.toMatchObject({ name: 'AbortError' });
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `after ${waitTimeSeconds}` }));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const message = await receiveOne(queueUrl);
      expect(message?.Body).toBe(`after ${waitTimeSeconds}`);
      expect(message?.Attributes?.ApproximateReceiveCount).toBe('1');
      await remove(queueUrl, message!);
    }
  });

  it('gives quiet message groups priority over a group with many messages in flight', async () => {
    const url = await createQueue('fair');
    for (let batch = 0; batch < 6; batch += 1) {
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: Array.from({ length: 10 }, (_, index) => ({ Id: `b${index}`, MessageBody: `busy ${batch * 10 + index}`, MessageGroupId: 'busy' })),
        }),
      );
    }
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'quiet', MessageGroupId: 'quiet' }));
    const order: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const result = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['MessageGroupId'] }));
      order.push(...(result.Messages ?? []).map((message) => message.Attributes?.MessageGroupId ?? '?'));
    }
    // Oldest first until "busy" holds 30 in flight (a noisy neighbour); then the quiet group's
    // message goes first, ahead of the 30 older busy ones. Oldest first only, it would be 61st.
    expect(order.indexOf('quiet')).toBe(30);
    expect(order).toHaveLength(50);
  });
});

describe('local SQS: dead-letter queues and redrive', () => {
  it('moves a message to the DLQ on the receive after maxReceiveCount, keeping its id and enqueue time', async () => {
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: queues.deliveriesUrl, MessageBody: 'exhausted' }));
    let sentTimestamp = '';
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      const message = await receiveOne(queues.deliveriesUrl);
      expect(message?.Body).toBe('exhausted');
      expect(message?.Attributes?.ApproximateReceiveCount).toBe(String(attempt));
      sentTimestamp = message!.Attributes!.SentTimestamp!;
      await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queues.deliveriesUrl, ReceiptHandle: message!.ReceiptHandle!, VisibilityTimeout: 0 }));
    }
    expect(await receiveOne(queues.deliveriesUrl)).toBeUndefined();
    const dead = await receiveOne(queues.deliveriesDlqUrl);
    expect(dead?.Body).toBe('exhausted');
    expect(dead?.MessageId).toBe(sent.MessageId);
    expect(dead?.Attributes?.SentTimestamp).toBe(sentTimestamp);
    expect(dead?.Attributes?.DeadLetterQueueSourceArn).toBe(queues.deliveriesArn);
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queues.deliveriesDlqUrl, ReceiptHandle: dead!.ReceiptHandle!, VisibilityTimeout: 0 }));

    // The console's "redrive to source": no DestinationArn, each message back to where it came from.
    skippedMs += 1_000;
    const task = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: queues.deliveriesDlqArn }));
    const listed = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: queues.deliveriesDlqArn }));
    expect(listed.Results?.[0]).toMatchObject({ TaskHandle: task.TaskHandle, Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 1 });
    const again = await receiveOne(queues.deliveriesUrl);
    expect(again?.Body).toBe('exhausted');
    expect(again?.MessageId).not.toBe(dead?.MessageId);
    expect(again?.Attributes?.ApproximateReceiveCount).toBe('1');
    expect(Number(again?.Attributes?.SentTimestamp)).toBeGreaterThan(Number(sentTimestamp));
    expect(again?.Attributes?.DeadLetterQueueSourceArn).toBeUndefined();
    await remove(queues.deliveriesUrl, again!);
  });

  it('redriveDlq moves every message back with its body and attributes', async () => {
    const count = 13;
    for (let i = 0; i < count; i += 1) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queues.deliveriesDlqUrl,
          MessageBody: `m${i}`,
          MessageAttributes: {
            index: { DataType: 'Number', StringValue: String(i) },
            blob: { DataType: 'Binary', BinaryValue: Buffer.from([i, 255]) },
          },
        }),
      );
    }
    expect(await redriveDlq(sqs, queues.deliveriesDlqUrl, queues.deliveriesUrl)).toBe(count);
    expect(await depth(queues.deliveriesDlqUrl)).toBe(0);

    const bodies = new Set<string>();
    for (let i = 0; i < count + 1; i += 1) {
      const message = await receiveOne(queues.deliveriesUrl);
      if (message === undefined) break;
      const index = Number(message.MessageAttributes?.index?.StringValue);
      expect(message.Body).toBe(`m${index}`);
      expect(Buffer.from(message.MessageAttributes!.blob!.BinaryValue!)).toEqual(Buffer.from([index, 255]));
      expect(message.Attributes?.ApproximateReceiveCount).toBe('1');
      bodies.add(message.Body!);
      await remove(queues.deliveriesUrl, message);
    }
    expect(bodies.size).toBe(count);
  });

  it('refuses what the DLQ RedriveAllowPolicy does not allow, and moves nothing', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queues.deliveriesDlqUrl, MessageBody: 'stay' }));
    await expect(redriveDlq(sqs, queues.deliveriesDlqUrl, queues.eventsUrl)).rejects.toThrow(/RedriveAllowPolicy/);
    expect(await depth(queues.deliveriesDlqUrl)).toBe(1);
    expect(await depth(queues.eventsUrl)).toBe(0);
    expect(await depth(queues.deliveriesUrl)).toBe(0);
    // Nor may another queue name that DLQ in its redrive policy.
    const policy = JSON.stringify({ deadLetterTargetArn: queues.deliveriesDlqArn, maxReceiveCount: 3 });
    await expect(createQueue('not-allowed', { RedrivePolicy: policy })).rejects.toThrow(/RedriveAllowPolicy/);
    // A queue no redrive policy names is not a DLQ to move from.
    await expect(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: queues.deliveriesArn }))).rejects.toThrow(/Dead Letter Queue/);
    await drain(queues.deliveriesDlqUrl);
  });
});

describe('local SQS: in-flight limit', () => {
  it('past the limit, long polls get nothing and short polls OverLimit; a delete frees a slot', async () => {
    const limited = await startSqs({ region: 'us-east-1', inFlightLimit: 5 });
    const client = new SQSClient(localClientConfig(limited.endpoint));
    try {
      const { QueueUrl: url } = await client.send(new CreateQueueCommand({ QueueName: 'limited', Attributes: { VisibilityTimeout: '600' } }));
      await client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: Array.from({ length: 7 }, (_, i) => ({ Id: `m${i}`, MessageBody: `m${i}` })) }));
      await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'delayed', DelaySeconds: 900 }));
      const taken = (await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }))).Messages ?? [];
      expect(taken).toHaveLength(5);
      expect(await counts(url!, client)).toEqual({ visible: 2, inFlight: 5, delayed: 1 });

      await expect(receiveOne(url!, 0, client)).rejects.toMatchObject({ name: 'OverLimit' });
      expect(await receiveOne(url!, 1, client)).toBeUndefined();

      // A long poll waiting past the limit is served once a delete frees a slot.
      const waiting = receiveOne(url!, 20, client);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await remove(url!, taken[0]!, client);
      expect((await waiting)?.Body).toMatch(/^m[56]$/);
      await expect(receiveOne(url!, 0, client)).rejects.toMatchObject({ name: 'OverLimit' });
      await remove(url!, taken[1]!, client);
      expect((await receiveOne(url!, 0, client))?.Body).toMatch(/^m[56]$/);
    } finally {
      client.destroy();
      await limited.close();
    }
  });
});

describe('local SQS: persistence', () => {
  it('keeps queues and visible, delayed and in-flight messages across a restart on the same data dir', async () => {
    const dir = await temporaryDirectory();
    let offsetMs = 0;
    const shifted = (): number => Date.now() + offsetMs;
    try {
      let first: SqsStandIn | undefined = await startSqs({ region: 'us-east-1', dataDir: dir.path, clock: shifted });
      let client = new SQSClient(localClientConfig(first.endpoint));
      const { QueueUrl: url } = await client.send(new CreateQueueCommand({ QueueName: 'kept', Attributes: { VisibilityTimeout: '120' } }));
      await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'in flight', MessageGroupId: 'g' }));
      const inFlight = await receiveOne(url!, 0, client);
      await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'visible 🎉' }));
      await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'delayed', DelaySeconds: 600 }));
      client.destroy();
      await first.close();
      first = undefined;

      const second = await startSqs({ region: 'us-east-1', dataDir: dir.path, clock: shifted });
      client = new SQSClient(localClientConfig(second.endpoint));
      try {
        const { QueueUrl: restartedUrl } = await client.send(new GetQueueUrlCommand({ QueueName: 'kept' }));
        expect(await attributes(restartedUrl!, ['VisibilityTimeout'], client)).toEqual({ VisibilityTimeout: '120' });
        expect(await counts(restartedUrl!, client)).toEqual({ visible: 1, inFlight: 1, delayed: 1 });
        const visible = await receiveOne(restartedUrl!, 0, client);
        expect(visible?.Body).toBe('visible 🎉');
        await remove(restartedUrl!, visible!, client);
        expect(await receiveOne(restartedUrl!, 0, client)).toBeUndefined();

        offsetMs += 121_000;
        const back = await receiveOne(restartedUrl!, 0, client);
        expect(back).toMatchObject({ Body: 'in flight', MessageId: inFlight?.MessageId });
        expect(back?.Attributes).toMatchObject({ ApproximateReceiveCount: '2', MessageGroupId: 'g', SentTimestamp: inFlight?.Attributes?.SentTimestamp });
        await remove(restartedUrl!, back!, client);
        expect(await receiveOne(restartedUrl!, 0, client)).toBeUndefined();

        offsetMs += 480_000;
        expect((await receiveOne(restartedUrl!, 0, client))?.Body).toBe('delayed');
      } finally {
        client.destroy();
        await second.close();
      }
    } finally {
      await dir.remove();
    }
  });

  it('writes changes within a moment, without waiting for a clean stop', async () => {
    const dir = await temporaryDirectory();
    try {
      const standIn = await startSqs({ region: 'us-east-1', dataDir: dir.path });
      const client = new SQSClient(localClientConfig(standIn.endpoint));
      try {
        const { QueueUrl: url } = await client.send(new CreateQueueCommand({ QueueName: 'flushed' }));
        await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'on disk' }));
        const { readFile } = await import('node:fs/promises');
        await waitFor('the message in sqs.json', async () => ((await readFile(`${dir.path}/sqs.json`, 'utf8').catch(() => '')).includes('on disk') ? true : undefined), 10_000);
      } finally {
        client.destroy();
        await standIn.close();
      }
    } finally {
      await dir.remove();
    }
  });
});
