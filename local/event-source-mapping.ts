import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import { createLambdaContext } from './lambda-context';
import { defaultLogger, describeError, type LocalLogger } from './logger';

/** A Lambda handler for SQS events; a middy-wrapped handler fits. */
export type SqsEventHandler = (event: SQSEvent, context: Context) => unknown;

export interface EventSourceMappingOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: SqsEventHandler;
  /** Messages per invocation, 1–10 (one ReceiveMessage). */
  batchSize?: number;
  /** Long-poll wait, 1–20 s; Lambda's pollers wait 20. stop() does not wait for it. */
  waitTimeSeconds?: number;
  /** Pollers, each invoking the handler with its own batches, one at a time. */
  concurrency?: number;
  /** The function name in the context and the logs; defaults to the queue's name. */
  functionName?: string;
  /** The function timeout: the context's deadline; an invocation still running then has failed. */
  timeoutMs?: number;
  /**
   * Simulates Lambda throttling a batch (the function's concurrency is used up): when it answers
   * true the batch is received but not invoked, and SQS shows it again after the visibility
   * timeout with a higher receive count — as AWS does ("Using Lambda with Amazon SQS").
   */
  throttle?: (batch: readonly SQSRecord[]) => boolean;
  logger?: LocalLogger;
}

export interface EventSourceMapping {
  /** Stops polling at once and waits for running invocations; idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** How long stop() waits for invocations still running (timed-out ones included). */
const STOP_WAIT_MS = 10_000;
const FIRST_RETRY_DELAY_MS = 100;
const MAX_RETRY_DELAY_MS = 5_000;

interface Mapping {
  options: EventSourceMappingOptions;
  batchSize: number;
  waitTimeSeconds: number;
  functionName: string;
  timeoutMs: number;
  region: string;
  logger: LocalLogger;
  /**
   * Handler runs still going, timed-out ones included: Lambda would freeze or kill a timed-out
   * invocation, a process cannot, so stop() waits for them before the stand-ins close under them.
   */
  running: Set<Promise<unknown>>;
}

/**
 * What Lambda's SQS event source mapping does with ReportBatchItemFailures: long-poll the queue,
 * invoke the handler with a real-shaped SQSEvent, delete the records the handler did not report as
 * failed. A handler that throws, rejects, times out or answers with an invalid response fails the
 * whole batch: nothing is deleted and SQS redelivers it after the visibility timeout.
 * Polling errors are logged and retried with backoff; they never reject or crash the process.
 */
export function startEventSourceMapping(options: EventSourceMappingOptions): EventSourceMapping {
  const mapping = resolve(options);
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a positive integer');
  const polling = new AbortController();
  const pollers = Array.from({ length: concurrency }, () => poll(mapping, polling.signal));
  let stopped: Promise<void> | undefined;
  return {
    stop: () => {
      stopped ??= (async () => {
        polling.abort();
        await Promise.all(pollers);
        // Bounded: an invocation that never ends (a hung dependency) must not hold the stop forever.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.allSettled([...mapping.running]),
          new Promise((resolve) => {
            timer = setTimeout(resolve, STOP_WAIT_MS);
          }),
        ]);
        clearTimeout(timer);
      })();
      return stopped;
    },
  };
}

function resolve(options: EventSourceMappingOptions): Mapping {
  const batchSize = options.batchSize ?? 10;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10) throw new RangeError('batchSize must be an integer from 1 to 10');
  const waitTimeSeconds = options.waitTimeSeconds ?? 20;
  if (!Number.isInteger(waitTimeSeconds) || waitTimeSeconds < 1 || waitTimeSeconds > 20) {
    throw new RangeError('waitTimeSeconds must be an integer from 1 to 20');
  }
  const region = options.queueArn.split(':')[3];
  if (!options.queueArn.startsWith('arn:') || region === undefined || region === '') throw new RangeError(`queueArn ${options.queueArn} is not an SQS queue ARN`);
  return {
    options,
    batchSize,
    waitTimeSeconds,
    functionName: options.functionName ?? options.queueUrl.slice(options.queueUrl.lastIndexOf('/') + 1),
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    region,
    logger: options.logger ?? defaultLogger,
    running: new Set(),
  };
}

