import { randomBytes, randomUUID } from 'node:crypto';
import type { AwsJsonInput } from './aws-json-server';
import { optionalNumber, optionalStringList, requiredString } from './aws-input';
import { checkQueueAttributes, COMPUTED_ATTRIBUTES, DEFAULT_ATTRIBUTES, parseRedrivePolicy, redriveAllowed } from './sqs-attributes';
import { invalidParameter, MAX_MESSAGE_BYTES, sqsError } from './sqs-message';
import { QueueMessages, type StoredMessage } from './sqs-queue';
import { batchEntries, batchResults, integerIn, messageFromInput, receivedMessage, sendResult } from './sqs-shapes';

/**
 * SQS's queue and message operations over in-memory state, with SQS's rules, shapes and error
 * types. No I/O: the clock is injected, long polls and the file are the HTTP edge's (sqs.ts).
 */

/**
 * "Visibility timeout ... maximum is 12 hours", counted from the receive (ChangeMessageVisibility API reference,
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html).
 */
const MAX_TOTAL_VISIBILITY_MS = 43_200_000;
/**
 * Standard queue in-flight quota, "approximately 120,000"; past it short polls get OverLimit and long
 * polls no error (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-queues.html).
 */
export const DEFAULT_IN_FLIGHT_LIMIT = 120_000;
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;

export interface QueueRecord {
  name: string;
  createdAt: number;
  lastModifiedAt: number;
  attributes: Record<string, string>;
  tags: Record<string, string>;
}

export interface MoveTask {
  TaskHandle: string;
  SourceArn: string;
  DestinationArn?: string;
  MaxNumberOfMessagesPerSecond?: number;
  Status: 'COMPLETED' | 'FAILED';
  ApproximateNumberOfMessagesMoved: number;
  ApproximateNumberOfMessagesToMove: number;
  StartedTimestamp: number;
  FailureReason?: string;
}

/** Everything the stand-in keeps across a restart. */
export interface SqsSnapshot {
  seq: number;
  queues: (QueueRecord & { messages: StoredMessage[] })[];
  tasks: MoveTask[];
}

export interface ReceiveRequest {
  queue: Queue;
  max: number;
  visibilityMs: number;
  /** The long-poll wait: the request's WaitTimeSeconds or the queue's. */
  waitSeconds: number;
  systemNames: string[];
  attributeNames: string[];
}

export interface SqsStateOptions {
  region: string;
  accountId: string;
  /** `http://host:port`: queue URLs are `<endpoint>/<account>/<name>`. */
  endpoint: string;
  inFlightLimit?: number;
  now?: () => number;
  snapshot?: SqsSnapshot;
}

interface Queue extends QueueRecord {
  arn: string;
  messages: QueueMessages;
}

export class SqsState {
  private readonly queues = new Map<string, Queue>();
  private tasks: MoveTask[] = [];
  private seq = 0;
  private readonly now: () => number;
  readonly inFlightLimit: number;

  constructor(private readonly options: SqsStateOptions) {
    this.now = options.now ?? Date.now;
    this.inFlightLimit = options.inFlightLimit ?? DEFAULT_IN_FLIGHT_LIMIT;
    const snapshot = options.snapshot;
    if (snapshot === undefined) return;
    this.seq = snapshot.seq;
    this.tasks = snapshot.tasks;
    for (const { messages, ...record } of snapshot.queues) {
      const queue = this.addQueue(record);
      for (const message of messages) queue.messages.add(message);
    }
  }

  snapshot(): SqsSnapshot {
    const queues = [...this.queues.values()].map(({ arn: _arn, messages, ...record }) => ({ ...record, messages: [...messages.all()] }));
    return { seq: this.seq, queues, tasks: this.tasks };
  }

  /** When the receive's queue next has a delay, visibility deadline or retention end due. */
  nextDueFor(request: ReceiveRequest): number | undefined {
    return request.queue.messages.nextDueAt();
  }

  // ---- queues ----

