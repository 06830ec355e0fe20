import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { AwsServiceError, createAwsJsonServer, type AwsJsonInput } from './aws-json-server';
import { optionalNumber, optionalObjectList, optionalString, optionalStringList } from './aws-input';
import { encodeQueueBody, escapeForQueue } from '../lambdas/core/queue-encoding';
import { closeServer, listenOnLoopback } from './listen';
import { defaultLogger, describeError, type LocalLogger } from './logger';
import { LOCAL_ACCOUNT_ID } from './account';

export interface EventBridgeStandInOptions {
  region: string;
  /** Name of the Hookline bus; `default` exists too, with no rules. */
  busName: string;
  /** settings.eventSource: the rule pattern `{source: [eventSource]}`. */
  eventSource: string;
  /** The rule's target: the events queue. */
  sqs: SQSClient;
  targetQueueUrl: string;
  logger?: LocalLogger;
}

export interface EventBridgeStandIn {
  /** `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_EVENTBRIDGE`. */
  readonly endpoint: string;
  readonly busArn: string;
  /**
   * The latest events accepted on the Hookline bus that no rule routes (operator events among
   * them), newest last — what an operator's own rule would see; kept for inspection, at most 1,000.
   */
  unrouted(): readonly EventBridgeEvent[];
  close(): Promise<void>;
}

/** EventBridge's limits: 10 entries per PutEvents, 256 KB per entry (sized as AWS documents). */
const MAX_ENTRIES = 10;
const MAX_ENTRY_BYTES = 262_144;
const MAX_BODY_BYTES = 4 * 1_048_576;
const DEFAULT_BUS = 'default';
const MAX_UNROUTED = 1_000;

/** The event EventBridge hands an SQS target, as its message body. */
export interface EventBridgeEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

interface EntryError {
  ErrorCode: string;
  ErrorMessage: string;
}
type ResultEntry = { EventId: string } | EntryError;

/**
 * EventBridge's PutEvents on the AWS JSON 1.1 protocol with the one rule Hookline deploys: events
 * of the deployment's source on the Hookline bus go to the events queue. Accepted events that match
 * no rule are dropped, as on AWS. The put to the queue happens before the response, so an entry
 * reported accepted is already on the queue; one the queue refused comes back as InternalFailure,
 * which a producer retries.
 */