async function poll(mapping: Mapping, signal: AbortSignal): Promise<void> {
  const { sqs, queueUrl } = mapping.options;
  let failures = 0;
  while (!signal.aborted) {
    let messages: Message[];
    try {
      const result = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: mapping.batchSize,
          WaitTimeSeconds: mapping.waitTimeSeconds,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: signal },
      );
      messages = result.Messages ?? [];
      failures = 0;
    } catch (error) {
      if (signal.aborted) return;
      failures += 1;
      const delay = Math.min(MAX_RETRY_DELAY_MS, FIRST_RETRY_DELAY_MS * 2 ** (failures - 1));
      mapping.logger.warn(`${mapping.functionName}: polling ${queueUrl} failed (${describeError(error)}); retrying in ${delay} ms`);
      await sleep(delay, signal);
      continue;
    }
    if (messages.length > 0) await invoke(mapping, messages);
  }
}

async function invoke(mapping: Mapping, messages: Message[]): Promise<void> {
  const { functionName, logger } = mapping;
  const context = createLambdaContext(functionName, mapping.timeoutMs, { region: mapping.region });
  let failed: ReadonlySet<string>;
  try {
    const event: SQSEvent = { Records: messages.map((message) => toRecord(message, mapping)) };
    if (mapping.options.throttle?.(event.Records) === true) {
      logger.warn(`${functionName}: invocation throttled; its ${messages.length} message(s) return after the visibility timeout`);
      return;
    }
    const run = Promise.resolve().then(() => mapping.options.handler(event, context));
    mapping.running.add(run);
    void run.then(
      () => mapping.running.delete(run),
      () => mapping.running.delete(run),
    );
    const result = await withTimeout(run, mapping.timeoutMs);
    failed = reportedFailures(result, event.Records);
  } catch (error) {
    logger.error(
      `${functionName}: invocation ${context.awsRequestId} failed (${describeError(error)}); its ${messages.length} message(s) return after the visibility timeout`,
    );
    return;
  }
  const done = messages.filter((message) => !failed.has(message.MessageId ?? ''));
  if (done.length > 0) await deleteMessages(mapping, done);
}

/**
 * The records to keep, by Lambda's rules for ReportBatchItemFailures: no response or no list means
 * every record succeeded; a list naming an unknown or empty id fails the whole batch.
 */
function reportedFailures(result: unknown, records: readonly SQSRecord[]): ReadonlySet<string> {
  if (result === undefined || result === null) return new Set();
  if (typeof result !== 'object' || Array.isArray(result)) throw new Error('invalid response: not a batch response object');
  const failures: unknown = (result as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) throw new Error('invalid response: batchItemFailures is not a list');
  const ids = new Set(records.map((record) => record.messageId));
  const failed = new Set<string>();
  for (const failure of failures) {
    const id: unknown = typeof failure === 'object' && failure !== null ? (failure as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    if (typeof id !== 'string' || !ids.has(id)) throw new Error('invalid response: a batchItemFailures itemIdentifier is not a message id of the batch');
    failed.add(id);
  }
  return failed;
}

async function deleteMessages(mapping: Mapping, messages: Message[]): Promise<void> {
  const { sqs, queueUrl } = mapping.options;
  try {
    const result = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
      }),
    );
    const failed = result.Failed ?? [];
    if (failed.length > 0) {
      mapping.logger.warn(`${mapping.functionName}: ${failed.length} processed message(s) could not be deleted and will be delivered again`);
    }
  } catch (error) {
    mapping.logger.warn(
      `${mapping.functionName}: deleting ${messages.length} processed message(s) failed (${describeError(error)}); they will be delivered again`,
    );
  }
}

const REQUIRED_ATTRIBUTES = ['ApproximateReceiveCount', 'SentTimestamp', 'SenderId', 'ApproximateFirstReceiveTimestamp'] as const;

function toRecord(message: Message, mapping: Mapping): SQSRecord {
  const attributes: Record<string, string> = { ...message.Attributes };
  for (const name of REQUIRED_ATTRIBUTES) {
    if (attributes[name] === undefined) throw new Error(`SQS returned message ${message.MessageId} without ${name}`);
  }
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: value.DataType ?? 'String',
      ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
      ...(value.BinaryValue === undefined ? {} : { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
      stringListValues: [],
      binaryListValues: [],
    };
  }
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: attributes as unknown as SQSRecordAttributes,
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes === undefined ? {} : { md5OfMessageAttributes: message.MD5OfMessageAttributes }),
    eventSource: 'aws:sqs',
    eventSourceARN: mapping.options.queueArn,
    awsRegion: mapping.region,
  };
}

function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`)), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((wake) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      wake();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