  createQueue(input: AwsJsonInput): unknown {
    const name = requiredString(input, 'QueueName');
    if (name.endsWith('.fifo')) throw invalidParameter('FIFO queues are not supported by the local SQS stand-in; use a standard queue name (no .fifo).');
    if (!QUEUE_NAME.test(name)) {
      throw invalidParameter('Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length');
    }
    const attributes = checkQueueAttributes(input.Attributes);
    this.checkRedriveTarget(name, attributes.RedrivePolicy);
    const existing = this.queues.get(name);
    if (existing !== undefined) {
      for (const [key, value] of Object.entries(attributes)) {
        if ((existing.attributes[key] ?? DEFAULT_ATTRIBUTES[key]) !== value) {
          throw sqsError('QueueNameExists', `A queue already exists with the same name and a different value for attribute ${key}`);
        }
      }
      return { QueueUrl: this.urlOf(existing) };
    }
    const now = this.now();
    const tags = (typeof input.tags === 'object' && input.tags !== null ? input.tags : {}) as Record<string, string>;
    const queue = this.addQueue({ name, createdAt: now, lastModifiedAt: now, attributes: { ...DEFAULT_ATTRIBUTES, ...attributes }, tags: { ...tags } });
    return { QueueUrl: this.urlOf(queue) };
  }

  getQueueUrl(input: AwsJsonInput): unknown {
    return { QueueUrl: this.urlOf(this.queueNamed(requiredString(input, 'QueueName'))) };
  }

  listQueues(input: AwsJsonInput): unknown {
    const prefix = typeof input.QueueNamePrefix === 'string' ? input.QueueNamePrefix : '';
    const max = optionalNumber(input, 'MaxResults');
    if (max !== undefined && (!Number.isInteger(max) || max < 1 || max > 1000)) throw invalidParameter('MaxResults must be an integer from 1 to 1000.');
    const names = [...this.queues.keys()].filter((name) => name.startsWith(prefix)).sort();
    const start = typeof input.NextToken === 'string' ? Number(input.NextToken) || 0 : 0;
    const page = names.slice(start, start + (max ?? 1000));
    const more = max !== undefined && start + page.length < names.length;
    return { QueueUrls: page.map((name) => this.urlOf(this.queues.get(name)!)), ...(more ? { NextToken: String(start + page.length) } : {}) };
  }

  getQueueAttributes(input: AwsJsonInput): unknown {
    const queue = this.queueAt(input);
    const names = optionalStringList(input, 'AttributeNames') ?? [];
    const all = names.includes('All');
    const values: Record<string, string> = {
      ...queue.attributes,
      ApproximateNumberOfMessages: String(queue.messages.counts.visible),
      ApproximateNumberOfMessagesNotVisible: String(queue.messages.counts.inflight),
      ApproximateNumberOfMessagesDelayed: String(queue.messages.counts.delayed),
      CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
      LastModifiedTimestamp: String(Math.floor(queue.lastModifiedAt / 1000)),
      QueueArn: queue.arn,
    };
    if (values.RedrivePolicy === '') delete values.RedrivePolicy;
    const known = new Set([...Object.keys(DEFAULT_ATTRIBUTES), ...COMPUTED_ATTRIBUTES, 'RedrivePolicy', 'RedriveAllowPolicy', 'Policy', 'KmsMasterKeyId', 'KmsDataKeyReusePeriodSeconds']);
    const unknown = names.find((name) => name !== 'All' && !known.has(name));
    if (unknown !== undefined) throw sqsError('InvalidAttributeName', `Unknown Attribute ${unknown}.`);
    const selected = Object.fromEntries(Object.entries(values).filter(([name]) => all || names.includes(name)));
    return Object.keys(selected).length === 0 ? {} : { Attributes: selected };
  }

  setQueueAttributes(input: AwsJsonInput): unknown {
    const queue = this.queueAt(input);
    const attributes = checkQueueAttributes(input.Attributes);
    this.checkRedriveTarget(queue.name, attributes.RedrivePolicy);
    Object.assign(queue.attributes, attributes);
    queue.lastModifiedAt = this.now();
    if (attributes.MessageRetentionPeriod !== undefined) queue.messages.setRetention(Number(attributes.MessageRetentionPeriod) * 1000);
    return {};
  }

  deleteQueue(input: AwsJsonInput): unknown {
    const queue = this.queueAt(input);
    queue.messages.clear();
    this.queues.delete(queue.name);
    return {};
  }

  purgeQueue(input: AwsJsonInput): unknown {
    this.queueAt(input).messages.clear();
    return {};
  }

  tagQueue(input: AwsJsonInput): unknown {
    const queue = this.queueAt(input);
    const tags = (typeof input.Tags === 'object' && input.Tags !== null ? input.Tags : {}) as Record<string, unknown>;
    for (const [key, value] of Object.entries(tags)) if (typeof value === 'string') queue.tags[key] = value;
    return {};
  }

  untagQueue(input: AwsJsonInput): unknown {
    const queue = this.queueAt(input);
    for (const key of optionalStringList(input, 'TagKeys') ?? []) delete queue.tags[key];
    return {};
  }

