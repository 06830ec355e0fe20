import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventBridgeEvent } from '../../local/eventbridge';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { localClientConfig } from './local-support';

let runtime: LocalRuntime;
let events: EventBridgeClient;
let sqs: SQSClient;

beforeAll(async () => {
  runtime = await startLocalRuntime({ settings: { eventSource: 'acme.product' }, region: 'eu-central-1' });
  events = new EventBridgeClient({ ...localClientConfig(runtime.endpoints.eventBridge), region: 'eu-central-1' });
  sqs = new SQSClient({ ...localClientConfig(runtime.endpoints.sqs), region: 'eu-central-1' });
});

afterAll(async () => {
  events?.destroy();
  sqs?.destroy();
  await runtime?.stop();
});

/** Everything currently on the events queue, removed from it. */
async function takeQueued(): Promise<EventBridgeEvent[]> {
  const taken: EventBridgeEvent[] = [];
  for (;;) {
    const result = await sqs.send(new ReceiveMessageCommand({ QueueUrl: runtime.queues.eventsUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    const messages = result.Messages ?? [];
    if (messages.length === 0) return taken;
    for (const message of messages) {
      taken.push(JSON.parse(message.Body!) as EventBridgeEvent);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: runtime.queues.eventsUrl, ReceiptHandle: message.ReceiptHandle! }));
    }
  }
}

const entry = (overrides: Partial<PutEventsRequestEntry> = {}): PutEventsRequestEntry => ({
  EventBusName: runtime.eventBus.name,
  Source: 'acme.product',
  DetailType: 'thread.completed',
  Detail: JSON.stringify({ fleetId: 'fleet-1', data: { threadId: 't1' } }),
  ...overrides,
});

describe('local EventBridge', () => {
  it('puts a matching event on the events queue in the shape the EventBridge→SQS target delivers', async () => {
    const result = await events.send(
      new PutEventsCommand({
        Entries: [entry({ Resources: ['arn:aws:acme:thread/t1'], Time: new Date('2025-03-04T05:06:07.890Z') })],
      }),
    );
    expect(result.FailedEntryCount).toBe(0);
    const eventId = result.Entries?.[0]?.EventId;
    expect(eventId).toMatch(/^[0-9a-f-]{36}$/);

    const queued = await takeQueued();
    expect(queued).toEqual([
      {
        version: '0',
        id: eventId,
        'detail-type': 'thread.completed',
        source: 'acme.product',
        account: '000000000000',
        time: '2025-03-04T05:06:07Z',
        region: 'eu-central-1',
        resources: ['arn:aws:acme:thread/t1'],
        detail: { fleetId: 'fleet-1', data: { threadId: 't1' } },
      },
    ]);
    expect(Object.keys(queued[0]!)).toEqual(['version', 'id', 'detail-type', 'source', 'account', 'time', 'region', 'resources', 'detail']);
  });

  it('accepts but drops events no rule matches: another source, or the default bus', async () => {
    const result = await events.send(
      new PutEventsCommand({
        Entries: [entry({ Source: 'someone.else' }), entry({ EventBusName: undefined }), entry({ EventBusName: 'default' })],
      }),
    );
    expect(result.FailedEntryCount).toBe(0);
    expect(result.Entries?.every((item) => item.EventId !== undefined)).toBe(true);
    expect(await takeQueued()).toEqual([]);
  });

  it('routes by bus ARN as by name, and stamps the current time when none is given', async () => {
    const before = Date.now();
    const result = await events.send(new PutEventsCommand({ Entries: [entry({ EventBusName: runtime.eventBus.arn })] }));
    expect(result.FailedEntryCount).toBe(0);
    const [queued] = await takeQueued();
    expect(runtime.eventBus.arn).toBe(`arn:aws:events:eu-central-1:000000000000:event-bus/${runtime.eventBus.name}`);
    const time = Date.parse(queued!.time);
    expect(time).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(time).toBeLessThanOrEqual(Date.now());
  });

  it('fails bad entries one by one, with AWS error codes, and still routes the good ones', async () => {
    const result = await events.send(
      new PutEventsCommand({
        Entries: [
          entry({ Detail: undefined }),
          entry({ Detail: '{not json' }),
          entry({ Detail: '[1,2]' }),
          entry({ Source: undefined }),
          entry({ DetailType: '' }),
          entry({ Detail: JSON.stringify({ fleetId: 'f', data: 'x'.repeat(262_144) }) }),
          entry({ EventBusName: 'no-such-bus' }),
          entry({ DetailType: 'approval.requested' }),
        ],
      }),
    );
    expect(result.FailedEntryCount).toBe(7);
    expect(result.Entries?.map((item) => item.ErrorCode ?? 'ok')).toEqual([
      'InvalidArgument',
      'MalformedDetail',
      'MalformedDetail',
      'InvalidArgument',
      'InvalidArgument',
      'InvalidArgument',
      'InvalidArgument',
      'ok',
    ]);
    expect(result.Entries?.[0]?.ErrorMessage).toBe('Parameter Detail is not valid. Reason: Detail is a required argument.');
    expect(result.Entries?.[6]?.ErrorMessage).toContain('no-such-bus');
    const queued = await takeQueued();
    expect(queued.map((event) => event['detail-type'])).toEqual(['approval.requested']);
    expect(queued[0]?.id).toBe(result.Entries?.[7]?.EventId);
  });

  it('refuses a request of more than 10 entries as a whole', async () => {
    const call = events.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry()) }));
    await expect(call).rejects.toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    expect(await takeQueued()).toEqual([]);
  });

  it('routes a full batch of 10', async () => {
    const result = await events.send(
      new PutEventsCommand({ Entries: Array.from({ length: 10 }, (_, i) => entry({ Detail: JSON.stringify({ fleetId: 'f', data: { i } }) })) }),
    );
    expect(result.FailedEntryCount).toBe(0);
    const queued = await takeQueued();
    expect(queued.map((event) => (event.detail.data as { i: number }).i).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
