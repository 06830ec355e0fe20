import { createHash } from 'node:crypto';
import { AwsServiceError } from './aws-json-server';

/**
 * What SQS checks of a message before it accepts it, and the digests it returns, so the SDK's
 * checksum validation passes and a message the stand-in accepts is one SQS accepts.
 */

/** A message attribute as the JSON protocol carries it (`BinaryValue` in base64). */
export interface MessageAttribute {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}
export type MessageAttributes = Record<string, MessageAttribute>;

/**
 * 1 MiB, body plus attribute names, types and values (SendMessage API reference, MessageBody:
 * "The maximum size is 1 MiB or 1,048,576 bytes"; raised from 256 KiB in 2025).
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
 */
export const MAX_MESSAGE_BYTES = 1_048_576;
/** Amazon SQS message quotas: "A message can contain up to 10 metadata attributes." */
const MAX_ATTRIBUTES = 10;
/**
 * Amazon SQS message quotas, "Message content": only #x9 | #xA | #xD | #x20 to #xD7FF |
 * #xE000 to #xFFFD | #x10000 to #x10FFFF. With the `u` flag a lone surrogate is one code point
 * (D800–DFFF), outside every allowed range.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
 */
const FORBIDDEN_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]{1,256}$/;
const DATA_TYPE = /^(String|Number|Binary)(\.[^\s]{1,250})?$/;
const NUMBER_VALUE = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

const ERROR_NAMESPACE = 'com.amazonaws.sqs#';
/**
 * The code (and status) real SQS puts in `x-amzn-query-error` for each error shape; the SDK names
 * the error it throws from that header (the service model's awsQueryError traits).
 */
const QUERY_ERRORS: Readonly<Record<string, readonly [string, number]>> = {
  QueueDoesNotExist: ['AWS.SimpleQueueService.NonExistentQueue', 400],
  QueueNameExists: ['QueueAlreadyExists', 400],
  OverLimit: ['OverLimit', 403],
  ReceiptHandleIsInvalid: ['ReceiptHandleIsInvalid', 404],
  MessageNotInflight: ['AWS.SimpleQueueService.MessageNotInflight', 400],
  BatchEntryIdsNotDistinct: ['AWS.SimpleQueueService.BatchEntryIdsNotDistinct', 400],
  BatchRequestTooLong: ['AWS.SimpleQueueService.BatchRequestTooLong', 400],
  EmptyBatchRequest: ['AWS.SimpleQueueService.EmptyBatchRequest', 400],
  InvalidBatchEntryId: ['AWS.SimpleQueueService.InvalidBatchEntryId', 400],
  TooManyEntriesInBatchRequest: ['AWS.SimpleQueueService.TooManyEntriesInBatchRequest', 400],
  UnsupportedOperation: ['AWS.SimpleQueueService.UnsupportedOperation', 400],
  ResourceNotFoundException: ['ResourceNotFoundException', 404],
};

/** An SQS error: `__type` in the service's namespace, status as SQS answers it. */
export function sqsError(name: string, message: string): AwsServiceError {
  return new AwsServiceError(`${ERROR_NAMESPACE}${name}`, message, QUERY_ERRORS[name]?.[1] ?? 400);
}

/** The `x-amzn-query-error` header of an error answer: `<code>;Sender`. */
export function queryErrorHeaders(error: AwsServiceError): Record<string, string> {
  const name = error.type.startsWith(ERROR_NAMESPACE) ? error.type.slice(ERROR_NAMESPACE.length) : error.type;
  const code = QUERY_ERRORS[name]?.[0] ?? name;
  return { 'x-amzn-query-error': `${code};${error.statusCode >= 500 ? 'Receiver' : 'Sender'}` };
}

export const invalidParameter = (message: string): AwsServiceError => sqsError('InvalidParameterValue', message);

export function checkCharacters(value: string): void {
  if (FORBIDDEN_CHARACTER.test(value)) {
    throw sqsError(
      'InvalidMessageContents',
      'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
    );
  }
}

export function md5Hex(value: string | Buffer): string {
  return createHash('md5').update(value).digest('hex');
}