  listQueueTags(input: AwsJsonInput): unknown {
    const { tags } = this.queueAt(input);
    return Object.keys(tags).length === 0 ? {} : { Tags: { ...tags } };
  }

  // ---- messages ----

  sendMessage(input: AwsJsonInput): unknown {
    return this.enqueue(this.queueAt(input), input);
  }

  sendMessageBatch(input: AwsJsonInput): unknown {
    const queue = this.queueAt(input);
    const entries = batchEntries(input);
    let total = 0;
    for (const entry of entries) total += Buffer.byteLength(typeof entry.MessageBody === 'string' ? entry.MessageBody : '');
    if (total > MAX_MESSAGE_BYTES) {
      throw sqsError('BatchRequestTooLong', `Batch requests cannot be longer than ${MAX_MESSAGE_BYTES} bytes. You have sent ${total} bytes.`);
    }
    return batchResults(entries, (entry) => ({ Id: entry.Id as string, ...this.enqueue(queue, entry) }));
  }

  /** Validates a ReceiveMessage request; the edge then polls `receive` with it. */
  prepareReceive(input: AwsJsonInput): ReceiveRequest {
    const queue = this.queueAt(input);
    const max = integerIn(input, 'MaxNumberOfMessages', 1, 10, 'Must be between 1 and 10, if provided.') ?? 1;
    const visibility = integerIn(input, 'VisibilityTimeout', 0, 43_200, 'Must be between 0 and 43200, if provided.');
    const wait = integerIn(input, 'WaitTimeSeconds', 0, 20, 'Must be >= 0 and <= 20, if provided.');
    return {
      queue,
      max,
      visibilityMs: (visibility ?? Number(queue.attributes.VisibilityTimeout)) * 1000,
      waitSeconds: wait ?? Number(queue.attributes.ReceiveMessageWaitTimeSeconds),
      systemNames: [...(optionalStringList(input, 'AttributeNames') ?? []), ...(optionalStringList(input, 'MessageSystemAttributeNames') ?? [])],
      attributeNames: optionalStringList(input, 'MessageAttributeNames') ?? [],
    };
  }

  /**
   * One receive attempt. `overLimit` when the queue's in-flight messages reached the limit: SQS
   * answers a short poll with OverLimit and a long poll with nothing (standard queue quotas).
   */
  receive(request: ReceiveRequest): { messages: unknown[]; overLimit: boolean; deadLettered: boolean } {
    const { queue } = request;
    if (this.queues.get(queue.name) !== queue) throw sqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    const now = this.now();
    queue.messages.advance(now);
    const messages: unknown[] = [];
    let deadLettered = false;
    while (messages.length < request.max) {
      if (queue.messages.counts.inflight >= this.inFlightLimit) return { messages, overLimit: messages.length === 0, deadLettered };
      const message = queue.messages.takeNext();
      if (message === undefined) break;
      if (this.deadLettered(queue, message)) {
        deadLettered = true;
        continue;
      }
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.receivedAt = now;
      message.receipt = Buffer.from(`${message.id}#${randomBytes(12).toString('hex')}`).toString('base64url');
      queue.messages.markInFlight(message, now + request.visibilityMs);
      messages.push(receivedMessage(message, request.systemNames, request.attributeNames));
    }
    return { messages, overLimit: false, deadLettered };
  }

  deleteMessage(input: AwsJsonInput): unknown {
    const queue = this.queueAt(input);
    const message = this.byReceipt(queue, requiredString(input, 'ReceiptHandle'));
    // A stale receipt handle succeeds without deleting, as SQS documents for repeated receives.
    if (message !== undefined) queue.messages.remove(message);
    return {};
  }

  deleteMessageBatch(input: AwsJsonInput): unknown {
    const queue = this.queueAt(input);
    return batchResults(batchEntries(input), (entry) => {
      this.deleteMessage({ QueueUrl: this.urlOf(queue), ReceiptHandle: entry.ReceiptHandle });
      return { Id: entry.Id as string };
    });
  }