export async function startEventBridge(options: EventBridgeStandInOptions): Promise<EventBridgeStandIn> {
  const busArn = `arn:aws:events:${options.region}:${LOCAL_ACCOUNT_ID}:event-bus/${options.busName}`;
  const logger = options.logger ?? defaultLogger;
  const unrouted: EventBridgeEvent[] = [];

  const putEvents = async (input: AwsJsonInput): Promise<unknown> => {
    const entries = optionalObjectList(input, 'Entries');
    if (entries === undefined || entries.length < 1 || entries.length > MAX_ENTRIES) {
      throw new AwsServiceError(
        'ValidationException',
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and ${MAX_ENTRIES}`,
      );
    }
    const at = Date.now();
    const knownBuses = new Set([DEFAULT_BUS, options.busName]);
    const results: ResultEntry[] = [];
    const routed: { index: number; event: EventBridgeEvent }[] = [];
    entries.forEach((entry, index) => {
      const accepted = acceptEntry(entry, at, options.region, knownBuses);
      if ('ErrorCode' in accepted) {
        results.push(accepted);
        return;
      }
      results.push({ EventId: accepted.event.id });
      if (accepted.busName === options.busName && accepted.event.source === options.eventSource) {
        routed.push({ index, event: accepted.event });
      } else if (accepted.busName === options.busName) {
        unrouted.push(accepted.event);
        if (unrouted.length > MAX_UNROUTED) unrouted.shift();
      }
    });
    for (const index of await deliver(options, routed, logger)) {
      results[index] = { ErrorCode: 'InternalFailure', ErrorMessage: 'The event could not be put on its target; retry it.' };
    }
    return { FailedEntryCount: results.filter((result) => 'ErrorCode' in result).length, Entries: results };
  };

  const server: Server = createAwsJsonServer({
    targetPrefix: 'AWSEvents',
    maxBodyBytes: MAX_BODY_BYTES,
    logger,
    operations: { PutEvents: putEvents },
  });
  const endpoint = await listenOnLoopback(server);
  return { endpoint, busArn, unrouted: () => [...unrouted], close: () => closeServer(server) };
}

function acceptEntry(
  entry: AwsJsonInput,
  at: number,
  region: string,
  knownBuses: ReadonlySet<string>,
): { event: EventBridgeEvent; busName: string } | EntryError {
  let fields: ReturnType<typeof readEntry>;
  try {
    fields = readEntry(entry);
  } catch (error) {
    return { ErrorCode: 'InvalidArgument', ErrorMessage: error instanceof Error ? error.message : String(error) };
  }
  const { source, detailType, detail: detailText, resources, time } = fields;
  if (source === undefined || source === '') return missing('Source');
  if (detailType === undefined || detailType === '') return missing('DetailType');
  if (detailText === undefined || detailText === '') return missing('Detail');
  const busName = busNameOf(fields.busName ?? DEFAULT_BUS);
  if (!knownBuses.has(busName)) return { ErrorCode: 'InvalidArgument', ErrorMessage: `Event bus ${busName} does not exist.` };
  if (entrySize(source, detailType, detailText, resources, time) > MAX_ENTRY_BYTES) {
    return { ErrorCode: 'InvalidArgument', ErrorMessage: `Entry size exceeds the ${MAX_ENTRY_BYTES / 1024} KB limit.` };
  }
  const detail = parseDetail(detailText);
  if (detail === undefined) return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  const event: EventBridgeEvent = {
    version: '0',
    id: randomUUID(),
    'detail-type': detailType,
    source,
    account: LOCAL_ACCOUNT_ID,
    // EventBridge writes event times to the second.
    time: new Date(time === undefined ? at : time * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources,
    detail,
  };
  DETAIL_TEXT.set(event, detailText);
  return { busName, event };
}

function readEntry(entry: AwsJsonInput) {
  return {
    source: optionalString(entry, 'Source'),
    detailType: optionalString(entry, 'DetailType'),
    detail: optionalString(entry, 'Detail'),
    resources: optionalStringList(entry, 'Resources') ?? [],
    time: optionalNumber(entry, 'Time'),
    busName: optionalString(entry, 'EventBusName'),
  };
}

function missing(member: string): EntryError {
  return { ErrorCode: 'InvalidArgument', ErrorMessage: `Parameter ${member} is not valid. Reason: ${member} is a required argument.` };
}

/** AWS's documented entry size: 14 bytes for Time, UTF-8 bytes of the rest. */
function entrySize(source: string, detailType: string, detail: string, resources: string[], time: number | undefined): number {
  let size = time === undefined ? 0 : 14;
  for (const part of [source, detailType, detail, ...resources]) size += Buffer.byteLength(part, 'utf8');
  return size;
}

function parseDetail(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** EventBusName may be a name or an ARN. */
function busNameOf(nameOrArn: string): string {
  return nameOrArn.startsWith('arn:') ? nameOrArn.slice(nameOrArn.lastIndexOf('/') + 1) : nameOrArn;
}

/** The producer's Detail text of each accepted event. */
const DETAIL_TEXT = new WeakMap<EventBridgeEvent, string>();

/**
 * The queue message of an event: `detail` is the producer's own JSON text rather than a
 * re-serialisation, so the fan-out judges the numbers the producer wrote (a re-serialised
 * 1e400 would already be null). Escaped like Hookline's own messages, so any SQS stand-in takes it.
 */
function messageBody(event: EventBridgeEvent): string {
  const detailText = DETAIL_TEXT.get(event);
  if (detailText === undefined) return encodeQueueBody(event);
  const { detail: _detail, ...envelope } = event;
  return escapeForQueue(`${JSON.stringify(envelope).slice(0, -1)},"detail":${detailText.trim()}}`);
}

/** Puts the routed events on the queue; returns the request indexes that could not be put. */
async function deliver(
  options: EventBridgeStandInOptions,
  routed: readonly { index: number; event: EventBridgeEvent }[],
  logger: LocalLogger,
): Promise<number[]> {
  if (routed.length === 0) return [];
  try {
    const result = await options.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: options.targetQueueUrl,
        // Escaped like Hookline's own messages, so an event any SQS implementation would take arrives as sent.
        Entries: routed.map(({ index, event }) => ({ Id: String(index), MessageBody: messageBody(event) })),
      }),
    );
    const failed = (result.Failed ?? []).map((entry) => Number(entry.Id));
    if (failed.length > 0) logger.warn(`EventBridge stand-in: the events queue refused ${failed.length} event(s)`);
    return failed;
  } catch (error) {
    logger.error(`EventBridge stand-in could not reach the events queue: ${describeError(error)}`);
    return routed.map(({ index }) => index);
  }
}
