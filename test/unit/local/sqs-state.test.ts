import { describe, expect, it } from 'vitest';
import { SqsState, type SqsSnapshot } from '../../../local/sqs-state';

/** The local SQS state without HTTP, on a clock the test moves. */
function setup(options: { inFlightLimit?: number; snapshot?: SqsSnapshot; startMs?: number } = {}) {
  const clock = { ms: options.startMs ?? 1_800_000_000_000 };
  const state = new SqsState({
    region: 'us-east-1',
    accountId: '000000000000',
    endpoint: 'http://127.0.0.1:1',
    now: () => clock.ms,
    ...(options.inFlightLimit === undefined ? {} : { inFlightLimit: options.inFlightLimit }),
    ...(options.snapshot === undefined ? {} : { snapshot: options.snapshot }),
  });
  const queueUrl = 'http://127.0.0.1:1/000000000000/q';
  const receive = (input: Record<string, unknown> = {}) =>
    state.receive(state.prepareReceive({ QueueUrl: queueUrl, MessageSystemAttributeNames: ['All'], ...input })).messages as {
      Body: string;
      ReceiptHandle: string;
      Attributes: Record<string, string>;
    }[];
  const counts = () => (state.getQueueAttributes({ QueueUrl: queueUrl, AttributeNames: ['All'] }) as { Attributes: Record<string, string> }).Attributes;
  return { clock, state, queueUrl, receive, counts };
}

describe('local SQS state', () => {
  it('allows a visibility change up to exactly 12 hours after the receive, not a second more', () => {
    const { clock, state, queueUrl, receive } = setup();
    state.createQueue({ QueueName: 'q' });
    state.sendMessage({ QueueUrl: queueUrl, MessageBody: 'm' });
    const [message] = receive({ VisibilityTimeout: 10 });
    clock.ms += 5_000;
    const change = (seconds: number) => () => state.changeMessageVisibility({ QueueUrl: queueUrl, ReceiptHandle: message!.ReceiptHandle, VisibilityTimeout: seconds });
    expect(change(43_196)).toThrow(/beyond the limit \[43200 seconds\]/);
    expect(change(43_195)).not.toThrow();
    clock.ms += 43_194_000;
    expect(receive()).toEqual([]);
    clock.ms += 1_000;
    expect(receive()[0]?.Attributes.ApproximateReceiveCount).toBe('2');
  });

  it('keeps its indexes right through many visibility changes and deletes, and forgets stale timers', () => {
    const { clock, state, queueUrl, receive, counts } = setup();
    state.createQueue({ QueueName: 'q' });
    for (let i = 0; i < 500; i += 1) state.sendMessage({ QueueUrl: queueUrl, MessageBody: `m${i}`, MessageGroupId: `g${i % 7}` });
    for (let round = 0; round < 20; round += 1) {
      const taken = receive({ MaxNumberOfMessages: 10, VisibilityTimeout: 60 });
      expect(taken).toHaveLength(10);
      for (const message of taken) state.changeMessageVisibility({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 1 + (round % 3) });
      clock.ms += 1_500;
    }
    let seen = 0;
    for (let i = 0; i < 200 && seen < 500; i += 1) {
      clock.ms += 5_000;
      for (const message of receive({ MaxNumberOfMessages: 10 })) {
        state.deleteMessage({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle });
        seen += 1;
      }
    }
    expect(seen).toBe(500);
    expect(counts()).toMatchObject({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0', ApproximateNumberOfMessagesDelayed: '0' });
    // Nothing left: no timer of a deleted message (retention, old deadlines) still counts as due.
    for (let i = 0; i < 3_000; i += 1) {
      state.sendMessage({ QueueUrl: queueUrl, MessageBody: 'x' });
      state.deleteMessage({ QueueUrl: queueUrl, ReceiptHandle: receive()[0]!.ReceiptHandle });
    }
    expect(state.snapshot().queues[0]!.messages).toEqual([]);
    expect(state.nextDueFor(state.prepareReceive({ QueueUrl: queueUrl }))).toBeUndefined();
    state.sendMessage({ QueueUrl: queueUrl, MessageBody: 'later', DelaySeconds: 30 });
    expect(state.nextDueFor(state.prepareReceive({ QueueUrl: queueUrl }))).toBe(clock.ms + 30_000);
  });

  it('counts in-flight messages against the limit, not delayed ones, and says when it is reached', () => {
    const { state, queueUrl, receive } = setup({ inFlightLimit: 2 });
    state.createQueue({ QueueName: 'q' });
    for (const body of ['a', 'b', 'c']) state.sendMessage({ QueueUrl: queueUrl, MessageBody: body });
    state.sendMessage({ QueueUrl: queueUrl, MessageBody: 'later', DelaySeconds: 900 });
    expect(receive({ MaxNumberOfMessages: 10 }).map((message) => message.Body)).toEqual(['a', 'b']);
    expect(state.receive(state.prepareReceive({ QueueUrl: queueUrl }))).toEqual({ messages: [], overLimit: true, deadLettered: false });
  });

  it('restores visible, delayed and in-flight messages from its snapshot with their deadlines', () => {
    const first = setup();
    first.state.createQueue({ QueueName: 'q', Attributes: { VisibilityTimeout: '100' } });
    first.state.sendMessage({ QueueUrl: first.queueUrl, MessageBody: 'flight' });
    first.receive();
    first.state.sendMessage({ QueueUrl: first.queueUrl, MessageBody: 'visible' });
    first.state.sendMessage({ QueueUrl: first.queueUrl, MessageBody: 'delayed', DelaySeconds: 200 });
    const snapshot = JSON.parse(JSON.stringify(first.state.snapshot())) as SqsSnapshot;

    const second = setup({ snapshot, startMs: first.clock.ms + 50_000 });
    expect(second.counts()).toMatchObject({ ApproximateNumberOfMessages: '1', ApproximateNumberOfMessagesNotVisible: '1', ApproximateNumberOfMessagesDelayed: '1' });
    expect(second.receive({ VisibilityTimeout: 1_000 }).map((message) => message.Body)).toEqual(['visible']);
    second.clock.ms += 50_000;
    expect(second.receive({ VisibilityTimeout: 1_000 }).map((message) => [message.Body, message.Attributes.ApproximateReceiveCount])).toEqual([['flight', '2']]);
    second.clock.ms += 100_000;
    expect(second.receive().map((message) => message.Body)).toEqual(['delayed']);
    // New messages are ordered after the restored ones.
    second.state.sendMessage({ QueueUrl: second.queueUrl, MessageBody: 'new' });
    expect(second.receive().map((message) => message.Body)).toEqual(['new']);
  });
});