  changeMessageVisibility(input: AwsJsonInput): unknown {
    const queue = this.queueAt(input);
    const message = this.byReceipt(queue, requiredString(input, 'ReceiptHandle'));
    const seconds = integerIn(input, 'VisibilityTimeout', 0, 43_200, 'Must be between 0 and 43200, if provided.');
    if (seconds === undefined) throw sqsError('MissingParameter', 'The request must contain the parameter VisibilityTimeout.');
    const now = this.now();
    queue.messages.advance(now);
    if (message === undefined || message.state !== 'inflight') {
      throw sqsError('MessageNotInflight', 'Message does not exist or is not available for visibility timeout change.');
    }
    // The 12 hours count from the receive; extending does not restart them (ChangeMessageVisibility
    // API reference: "you can't extend the timeout ... to more than a total visibility timeout of 12 hours").
    if (now + seconds * 1000 > (message.receivedAt ?? now) + MAX_TOTAL_VISIBILITY_MS) {
      throw invalidParameter(`Value ${seconds} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]`);
    }
    queue.messages.changeVisibility(message, now + seconds * 1000, now);
    return {};
  }

  changeMessageVisibilityBatch(input: AwsJsonInput): unknown {
    const queue = this.queueAt(input);
    return batchResults(batchEntries(input), (entry) => {
      this.changeMessageVisibility({ QueueUrl: this.urlOf(queue), ReceiptHandle: entry.ReceiptHandle, VisibilityTimeout: entry.VisibilityTimeout });
      return { Id: entry.Id as string };
    });
  }

  // ---- dead-letter queue redrive ----

  /**
   * Moves every message not in flight from a DLQ to `DestinationArn`, or when absent to each
   * message's original source queue, as new messages (new id and enqueue time, receive count 0):
   * StartMessageMoveTask API reference and "Configure a dead-letter queue redrive". The task runs
   * to its end before the call returns. The DLQ's RedriveAllowPolicy must allow the destination.
   * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html
   */
  startMessageMoveTask(input: AwsJsonInput): unknown {
    const sourceArn = requiredString(input, 'SourceArn');
    const destinationArn = typeof input.DestinationArn === 'string' ? input.DestinationArn : undefined;
    const source = this.queueByArn(sourceArn, 'SourceArn');
    if (![...this.queues.values()].some((queue) => this.redrivePolicyOf(queue)?.deadLetterTargetArn === sourceArn)) {
      throw invalidParameter('Source queue must be configured as a Dead Letter Queue.');
    }
    if (destinationArn !== undefined) {
      this.queueByArn(destinationArn, 'DestinationArn');
      if (!redriveAllowed(source.attributes.RedriveAllowPolicy, destinationArn)) {
        throw invalidParameter(`The dead-letter queue's RedriveAllowPolicy does not allow redrive to ${destinationArn}.`);
      }
    }
    const now = this.now();
    source.messages.advance(now);
    const movable = [...source.messages.all()].filter((message) => message.state !== 'inflight');
    let moved = 0;
    let failure: string | undefined;
    for (const message of movable) {
      const target = this.queueByArnOrUndefined(destinationArn ?? message.deadLetterSourceArn);
      if (target === undefined) {
        failure = 'A message has no source queue to return to (it was not moved there by a redrive policy, or that queue was deleted).';
        continue;
      }
      source.messages.remove(message);
      this.append(target, { ...message, sentAt: now, receiveCount: 0, firstReceivedAt: undefined, receivedAt: undefined, receipt: undefined, deadLetterSourceArn: undefined }, 0);
      moved += 1;
    }
    const rate = optionalNumber(input, 'MaxNumberOfMessagesPerSecond');
    const task: MoveTask = {
      TaskHandle: Buffer.from(JSON.stringify({ taskId: randomUUID(), sourceArn })).toString('base64'),
      SourceArn: sourceArn,
      ...(destinationArn === undefined ? {} : { DestinationArn: destinationArn }),
      ...(rate === undefined ? {} : { MaxNumberOfMessagesPerSecond: rate }),
      Status: failure === undefined ? 'COMPLETED' : 'FAILED',
      ApproximateNumberOfMessagesMoved: moved,
      ApproximateNumberOfMessagesToMove: movable.length,
      StartedTimestamp: now,
      ...(failure === undefined ? {} : { FailureReason: failure }),
    };
    this.tasks = [task, ...this.tasks].slice(0, 100);
    return { TaskHandle: task.TaskHandle };
  }

  listMessageMoveTasks(input: AwsJsonInput): unknown {
    const sourceArn = requiredString(input, 'SourceArn');
    this.queueByArn(sourceArn, 'SourceArn');
    const max = integerIn(input, 'MaxResults', 1, 10, 'Must be between 1 and 10, if provided.') ?? 1;
    return { Results: this.tasks.filter((task) => task.SourceArn === sourceArn).slice(0, max) };
  }

  // ---- internals ----

  private addQueue(record: QueueRecord): Queue {
    const queue: Queue = { ...record, arn: `arn:aws:sqs:${this.options.region}:${this.options.accountId}:${record.name}`, messages: new QueueMessages() };
    this.queues.set(record.name, queue);
    return queue;
  }

