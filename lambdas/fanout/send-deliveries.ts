import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DeliveryMessage } from '../core/records';
import { SQS_BATCH_SIZE, sendJsonBatch } from '../shared/queue-sender';

/** SQS refuses a SendMessageBatch whose bodies add up to more than 256 KiB. */
export const SQS_MAX_BATCH_BYTES = 262_144;
export const DEFAULT_SEND_CONCURRENCY = 10;

/**
 * Sends delivery messages with SendMessageBatch, several calls at once. sendJsonBatch packs 10
 * bodies per call; with large event data that would exceed the request size limit, so the
 * messages are then split into groups that fit, each group one call.
 * Returns the number of SendMessageBatch calls made.
 */
export async function sendDeliveryMessages(
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly DeliveryMessage[],
  concurrency = DEFAULT_SEND_CONCURRENCY,
): Promise<number> {
  if (messages.length === 0) return 0;
  const perCall = Math.min(SQS_BATCH_SIZE, Math.max(1, Math.floor(SQS_MAX_BATCH_BYTES / largestBody(messages))));
  if (perCall === SQS_BATCH_SIZE) return (await sendJsonBatch(sqs, queueUrl, messages, { concurrency })).calls;
  const groups: DeliveryMessage[][] = [];
  for (let index = 0; index < messages.length; index += perCall) groups.push(messages.slice(index, index + perCall));
  let calls = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < groups.length) {
      const group = groups[next] as DeliveryMessage[];
      next += 1;
      calls += (await sendJsonBatch(sqs, queueUrl, group, { concurrency: 1 })).calls;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, groups.length) }, worker));
  return calls;
}

/** Serialised size of the largest message; events are shared, so each is measured once. */
function largestBody(messages: readonly DeliveryMessage[]): number {
  const eventBytes = new Map<DeliveryMessage['event'], number>();
  let largest = 0;
  for (const message of messages) {
    let bytes = eventBytes.get(message.event);
    if (bytes === undefined) {
      bytes = Buffer.byteLength(JSON.stringify(message.event), 'utf8');
      eventBytes.set(message.event, bytes);
    }
    // `null` stands in for the event: 4 bytes the real event's serialisation replaces.
    const total = Buffer.byteLength(JSON.stringify({ ...message, event: null }), 'utf8') - 4 + bytes;
    largest = Math.max(largest, total);
  }
  return largest;
}
