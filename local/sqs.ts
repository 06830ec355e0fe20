import { join } from 'node:path';
import { createAwsJsonServer, type AwsJsonContext, type AwsJsonInput, type AwsJsonOperation } from './aws-json-server';
import { LOCAL_ACCOUNT_ID } from './account';
import { readJsonFile, writeJsonFileAtomically } from './json-file';
import { closeServer, listenOnLoopback } from './listen';
import { defaultLogger, describeError, type LocalLogger } from './logger';
import { queryErrorHeaders, sqsError } from './sqs-message';
import { SqsState, type ReceiveRequest, type SqsSnapshot } from './sqs-state';

export interface SqsStandInOptions {
  /** Region in every queue ARN. */
  region: string;
  /** Keeps queues and every message (visible, delayed, in flight) in `<dataDir>/sqs.json` across restarts; memory only when absent. */
  dataDir?: string;
  /** In-flight messages per queue past which receives get nothing (long poll) or OverLimit (short poll); default 120,000. */
  inFlightLimit?: number;
  logger?: LocalLogger;
  /** The clock of delays, visibility deadlines and retention (ms since the epoch); tests move it. Default Date.now. */
  clock?: () => number;
}

export interface SqsStandIn {
  /** `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_SQS`; every queue URL starts with it. */
  readonly endpoint: string;
  close(): Promise<void>;
}

const FILE_NAME = 'sqs.json';
const FILE_FORMAT = 1;
/** A 1 MiB message escaped in JSON (or a batch of them) with room to spare. */
const MAX_BODY_BYTES = 8 * 1_048_576;
/**
 * Changes are written at most this often (then at least four times as long as the last write
 * took, so a large backlog does not keep the process writing): what a hard kill can lose.
 */
const FLUSH_INTERVAL_MS = 75;
/**
 * A long poll woken by a change looks this much later: a client that abandoned its poll just
 * before another one sent must have its disconnect seen first, or the abandoned poll would take
 * the message.
 */
const CLOSE_SETTLE_MS = 10;
const READ_ONLY = new Set(['GetQueueUrl', 'ListQueues', 'GetQueueAttributes', 'ListQueueTags', 'ListMessageMoveTasks']);

interface SqsFile extends SqsSnapshot {
  format: typeof FILE_FORMAT;
}

/**
 * SQS on the AWS JSON 1.0 protocol the SDK v3 client speaks, in process on a free loopback port,
 * with what bites on AWS: the in-flight limit, the 12-hour visibility window, delays, message
 * character and size rules, redrive policies, StartMessageMoveTask, fair queues (sqs-state.ts).
 * Long polls wait for a change and end, taking nothing, when their client goes away. With a
 * dataDir, queues and messages are written to a file (atomically, coalesced) and survive a restart.
 */
export async function startSqs(options: SqsStandInOptions): Promise<SqsStandIn> {
  const logger = options.logger ?? defaultLogger;
  const filePath = options.dataDir === undefined ? undefined : join(options.dataDir, FILE_NAME);
  const snapshot = filePath === undefined ? undefined : await loadSnapshot(filePath);
  let state: SqsState | undefined;
  const current = (): SqsState => {
    if (state === undefined) throw new Error('the local SQS stand-in has not started');
    return state;
  };

  const persistence = filePath === undefined ? undefined : coalescedWriter(filePath, () => ({ format: FILE_FORMAT, ...current().snapshot() }), logger);
  /** Waiting long polls, by queue name. */
  const waiters = new Map<string, Set<() => void>>();
  /** A change may have made messages visible (or freed in-flight slots) in `queueName`, or anywhere. */
  const changed = (queueName?: string): void => {
    persistence?.markDirty();
    const woken = queueName === undefined ? [...waiters.values()] : [waiters.get(queueName) ?? new Set()];
    for (const set of woken) for (const wake of set) wake();
  };

  const receiveMessage = async (input: AwsJsonInput, context: AwsJsonContext): Promise<unknown> => {
    const request = current().prepareReceive(input);
    const deadline = Date.now() + request.waitSeconds * 1000;
    for (;;) {
      // Nobody is listening any more: end without taking a message.
      if (context.signal.aborted) return {};
      const { messages, overLimit, deadLettered } = current().receive(request);
      // A message moved to its DLQ may be awaited there.
      if (deadLettered) changed();
      if (messages.length > 0) {
        changed(request.queue.name);
        return { Messages: messages };
      }
      if (request.waitSeconds === 0) {
        if (overLimit) throw sqsError('OverLimit', 'Too many messages in flight: the queue reached its in-flight limit.');
        return {};
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) return {};
      const queueWaiters = waiters.get(request.queue.name) ?? new Set();
      waiters.set(request.queue.name, queueWaiters);
      await waitForChange(queueWaiters, nextLook(request, remaining), context.signal);
      if (queueWaiters.size === 0) waiters.delete(request.queue.name);
    }
  };
  // The wait's end is in real time; when a delay or deadline falls due is on the state's clock.
  const clock = options.clock ?? Date.now;
  const nextLook = (request: ReceiveRequest, remaining: number): number => {
    const due = current().nextDueFor(request);
    return due === undefined ? remaining : Math.max(1, Math.min(remaining, due - clock()));
  };

  const operations: Record<string, AwsJsonOperation> = { ReceiveMessage: receiveMessage };
  for (const [name, operation] of Object.entries(STATE_OPERATIONS)) {
    operations[name] = (input) => {
      const result = operation(current(), input);
      if (!READ_ONLY.has(name)) changed(name === 'StartMessageMoveTask' ? undefined : queueNameOf(input));
      return result;
    };
  }
  const server = createAwsJsonServer({
    targetPrefix: 'AmazonSQS',
    contentType: 'application/x-amz-json-1.0',
    errorHeaders: queryErrorHeaders,
    maxBodyBytes: MAX_BODY_BYTES,
    logger,
    operations,
  });
  const endpoint = await listenOnLoopback(server);
  state = new SqsState({
    region: options.region,
    accountId: LOCAL_ACCOUNT_ID,
    endpoint,
    ...(options.inFlightLimit === undefined ? {} : { inFlightLimit: options.inFlightLimit }),
    ...(snapshot === undefined ? {} : { snapshot }),
    ...(options.clock === undefined ? {} : { now: options.clock }),
  });
  return {
    endpoint,
    close: async () => {
      await closeServer(server);
      for (const set of waiters.values()) for (const wake of set) wake();
      await persistence?.close();
    },
  };
}