/**
 * Checks a message's attributes as SQS does; returns their size in bytes (name, type and value
 * count towards the message size).
 */
export function checkAttributes(attributes: unknown, label: 'message' | 'message system'): number {
  if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes)) {
    throw invalidParameter(`The ${label} attributes must be a map.`);
  }
  const entries = Object.entries(attributes as Record<string, unknown>);
  if (entries.length > MAX_ATTRIBUTES) throw invalidParameter(`Number of ${label} attributes [${entries.length}] exceeds the allowed maximum [${MAX_ATTRIBUTES}].`);
  let size = 0;
  for (const [name, raw] of entries) {
    if (!ATTRIBUTE_NAME.test(name) || /^(aws\.|amazon\.)/i.test(name) || name.startsWith('.') || name.endsWith('.') || name.includes('..')) {
      throw invalidParameter(`Message (user) attribute name '${name}' is invalid.`);
    }
    const value = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<MessageAttribute>;
    const dataType = value.DataType;
    if (typeof dataType !== 'string' || !DATA_TYPE.test(dataType)) {
      throw invalidParameter(`The type of message (user) attribute '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`);
    }
    size += Buffer.byteLength(name) + Buffer.byteLength(dataType) + attributeValueBytes(name, dataType, value);
  }
  return size;
}

function attributeValueBytes(name: string, dataType: string, value: Partial<MessageAttribute>): number {
  if (dataType.startsWith('Binary')) {
    if (typeof value.BinaryValue !== 'string' || value.BinaryValue === '') {
      throw invalidParameter(`Message (user) attribute '${name}' must contain a non-empty value of type 'Binary'.`);
    }
    return Buffer.from(value.BinaryValue, 'base64').length;
  }
  if (typeof value.StringValue !== 'string' || value.StringValue === '') {
    throw invalidParameter(`Message (user) attribute '${name}' must contain a non-empty value of type '${dataType.split('.')[0]}'.`);
  }
  checkCharacters(value.StringValue);
  if (dataType.startsWith('Number') && !NUMBER_VALUE.test(value.StringValue)) {
    throw invalidParameter(`Can't cast the value of message (user) attribute '${name}' to a number.`);
  }
  return Buffer.byteLength(value.StringValue);
}

/**
 * MD5OfMessageAttributes as SQS computes it (SQS Developer Guide, "Calculating the MD5 message
 * digest for message attributes"): attributes sorted by name, each as length-prefixed (4-byte
 * big-endian) name, length-prefixed data type, a transport byte (1 string, 2 binary) and the
 * length-prefixed value.
 */
export function md5OfAttributes(attributes: MessageAttributes): string {
  const parts: Buffer[] = [];
  const prefixed = (bytes: Buffer): void => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  };
  for (const name of Object.keys(attributes).sort()) {
    const attribute = attributes[name]!;
    prefixed(Buffer.from(name, 'utf8'));
    prefixed(Buffer.from(attribute.DataType, 'utf8'));
    const binary = attribute.DataType.startsWith('Binary');
    parts.push(Buffer.from([binary ? 2 : 1]));
    prefixed(binary ? Buffer.from(attribute.BinaryValue ?? '', 'base64') : Buffer.from(attribute.StringValue ?? '', 'utf8'));
  }
  return md5Hex(Buffer.concat(parts));
}

/** Only the requested attributes: `All`, `.*` or a prefix ending in `.*` select several. */
export function selectAttributes(attributes: MessageAttributes | undefined, names: readonly string[]): MessageAttributes | undefined {
  if (attributes === undefined || names.length === 0) return undefined;
  const selected: MessageAttributes = {};
  for (const [name, value] of Object.entries(attributes)) {
    const wanted = names.some((pattern) =>
      pattern === 'All' || pattern === '.*' ? true : pattern.endsWith('.*') ? name.startsWith(pattern.slice(0, -1)) : pattern === name,
    );
    if (wanted) selected[name] = value;
  }
  return Object.keys(selected).length === 0 ? undefined : selected;
}
