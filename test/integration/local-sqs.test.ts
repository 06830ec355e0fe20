import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
  type QueueAttributeName,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHooklineQueues, EVENTS_MAX_RECEIVE_COUNT, redriveDlq, type HooklineQueues } from '../../local/queues';
import { startSqs, type SqsStandIn } from '../../local/sqs';
import { localClientConfig } from './local-support';

const MAX_ATTEMPTS = 3;

let server: SqsStandIn;
let sqs: SQSClient;
let queues: HooklineQueues;

beforeAll(async () => {
  server = await startSqs({ region: 'us-east-1' });
  sqs = new SQSClient(localClientConfig(server.endpoint));
  queues = await createHooklineQueues(sqs, { namePrefix: 'sqs-test', deliveriesMaxReceiveCount: MAX_ATTEMPTS, visibilitySeconds: { events: 7, deliveries: 30 } });
});

afterAll(async () => {
  sqs?.destroy();
  await server?.close();
});

async function receiveOne(queueUrl: string, waitTimeSeconds = 0): Promise<Message | undefined> {
  const result = await sqs.send(
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

async function attributes(queueUrl: string, names: QueueAttributeName[]): Promise<Record<string, string>> {
  const result = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: names }));
  return result.Attributes ?? {};
}

async function depth(queueUrl: string): Promise<number> {
  const values = await attributes(queueUrl, ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible']);
  return Number(values.ApproximateNumberOfMessages) + Number(values.ApproximateNumberOfMessagesNotVisible);
}

describe('local SQS (fauxqs)', () => {
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

  it('counts receives and moves a message to the DLQ on the receive after maxReceiveCount', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queues.deliveriesUrl, MessageBody: 'exhausted' }));
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      const message = await receiveOne(queues.deliveriesUrl);
      expect(message?.Body).toBe('exhausted');
      expect(message?.Attributes?.ApproximateReceiveCount).toBe(String(attempt));
      await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queues.deliveriesUrl, ReceiptHandle: message!.ReceiptHandle!, VisibilityTimeout: 0 }));
    }
    expect(await receiveOne(queues.deliveriesUrl)).toBeUndefined();
    const dead = await receiveOne(queues.deliveriesDlqUrl);
    expect(dead?.Body).toBe('exhausted');
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queues.deliveriesDlqUrl, ReceiptHandle: dead!.ReceiptHandle!, VisibilityTimeout: 0 }));
    expect(await redriveDlq(sqs, queues.deliveriesDlqUrl, queues.deliveriesUrl)).toBe(1);
    const again = await receiveOne(queues.deliveriesUrl);
    expect(again?.Body).toBe('exhausted');
    expect(again?.MessageId).not.toBe(dead?.MessageId);
    expect(again?.Attributes?.ApproximateReceiveCount).toBe('1');
    await remove(queues.deliveriesUrl, again!);
  });

  it('hides a message for the visibility ChangeMessageVisibility sets', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queues.eventsUrl, MessageBody: 'later' }));
    const first = await receiveOne(queues.eventsUrl);
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queues.eventsUrl, ReceiptHandle: first!.ReceiptHandle!, VisibilityTimeout: 1 }));
    expect(await receiveOne(queues.eventsUrl)).toBeUndefined();
    const started = Date.now();
    const second = await receiveOne(queues.eventsUrl, 3);
    expect(second?.Body).toBe('later');
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(second?.Attributes?.ApproximateReceiveCount).toBe('2');
    await remove(queues.eventsUrl, second!);
  });

  it('long-polls: a waiting receive returns as soon as a message arrives', async () => {
    const started = Date.now();
    const waiting = receiveOne(queues.eventsUrl, 10);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await sqs.send(new SendMessageCommand({ QueueUrl: queues.eventsUrl, MessageBody: 'polled' }));
    const message = await waiting;
    expect(message?.Body).toBe('polled');
    expect(Date.now() - started).toBeLessThan(3_000);
    await remove(queues.eventsUrl, message!);
  });

  it('lets an abandoned long poll take nothing, with the wait given per call or by the queue', async () => {
    const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'queue-level-wait', Attributes: { ReceiveMessageWaitTimeSeconds: '20' } }));
    for (const waitTimeSeconds of [20, undefined]) {
      const abandoned = new AbortController();
      const polling = sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: waitTimeSeconds }), { abortSignal: abandoned.signal });
      await new Promise((resolve) => setTimeout(resolve, 100));
      abandoned.abort();
      await expect(polling).rejects.toMatchObject({ name: 'AbortError' });
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `after ${waitTimeSeconds}` }));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const message = await receiveOne(queueUrl!);
      expect(message?.Body).toBe(`after ${waitTimeSeconds}`);
      expect(message?.Attributes?.ApproximateReceiveCount).toBe('1');
      await remove(queueUrl!, message!);
    }
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
    for (;;) {
      const message = await receiveOne(queues.deliveriesUrl);
      if (message === undefined) break;
      const i = Number(message.MessageAttributes?.index?.StringValue);
      expect(message.Body).toBe(`m${i}`);
      expect(Buffer.from(message.MessageAttributes!.blob!.BinaryValue!)).toEqual(Buffer.from([i, 255]));
      expect(message.Attributes?.ApproximateReceiveCount).toBe('1');
      bodies.add(message.Body!);
      await remove(queues.deliveriesUrl, message);
    }
    expect(bodies.size).toBe(count);
  });

  it('redriveDlq refuses a source the DLQ RedriveAllowPolicy does not name, and moves nothing', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queues.deliveriesDlqUrl, MessageBody: 'stay' }));
    await expect(redriveDlq(sqs, queues.deliveriesDlqUrl, queues.eventsUrl)).rejects.toThrow(/RedriveAllowPolicy/);
    expect(await depth(queues.deliveriesDlqUrl)).toBe(1);
    expect(await depth(queues.eventsUrl)).toBe(0);
    expect(await depth(queues.deliveriesUrl)).toBe(0);
  });
});

async function remove(queueUrl: string, message: Message): Promise<void> {
  await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
}
