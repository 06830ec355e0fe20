import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { encodeQueueBody } from '../core/queue-encoding';

/** SQS accepts at most 10 entries per SendMessageBatch. */
export const SQS_BATCH_SIZE = 10;

/** SQS refuses a SendMessageBatch whose bodies add up to more than 256 KiB. */
export const SQS_MAX_BATCH_BYTES = 262_144;

export interface BatchSendOptions {
  /** SendMessageBatch calls in flight at once. */
  concurrency?: number;
  /** Extra rounds for entries SQS refused in a batch (throttling, internal errors). */
  retries?: number;
  /** Delay before retry round n is `baseDelayMs * 2^(n-1)`. */
  baseDelayMs?: number;
  /**
   * The tenant, on a standard queue: SQS fair queues serve quiet groups first when one group holds
   * a disproportionate share of in-flight messages (SQS Developer Guide, "Amazon SQS fair queues").
   */
  messageGroupId?: string;
}

export class QueueSendError extends Error {
  constructor(
    readonly failedCount: number,
    readonly reasons: string[],
  ) {
    super(`SQS refused ${failedCount} message(s): ${reasons.slice(0, 3).join('; ')}`);
    this.name = 'QueueSendError';
  }
}

/**
 * Every body goes through encodeQueueBody: characters SQS refuses (U+FFFE, U+FFFF, …) travel as
 * JSON escapes, so any JSON the API accepted reaches the consumer's JSON.parse unchanged.
 *
 * Sends JSON bodies in batches (10 entries, 256 KiB at most), several batches at once, retrying the
 * entries SQS refused.
 * Throws QueueSendError when some still fail, so the caller's record is retried and nothing is lost.
 */
export async function sendJsonBatch(
  sqs: SQSClient,
  queueUrl: string,
  bodies: readonly unknown[],
  options: BatchSendOptions = {},
): Promise<{ calls: number }> {
  const { concurrency = 5, retries = 3, baseDelayMs = 50 } = options;
  let pending = bodies.map((body) => encodeQueueBody(body));
  let calls = 0;
  let reasons: string[] = [];
  for (let round = 0; pending.length > 0 && round <= retries; round += 1) {
    if (round > 0) await sleep(baseDelayMs * 2 ** (round - 1));
    const chunks = chunkForBatches(pending);
    const failed: string[] = [];
    reasons = [];
    await forEachLimited(chunks, concurrency, async (chunk) => {
      calls += 1;
      try {
        const result = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((body, index) => ({
              Id: String(index),
              MessageBody: body,
              ...(options.messageGroupId === undefined ? {} : { MessageGroupId: options.messageGroupId }),
            })),
          }),
        );
        for (const entry of result.Failed ?? []) {
          const body = chunk[Number(entry.Id)];
          if (body !== undefined) failed.push(body);
          reasons.push(`${entry.Code ?? 'error'}${entry.SenderFault === true ? ' (sender fault)' : ''}`);
        }
      } catch (error) {
        failed.push(...chunk);
        reasons.push(error instanceof Error ? error.name : 'error');
      }
    });
    pending = failed;
  }
  if (pending.length > 0) throw new QueueSendError(pending.length, reasons);
  return { calls };
}

/** Groups bodies into batches SQS accepts: at most 10 entries and 256 KiB of bodies each. */
export function chunkForBatches(bodies: readonly string[]): string[][] {
  const chunks: string[][] = [];
  let current: string[] = [];
  let currentBytes = 0;
  for (const body of bodies) {
    const bytes = Buffer.byteLength(body, 'utf8');
    if (current.length === SQS_BATCH_SIZE || (current.length > 0 && currentBytes + bytes > SQS_MAX_BATCH_BYTES)) {
      chunks.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(body);
    currentBytes += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export async function sendJson(sqs: SQSClient, queueUrl: string, body: unknown, options: Pick<BatchSendOptions, 'messageGroupId'> = {}): Promise<void> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: encodeQueueBody(body),
      ...(options.messageGroupId === undefined ? {} : { MessageGroupId: options.messageGroupId }),
    }),
  );
}

async function forEachLimited<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await run(item);
    }
  });
  await Promise.all(workers);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
