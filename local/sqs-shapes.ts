import { randomUUID } from 'node:crypto';
import type { AwsJsonInput } from './aws-json-server';
import { optionalNumber } from './aws-input';
import { checkAttributes, checkCharacters, invalidParameter, md5Hex, md5OfAttributes, selectAttributes, sqsError, type MessageAttributes } from './sqs-message';
import type { StoredMessage } from './sqs-queue';

/** SQS request and response shapes of messages: SendMessage input in, ReceiveMessage entries and batch results out. */

/** "The length of MessageGroupId is 128 characters ... alphanumeric characters and punctuation" (message quotas). */
const MESSAGE_GROUP_ID = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/;
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;
const SENDER_ID = 'AIDALOCALSTANDIN00000';

/** A whole number in [min, max], or InvalidParameterValue in SQS's words. */
export function integerIn(input: AwsJsonInput, member: string, min: number, max: number, reason: string): number | undefined {
  const value = optionalNumber(input, member);
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidParameter(`Value ${value} for parameter ${member} is invalid. Reason: ${reason}`);
  }
  return value;
}

/**
 * A SendMessage (or batch entry) checked as SQS checks it, as a message sent at `now` (the caller
 * places it in its queue), with its delay if the request sets one.
 */
export function messageFromInput(input: AwsJsonInput, maxSize: number, now: number): { message: StoredMessage; delaySeconds: number | undefined } {
  const body = input.MessageBody;
  if (typeof body !== 'string' || body === '') throw sqsError('MissingParameter', 'The request must contain the parameter MessageBody.');
  checkCharacters(body);
  // DelaySeconds 0 to 900 per message (SendMessage API reference; "Delay queue" in the standard queue quotas).
  const delaySeconds = integerIn(input, 'DelaySeconds', 0, 900, 'DelaySeconds must be >= 0 and <= 900.');
  let size = Buffer.byteLength(body);
  const attributes = (input.MessageAttributes ?? undefined) as MessageAttributes | undefined;
  if (attributes !== undefined) size += checkAttributes(attributes, 'message');
  const system = (input.MessageSystemAttributes ?? undefined) as MessageAttributes | undefined;
  if (system !== undefined) {
    checkAttributes(system, 'message system');
    if (Object.keys(system).some((name) => name !== 'AWSTraceHeader')) throw invalidParameter('Only the AWSTraceHeader message system attribute can be set.');
  }
  if (size > maxSize) throw invalidParameter(`One or more parameters are invalid. Reason: Message must be shorter than ${maxSize} bytes.`);
  const groupId = input.MessageGroupId;
  if (groupId !== undefined && (typeof groupId !== 'string' || !MESSAGE_GROUP_ID.test(groupId))) {
    throw invalidParameter('MessageGroupId can be up to 128 alphanumeric or punctuation characters.');
  }
  if (input.MessageDeduplicationId !== undefined) {
    throw invalidParameter('The request include parameter that is not valid for this queue type. Reason: MessageDeduplicationId is for FIFO queues.');
  }
  const traceHeader = system?.AWSTraceHeader?.StringValue;
  const message: StoredMessage = {
    id: randomUUID(),
    seq: 0,
    body,
    md5OfBody: md5Hex(body),
    ...(attributes !== undefined && Object.keys(attributes).length > 0 ? { attributes, md5OfAttributes: md5OfAttributes(attributes) } : {}),
    ...(traceHeader === undefined ? {} : { traceHeader, md5OfSystemAttributes: md5OfAttributes(system!) }),
    ...(typeof groupId === 'string' ? { groupId } : {}),
    senderId: SENDER_ID,
    sentAt: now,
    expiresAt: 0,
    receiveCount: 0,
    state: 'visible',
    visibleAt: 0,
  };
  return { message, delaySeconds };
}

/** What SendMessage answers for a message. */
export function sendResult(message: StoredMessage): Record<string, string> {
  return {
    MessageId: message.id,
    MD5OfMessageBody: message.md5OfBody,
    ...(message.md5OfAttributes === undefined ? {} : { MD5OfMessageAttributes: message.md5OfAttributes }),
    ...(message.md5OfSystemAttributes === undefined ? {} : { MD5OfMessageSystemAttributes: message.md5OfSystemAttributes }),
  };
}

/** A received message as ReceiveMessage returns it, with the system and message attributes asked for. */
export function receivedMessage(message: StoredMessage, systemNames: readonly string[], attributeNames: readonly string[]): unknown {
  const wanted = (name: string): boolean => systemNames.includes('All') || systemNames.includes(name);
  const system: Record<string, string | undefined> = {
    SenderId: message.senderId,
    SentTimestamp: String(message.sentAt),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt),
    MessageGroupId: message.groupId,
    DeadLetterQueueSourceArn: message.deadLetterSourceArn,
    AWSTraceHeader: message.traceHeader,
  };
  const attributes = Object.fromEntries(Object.entries(system).filter(([name, value]) => value !== undefined && wanted(name)));
  const messageAttributes = selectAttributes(message.attributes, attributeNames);
  return {
    MessageId: message.id,
    ReceiptHandle: message.receipt,
    MD5OfBody: message.md5OfBody,
    Body: message.body,
    ...(Object.keys(attributes).length === 0 ? {} : { Attributes: attributes }),
    ...(messageAttributes === undefined
      ? {}
      : {
          MessageAttributes: messageAttributes,
          // The digest of the attributes returned; all of them (the common case) is the stored one.
          MD5OfMessageAttributes:
            Object.keys(messageAttributes).length === Object.keys(message.attributes ?? {}).length ? message.md5OfAttributes : md5OfAttributes(messageAttributes),
        }),
  };
}

export function batchEntries(input: AwsJsonInput): AwsJsonInput[] {
  const entries = input.Entries;
  if (!Array.isArray(entries) || entries.length === 0) throw sqsError('EmptyBatchRequest', 'There should be at least one SendMessageBatchRequestEntry in the request.');
  // "A single message batch request can include a maximum of 10 messages" (message quotas).
  if (entries.length > 10) throw sqsError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are 10. You have sent ${entries.length}.`);
  const ids = new Set<string>();
  for (const entry of entries as AwsJsonInput[]) {
    const id = entry?.Id;
    if (typeof id !== 'string' || !BATCH_ENTRY_ID.test(id)) {
      throw sqsError('InvalidBatchEntryId', 'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.');
    }
    if (ids.has(id)) throw sqsError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`);
    ids.add(id);
  }
  return entries as AwsJsonInput[];
}

type Outcome = { Id: string } | { Id: string; SenderFault: true; Code: string; Message: string };

/** Runs each entry on its own: a refused entry is reported in `Failed`, the others go ahead. */
export function batchResults(entries: AwsJsonInput[], run: (entry: AwsJsonInput) => { Id: string }): { Successful: unknown[]; Failed: unknown[] } {
  const outcomes: Outcome[] = entries.map((entry) => {
    try {
      return run(entry);
    } catch (error) {
      if (!(error instanceof Error) || !('type' in error)) throw error;
      const code = String(error.type).replace(/^.*#/, '');
      return { Id: entry.Id as string, SenderFault: true, Code: code, Message: error.message };
    }
  });
  return { Successful: outcomes.filter((outcome) => !('Code' in outcome)), Failed: outcomes.filter((outcome) => 'Code' in outcome) };
}