  private urlOf(queue: Queue): string {
    return `${this.options.endpoint}/${this.options.accountId}/${queue.name}`;
  }

  private queueNamed(name: string): Queue {
    const queue = this.queues.get(name);
    if (queue === undefined) throw sqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    return queue;
  }

  /** The queue a QueueUrl names, whatever its origin: the last path segment is the name. */
  private queueAt(input: AwsJsonInput): Queue {
    const url = requiredString(input, 'QueueUrl');
    return this.queueNamed(url.replace(/\/+$/, '').split('/').pop() ?? '');
  }

  private queueByArnOrUndefined(arn: string | undefined): Queue | undefined {
    const queue = arn === undefined ? undefined : this.queues.get(arn.split(':').pop() ?? '');
    return queue?.arn === arn ? queue : undefined;
  }

  private queueByArn(arn: string, member: string): Queue {
    const queue = this.queueByArnOrUndefined(arn);
    if (queue === undefined) throw sqsError('ResourceNotFoundException', `The resource that you specified for the ${member} parameter doesn't exist.`);
    return queue;
  }

  private redrivePolicyOf(queue: Queue): ReturnType<typeof parseRedrivePolicy> | undefined {
    const raw = queue.attributes.RedrivePolicy;
    return raw === undefined || raw === '' ? undefined : parseRedrivePolicy(raw);
  }

  /** A RedrivePolicy must name an existing queue whose RedriveAllowPolicy admits this one. */
  private checkRedriveTarget(name: string, policy: string | undefined): void {
    if (policy === undefined || policy === '') return;
    const target = parseRedrivePolicy(policy).deadLetterTargetArn;
    const dlq = this.queueByArnOrUndefined(target);
    if (dlq === undefined) throw invalidParameter(`Value ${policy} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.`);
    const sourceArn = `arn:aws:sqs:${this.options.region}:${this.options.accountId}:${name}`;
    if (!redriveAllowed(dlq.attributes.RedriveAllowPolicy, sourceArn)) {
      throw invalidParameter(`Value ${policy} for parameter RedrivePolicy is invalid. Reason: The dead-letter queue's RedriveAllowPolicy does not allow this source queue.`);
    }
  }

  /** Validates a SendMessage (or batch entry) and enqueues it. */
  private enqueue(queue: Queue, input: AwsJsonInput): Record<string, string> {
    const { message, delaySeconds } = messageFromInput(input, Number(queue.attributes.MaximumMessageSize), this.now());
    this.append(queue, message, (delaySeconds ?? Number(queue.attributes.DelaySeconds)) * 1000);
    return sendResult(message);
  }

  /** Adds a message (new id and order unless moved by a redrive policy), visible or delayed. */
  private append(queue: Queue, message: StoredMessage, delayMs: number, keepId = false): void {
    const now = this.now();
    queue.messages.advance(now);
    if (!keepId) message.id = randomUUID();
    message.seq = ++this.seq;
    message.expiresAt = message.sentAt + Number(queue.attributes.MessageRetentionPeriod) * 1000;
    message.state = delayMs > 0 ? 'delayed' : 'visible';
    message.visibleAt = now + delayMs;
    if (message.expiresAt > now) queue.messages.add(message);
  }

  /**
   * A message received more often than its queue's maxReceiveCount moves to the DLQ on this
   * receive, keeping its id and enqueue time and naming its source (DeadLetterQueueSourceArn).
   */
  private deadLettered(queue: Queue, message: StoredMessage): boolean {
    const policy = this.redrivePolicyOf(queue);
    if (policy === undefined || message.receiveCount < policy.maxReceiveCount) return false;
    const dlq = this.queueByArnOrUndefined(policy.deadLetterTargetArn);
    if (dlq === undefined) return false;
    queue.messages.remove(message);
    this.append(dlq, { ...message, receipt: undefined, deadLetterSourceArn: queue.arn }, 0, true);
    return true;
  }

  private byReceipt(queue: Queue, receipt: string): StoredMessage | undefined {
    const decoded = Buffer.from(receipt, 'base64url').toString('utf8');
    const separator = decoded.lastIndexOf('#');
    if (separator <= 0) throw sqsError('ReceiptHandleIsInvalid', `The input receipt handle "${receipt}" is not a valid receipt handle.`);
    const message = queue.messages.get(decoded.slice(0, separator));
    return message?.receipt === receipt ? message : undefined;
  }

}
