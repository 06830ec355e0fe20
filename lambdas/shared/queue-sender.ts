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
 * Sends JSON bodies through a {@link QueueOutbox}: batches of 10 entries and 256 KiB at most, several
 * at once, retrying the entries SQS refused.
 * Throws QueueSendError when some still fail, so the caller's record is retried and nothing is lost.
 */
export async function sendJsonBatch(
  sqs: SQSClient,
  queueUrl: string,
  bodies: readonly unknown[],
  options: BatchSendOptions = {},
): Promise<{ calls: number }> {
  const { messageGroupId, ...sendOptions } = options;
  const outbox = new QueueOutbox<number>(sqs, queueUrl, sendOptions);
  for (const [index, body] of bodies.entries()) await outbox.add(index, body, messageGroupId);
  await outbox.flush();
  const failed = bodies.filter((_, index) => outbox.hasFailed(index)).length;
  if (failed > 0) throw new QueueSendError(failed, [...outbox.failureReasons()]);
  return { calls: outbox.calls };
}

/**
 * Packs messages from several senders (the records of one Lambda invocation) into shared
 * SendMessageBatch calls, 10 entries and 256 KiB at most each, and remembers whose message each
 * entry was: a sender is reported failed only when one of its own messages could not be sent after
 * the retries. A full batch is sent as soon as it fills, so memory stays bounded however many
 * messages are added; `flush` sends the rest. Each entry keeps its own MessageGroupId, so senders of
 * different tenants share a call.
 */
export class QueueOutbox<Tag> {
  private pending: OutboxEntry<Tag>[] = [];
  private pendingBytes = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly failed = new Set<Tag>();
  private readonly reasons: string[] = [];
  calls = 0;

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly options: Omit<BatchSendOptions, 'messageGroupId'> = {},
  ) {}

  /** Queues one message; resolves once it is in a batch (sent, or waiting for more entries). */
  async add(tag: Tag, body: unknown, messageGroupId?: string): Promise<void> {
    const encoded = encodeQueueBody(body);
    const bytes = Buffer.byteLength(encoded, 'utf8');
    if (this.pending.length > 0 && this.pendingBytes + bytes > SQS_MAX_BATCH_BYTES) await this.dispatch();
    this.pending.push({ tag, body: encoded, ...(messageGroupId === undefined ? {} : { messageGroupId }) });
    this.pendingBytes += bytes;
    if (this.pending.length === SQS_BATCH_SIZE) await this.dispatch();
  }

  /** Sends what is still queued and waits for every call; afterwards `hasFailed` is final. */
  async flush(): Promise<void> {
    if (this.pending.length > 0) await this.dispatch();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  hasFailed(tag: Tag): boolean {
    return this.failed.has(tag);
  }

  failureReasons(): readonly string[] {
    return this.reasons;
  }

  private noteReason(reason: string): void {
    if (this.reasons.length < 10) this.reasons.push(reason);
  }

  private async dispatch(): Promise<void> {
    const chunk = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const sending = this.sendWithRetries(chunk).finally(() => this.inFlight.delete(sending));
    this.inFlight.add(sending);
    // Back-pressure: at most `concurrency` calls in flight.
    while (this.inFlight.size >= (this.options.concurrency ?? 5)) await Promise.race([...this.inFlight]);
  }

  private async sendWithRetries(chunk: OutboxEntry<Tag>[]): Promise<void> {
    const { retries = 3, baseDelayMs = 50 } = this.options;
    let remaining = chunk;
    for (let round = 0; remaining.length > 0 && round <= retries; round += 1) {
      if (round > 0) await sleep(baseDelayMs * 2 ** (round - 1));
      remaining = await this.sendOnce(remaining);
    }
    for (const entry of remaining) this.failed.add(entry.tag);
  }

  /** One SendMessageBatch; returns the entries SQS refused or that the call did not reach. */
  private async sendOnce(entries: OutboxEntry<Tag>[]): Promise<OutboxEntry<Tag>[]> {
    this.calls += 1;
    try {
      const result = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: entries.map((entry, index) => ({
            Id: String(index),
            MessageBody: entry.body,
            ...(entry.messageGroupId === undefined ? {} : { MessageGroupId: entry.messageGroupId }),
          })),
        }),
      );
      const refused: OutboxEntry<Tag>[] = [];
      for (const failure of result.Failed ?? []) {
        const entry = entries[Number(failure.Id)];
        if (entry !== undefined) refused.push(entry);
        this.noteReason(`${failure.Code ?? 'error'}${failure.SenderFault === true ? ' (sender fault)' : ''}`);
      }
      return refused;
    } catch (error) {
      this.noteReason(error instanceof Error ? error.name : 'error');
      return entries;
    }
  }
}

interface OutboxEntry<Tag> {
  tag: Tag;
  body: string;
  messageGroupId?: string;
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
