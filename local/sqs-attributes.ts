import { invalidParameter, MAX_MESSAGE_BYTES, sqsError } from './sqs-message';

/**
 * Queue attributes as SQS validates and defaults them (SetQueueAttributes API reference;
 * "Amazon SQS standard queue quotas"). Values are kept as the strings the API carries.
 */

export interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

export interface RedriveAllowPolicy {
  redrivePermission: 'allowAll' | 'denyAll' | 'byQueue';
  sourceQueueArns?: string[];
}

/** Integer attributes and their bounds. */
const BOUNDS: Readonly<Record<string, readonly [number, number]>> = {
  /** Visibility timeout: 0 s to 12 hours. */
  VisibilityTimeout: [0, 43_200],
  /** "Delay queue: The default (minimum) delay for a queue is 0 seconds. The maximum is 15 minutes." */
  DelaySeconds: [0, 900],
  /** Message retention: 60 s to 1,209,600 s (14 days). */
  MessageRetentionPeriod: [60, 1_209_600],
  /** "The maximum long polling wait time is 20 seconds." */
  ReceiveMessageWaitTimeSeconds: [0, 20],
  MaximumMessageSize: [1_024, MAX_MESSAGE_BYTES],
  KmsDataKeyReusePeriodSeconds: [60, 86_400],
};

export const DEFAULT_ATTRIBUTES: Readonly<Record<string, string>> = {
  VisibilityTimeout: '30',
  DelaySeconds: '0',
  MessageRetentionPeriod: '345600',
  ReceiveMessageWaitTimeSeconds: '0',
  MaximumMessageSize: String(MAX_MESSAGE_BYTES),
  // SSE-SQS is on by default for queues created since 2022.
  SqsManagedSseEnabled: 'true',
};

const FREE_TEXT = new Set(['Policy', 'KmsMasterKeyId']);
const FIFO_ONLY = new Set(['FifoQueue', 'ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit']);

/** Computed by GetQueueAttributes, never set. */
export const COMPUTED_ATTRIBUTES = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
  'QueueArn',
] as const;

const invalidValue = (name: string, reason = ''): Error =>
  sqsError('InvalidAttributeValue', `Invalid value for the parameter ${name}.${reason === '' ? '' : ` Reason: ${reason}`}`);

/** Checks attributes to set; returns them normalised (RedrivePolicy targets are checked by the caller). */
export function checkQueueAttributes(raw: unknown): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalidParameter('Attributes must be a map.');
  const checked: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof value !== 'string') throw invalidValue(name);
    if (FIFO_ONLY.has(name)) {
      throw invalidParameter(`Attribute ${name} is for FIFO queues, which the local SQS stand-in does not support; use a standard queue.`);
    }
    const bounds = BOUNDS[name];
    if (bounds !== undefined) {
      const number = Number(value);
      if (!/^\d+$/.test(value) || number < bounds[0] || number > bounds[1]) invalidBound(name, value, bounds);
      checked[name] = String(number);
    } else if (name === 'RedrivePolicy') {
      checked[name] = value === '' ? '' : JSON.stringify(parseRedrivePolicy(value));
    } else if (name === 'RedriveAllowPolicy') {
      checked[name] = JSON.stringify(parseRedriveAllowPolicy(value));
    } else if (name === 'SqsManagedSseEnabled') {
      if (value !== 'true' && value !== 'false') throw invalidValue(name);
      checked[name] = value;
    } else if (FREE_TEXT.has(name)) {
      checked[name] = value;
    } else {
      throw sqsError('InvalidAttributeName', `Unknown Attribute ${name}.`);
    }
  }
  return checked;
}

function invalidBound(name: string, value: string, [min, max]: readonly [number, number]): never {
  throw invalidValue(name, `Must be an integer from ${min} to ${max}, got ${value}.`);
}

export function parseRedrivePolicy(value: string): RedrivePolicy {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw invalidValue('RedrivePolicy', 'Redrive policy is not a valid JSON map.');
  }
  const policy = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const target = policy.deadLetterTargetArn;
  const count = typeof policy.maxReceiveCount === 'string' ? Number(policy.maxReceiveCount) : policy.maxReceiveCount;
  if (typeof target !== 'string' || !target.startsWith('arn:aws:sqs:')) {
    throw invalidValue('RedrivePolicy', 'Dead-letter target ARN must be an SQS queue ARN.');
  }
  // maxReceiveCount: 1 to 1,000 (SQS dead-letter queue documentation).
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 1000) {
    throw invalidValue('RedrivePolicy', 'Value of maxReceiveCount must be an integer from 1 to 1000.');
  }
  return { deadLetterTargetArn: target, maxReceiveCount: count };
}

export function parseRedriveAllowPolicy(value: string): RedriveAllowPolicy {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw invalidValue('RedriveAllowPolicy', 'Redrive allow policy is not a valid JSON map.');
  }
  const policy = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const permission = policy.redrivePermission;
  const sources = policy.sourceQueueArns;
  if (permission !== 'allowAll' && permission !== 'denyAll' && permission !== 'byQueue') {
    throw invalidValue('RedriveAllowPolicy', 'redrivePermission must be allowAll, denyAll or byQueue.');
  }
  if (permission !== 'byQueue') {
    if (sources !== undefined) throw invalidValue('RedriveAllowPolicy', 'sourceQueueArns is only allowed with redrivePermission byQueue.');
    return { redrivePermission: permission };
  }
  // byQueue names 1 to 10 source queues (RedriveAllowPolicy, SetQueueAttributes API reference).
  if (!Array.isArray(sources) || sources.length < 1 || sources.length > 10 || !sources.every((arn) => typeof arn === 'string')) {
    throw invalidValue('RedriveAllowPolicy', 'byQueue needs sourceQueueArns: 1 to 10 queue ARNs.');
  }
  return { redrivePermission: permission, sourceQueueArns: sources as string[] };
}

/** Whether a DLQ's RedriveAllowPolicy (absent: allowAll) lets `sourceArn` use it. */
export function redriveAllowed(allowPolicy: string | undefined, sourceArn: string): boolean {
  if (allowPolicy === undefined) return true;
  const policy = parseRedriveAllowPolicy(allowPolicy);
  if (policy.redrivePermission === 'allowAll') return true;
  return policy.redrivePermission === 'byQueue' && (policy.sourceQueueArns ?? []).includes(sourceArn);
}
