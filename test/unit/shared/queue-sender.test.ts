import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockAwsClient } from '../../support/aws-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  QueueSendError,
  SQS_MAX_BATCH_BYTES,
  sendJson,
  sendJsonBatch,
} from '../../../lambdas/shared/queue-sender';

const sqsMock = mockAwsClient(SQSClient);
const sqs = new SQSClient({ region: 'us-east-1' });

describe('batches', () => {
  beforeEach(() => sqsMock.reset());
  const acceptAll = (input: { Entries: { Id: string }[] }) => ({ Successful: input.Entries.map((entry) => ({ Id: entry.Id })), Failed: [] });
  const entriesPerCall = () => sqsMock.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input.Entries ?? []);

  it('packs at most 10 entries per batch', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake(acceptAll);
    await sendJsonBatch(sqs, 'https://queue', Array.from({ length: 25 }, (_, i) => i));
    expect(entriesPerCall().map((entries) => entries.length)).toEqual([10, 10, 5]);
  });

  it('never lets a batch exceed 256 KiB of bodies', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake(acceptAll);
    const body = 'x'.repeat(100_000);
    await sendJsonBatch(sqs, 'https://queue', [body, body, body, body, body]);
    const calls = entriesPerCall();
    expect(calls.map((entries) => entries.length)).toEqual([2, 2, 1]);
    for (const entries of calls) {
      expect(entries.reduce((sum, entry) => sum + Buffer.byteLength(entry.MessageBody ?? ''), 0)).toBeLessThanOrEqual(SQS_MAX_BATCH_BYTES);
    }
  });
});

describe('sendJsonBatch', () => {
  beforeEach(() => sqsMock.reset());

  it('retries only the entries SQS refused, then succeeds', async () => {
    let call = 0;
    sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => {
      call += 1;
      if (call === 1) return { Successful: [], Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }] };
      return { Successful: input.Entries.map((entry) => ({ Id: entry.Id })), Failed: [] };
    });
    const result = await sendJsonBatch(sqs, 'https://queue', [{ a: 1 }, { a: 2 }], { baseDelayMs: 1 });
    expect(result.calls).toBe(2);
    const second = sqsMock.commandCalls(SendMessageBatchCommand)[1]?.args[0].input;
    expect(second?.Entries?.map((entry) => entry.MessageBody)).toEqual(['{"a":2}']);
  });

  it('throws QueueSendError when entries keep failing, so the caller retries the record', async () => {
    sqsMock.on(SendMessageBatchCommand).rejects(new Error('throttled'));
    await expect(sendJsonBatch(sqs, 'https://queue', [{ a: 1 }], { retries: 2, baseDelayMs: 1 })).rejects.toBeInstanceOf(
      QueueSendError,
    );
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(3);
  });
});

describe('message bodies', () => {
  beforeEach(() => sqsMock.reset());

  it('sendJson and sendJsonBatch escape every character SQS or a stand-in refuses', async () => {
    const bodies: string[] = [];
    sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string; MessageBody: string }[] }) => {
      bodies.push(...input.Entries.map((entry) => entry.MessageBody));
      return { Successful: input.Entries.map((entry) => ({ Id: entry.Id })), Failed: [] };
    });
    sqsMock.on(SendMessageCommand).callsFake((input: { MessageBody: string }) => {
      bodies.push(input.MessageBody);
      return { MessageId: 'm' };
    });
    const value = { text: 'a\uffff🙂\ud800' };
    await sendJsonBatch(sqs, 'https://queue', [value]);
    await sendJson(sqs, 'https://queue', value);
    expect(bodies).toEqual(['{"text":"a\\uffff\\ud83d\\ude42\\ud800"}', '{"text":"a\\uffff\\ud83d\\ude42\\ud800"}']);
    for (const body of bodies) expect(JSON.parse(body)).toEqual(value);
  });
});