const STATE_OPERATIONS: Readonly<Record<string, (state: SqsState, input: AwsJsonInput) => unknown>> = {
  CreateQueue: (state, input) => state.createQueue(input),
  GetQueueUrl: (state, input) => state.getQueueUrl(input),
  ListQueues: (state, input) => state.listQueues(input),
  GetQueueAttributes: (state, input) => state.getQueueAttributes(input),
  SetQueueAttributes: (state, input) => state.setQueueAttributes(input),
  DeleteQueue: (state, input) => state.deleteQueue(input),
  PurgeQueue: (state, input) => state.purgeQueue(input),
  TagQueue: (state, input) => state.tagQueue(input),
  UntagQueue: (state, input) => state.untagQueue(input),
  ListQueueTags: (state, input) => state.listQueueTags(input),
  SendMessage: (state, input) => state.sendMessage(input),
  SendMessageBatch: (state, input) => state.sendMessageBatch(input),
  DeleteMessage: (state, input) => state.deleteMessage(input),
  DeleteMessageBatch: (state, input) => state.deleteMessageBatch(input),
  ChangeMessageVisibility: (state, input) => state.changeMessageVisibility(input),
  ChangeMessageVisibilityBatch: (state, input) => state.changeMessageVisibilityBatch(input),
  StartMessageMoveTask: (state, input) => state.startMessageMoveTask(input),
  ListMessageMoveTasks: (state, input) => state.listMessageMoveTasks(input),
};

/** The queue a request's QueueUrl names (its last path segment), as the state resolves it. */
function queueNameOf(input: AwsJsonInput): string | undefined {
  return typeof input.QueueUrl === 'string' ? input.QueueUrl.replace(/\/+$/, '').split('/').pop() : undefined;
}

/** Resolves after `ms`, on a change (a little later, see CLOSE_SETTLE_MS), or when the client goes. */
function waitForChange(waiters: Set<() => void>, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    let timer = setTimeout(done, ms);
    let settling = false;
    function done(): void {
      clearTimeout(timer);
      waiters.delete(onChange);
      signal.removeEventListener('abort', done);
      resolve();
    }
    function onChange(): void {
      if (settling) return;
      settling = true;
      clearTimeout(timer);
      timer = setTimeout(done, CLOSE_SETTLE_MS);
    }
    waiters.add(onChange);
    signal.addEventListener('abort', done, { once: true });
  });
}

interface CoalescedWriter {
  markDirty(): void;
  close(): Promise<void>;
}

/** Writes the snapshot at most every FLUSH_INTERVAL_MS after a change, in order, and once more on close. */
function coalescedWriter(filePath: string, snapshot: () => SqsFile, logger: LocalLogger): CoalescedWriter {
  let dirty = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let lastWriteMs = 0;
  let writes: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    timer = undefined;
    writes = writes.then(async () => {
      if (!dirty) return;
      dirty = false;
      const started = Date.now();
      try {
        await writeJsonFileAtomically(filePath, snapshot(), { compact: true });
      } catch (error) {
        dirty = true;
        logger.warn(`local SQS: could not save queue messages to ${filePath}: ${describeError(error)}`);
      }
      lastWriteMs = Date.now() - started;
    });
    return writes;
  };
  return {
    markDirty: () => {
      dirty = true;
      if (timer !== undefined || closed) return;
      timer = setTimeout(flush, Math.max(FLUSH_INTERVAL_MS, lastWriteMs * 4));
    },
    close: async () => {
      closed = true;
      clearTimeout(timer);
      await flush();
    },
  };
}

async function loadSnapshot(filePath: string): Promise<SqsSnapshot | undefined> {
  const content = await readJsonFile(filePath);
  if (content === undefined) return undefined;
  const file = content as Partial<SqsFile>;
  if (file.format !== FILE_FORMAT || !Array.isArray(file.queues) || !Array.isArray(file.tasks) || typeof file.seq !== 'number') {
    throw new Error(`${filePath} is not a Hookline local SQS file (format ${FILE_FORMAT}); move it away to start with empty queues`);
  }
  return { seq: file.seq, queues: file.queues, tasks: file.tasks };
}
