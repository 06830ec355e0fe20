import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { subscriptionMatches } from '../core/catalog';
import { PermanentError } from '../core/errors';
import { deliveryIdFor } from '../core/ids';
import type { DeliveryMessage, EventRecord, ReplayJobMessage } from '../core/records';
import type { DeploymentSettings } from '../core/settings';
import type { EventsStore } from '../shared/events-store';
import type { runReplay } from '../shared/replay';
import { chunkForBatches, sendJsonBatch, SQS_BATCH_SIZE } from '../shared/queue-sender';
import { withKeys, type RecordLogger } from '../shared/observability';
import { processSqsBatch, type SqsHandler } from '../shared/sqs-batch';
import type { SubscriptionsStore } from '../shared/subscriptions-store';
import { parseEventsQueueMessage, type EventsQueueMessage, type IncomingEvent } from './messages';

export interface FanoutDeps {
  events: EventsStore;
  subscriptions: SubscriptionsStore;
  sqs: SQSClient;
  eventsQueueUrl: string;
  deliveriesQueueUrl: string;
  settings: DeploymentSettings;
  logger: Logger;
  metrics: Metrics;
  replay: typeof runReplay;
  now?: () => Date;
  /** Replay pages one record works through before it hands the rest on as a new replay job. */
  replayPagesPerRecord?: number;
  subscriptionPageSize?: number;
  /** SendMessageBatch calls in flight at once. */
  sendConcurrency?: number;
}

const SECONDS_PER_DAY = 86_400;

/** SendMessageBatch calls in flight at once by default. */
export const DEFAULT_SEND_CONCURRENCY = 10;

/** An event record's work after its full batches went out: the tail to pool, then the event to store. */
interface Prepared {
  event: EventRecord;
  /** Messages left after full batches of 10: sent pooled with other events' tails. */
  tail: DeliveryMessage[];
  matched: number;
  calls: number;
}

/**
 * Events queue → deliveries queue. Each event record gets one delivery message per matching
 * subscription; the event is stored once they are all sent, so a stored event is a fanned-out one
 * and a repeat (SQS duplicate, republished id) finds it and does nothing. Everything before the
 * store is safe to repeat: delivery ids are deterministic, so a re-run sends the same ids again.
 *
 * Messages go out in full batches of 10 per event as subscriptions are paged; what is left of each
 * event (fewer than 10) is pooled across the invocation's events, so ten events to one subscription
 * each cost one SendMessageBatch, not ten.
 */
export function createFanout(deps: FanoutDeps): SqsHandler {
  const now = deps.now ?? (() => new Date());
  const replayPages = deps.replayPagesPerRecord ?? 10;
  const sendOptions = () => ({ concurrency: deps.sendConcurrency ?? DEFAULT_SEND_CONCURRENCY });

  /** Sends full batches; returns the event and its tail, or undefined when it was fanned out before. */
  async function prepare(incoming: IncomingEvent, logger: RecordLogger): Promise<Prepared | undefined> {
    const existing = await deps.events.get(incoming.fleetId, incoming.event.id);
    if (existing !== undefined) {
      logger.info('event already fanned out; nothing to do', { storedAt: existing.timestamp });
      return undefined;
    }
    const at = now();
    const event: EventRecord = {
      fleetId: incoming.fleetId,
      id: incoming.event.id,
      type: incoming.event.type,
      timestamp: incoming.event.timestamp,
      data: incoming.event.data,
      source: incoming.source,
      expiresAt: Math.floor(at.getTime() / 1000) + deps.settings.eventRetentionDays * SECONDS_PER_DAY,
    };
    const deliveryEvent = { id: event.id, type: event.type, timestamp: event.timestamp, data: event.data };
    const prepared: Prepared = { event, tail: [], matched: 0, calls: 0 };
    for await (const page of deps.subscriptions.pages(event.fleetId, deps.subscriptionPageSize)) {
      const messages: DeliveryMessage[] = page
        .filter((subscription) => subscriptionMatches(subscription, event.type))
        .map((subscription) => ({
          v: 1,
          deliveryId: deliveryIdFor(event.fleetId, event.id, subscription.id, event.timestamp),
          fleetId: event.fleetId,
          subscriptionId: subscription.id,
          event: deliveryEvent,
          reason: 'fanout',
        }));
      prepared.matched += messages.length;
      prepared.tail.push(...messages);
      const full = prepared.tail.length - (prepared.tail.length % SQS_BATCH_SIZE);
      if (full > 0) {
        const sent = await sendJsonBatch(deps.sqs, deps.deliveriesQueueUrl, prepared.tail.splice(0, full), sendOptions());
        prepared.calls += sent.calls;
      }
    }
    return prepared;
  }

  /** Stores the event once every message of it is sent. */
  async function finish(prepared: Prepared, logger: RecordLogger): Promise<void> {
    const { event } = prepared;
    const stored = await deps.events.putIfAbsent(event);
    deps.metrics.addMetric('eventsFannedOut', MetricUnit.Count, 1);
    deps.metrics.addMetric('deliveriesEnqueued', MetricUnit.Count, prepared.matched);
    logger.info('event fanned out', {
      eventType: event.type,
      deliveries: prepared.matched,
      sendCalls: prepared.calls,
      // Another run of the same event finished first: its messages carry the same delivery ids.
      storedBefore: !stored.created,
    });
  }

  async function continueReplay(job: ReplayJobMessage, logger: RecordLogger): Promise<void> {
    const result = await deps.replay(
      {
        events: deps.events,
        subscriptions: deps.subscriptions,
        sqs: deps.sqs,
        deliveriesQueueUrl: deps.deliveriesQueueUrl,
        eventsQueueUrl: deps.eventsQueueUrl,
      },
      job,
      { maxPages: replayPages },
    );
    logger.info('replay job continued', { ...result });
  }

  type Outcome = { kind: 'replay'; job: ReplayJobMessage } | { kind: 'event'; prepared: Prepared | undefined };

  /** Parses a record and does its work up to the pooled tail; its errors surface in handleRecord. */
  async function start(record: SQSRecord, keys: Map<string, Record<string, string>>): Promise<Outcome> {
    const message = parseEventsQueueMessage(record.body, deps.settings);
    const recordKeys = keysOf(record, message);
    keys.set(record.messageId, recordKeys);
    if (message.kind === 'replay') return { kind: 'replay', job: message.job };
    return { kind: 'event', prepared: await prepare(message.incoming, withKeys(deps.logger, recordKeys)) };
  }

  async function handleRecord(record: SQSRecord, keys: Record<string, string>, outcome: Promise<Outcome>, tailError: unknown): Promise<void> {
    try {
      const done = await outcome;
      if (tailError !== undefined) throw tailError;
      if (done.kind === 'replay') await continueReplay(done.job, withKeys(deps.logger, keys));
      else if (done.prepared !== undefined) await finish(done.prepared, withKeys(deps.logger, keys));
    } catch (error) {
      const logger = withKeys(deps.logger, keys);
      if (error instanceof PermanentError) {
        deps.metrics.addMetric('eventsRejected', MetricUnit.Count, 1);
        logger.error('events-queue message set aside for the DLQ', {
          reason: error.message,
          receiveCount: record.attributes.ApproximateReceiveCount,
        });
      } else {
        logger.warn('events-queue message failed; it will be retried', { error });
      }
      throw error;
    }
  }

  /**
   * Sends every prepared event's tail, pooled in batches of up to 10 across events. A batch that
   * fails fails each record with a message in it (they run again; the ids are the same). Returns
   * those records' errors by message id.
   */
  async function sendTails(outcomes: ReadonlyMap<string, Promise<Outcome>>): Promise<Map<string, unknown>> {
    const entries: { messageId: string; message: DeliveryMessage }[] = [];
    for (const [messageId, outcome] of outcomes) {
      const done = await outcome.catch(() => undefined);
      if (done?.kind === 'event' && done.prepared !== undefined) {
        for (const message of done.prepared.tail) entries.push({ messageId, message });
      }
    }
    const failures = new Map<string, unknown>();
    let offset = 0;
    const batches = chunkForBatches(entries.map((entry) => JSON.stringify(entry.message))).map((chunk) => {
      offset += chunk.length;
      return entries.slice(offset - chunk.length, offset);
    });
    await Promise.all(
      batches.map((batch) =>
        sendJsonBatch(deps.sqs, deps.deliveriesQueueUrl, batch.map((entry) => entry.message), { concurrency: 1 }).catch((error: unknown) => {
          for (const entry of batch) failures.set(entry.messageId, error);
        }),
      ),
    );
    return failures;
  }

  return async (event, context) => {
    const keys = new Map<string, Record<string, string>>();
    const outcomes = new Map(event.Records.map((record) => [record.messageId, start(record, keys)] as const));
    // Every record's own work settles first, so one failure does not hold back the others' tails.
    await Promise.allSettled(outcomes.values());
    const tailErrors = await sendTails(outcomes);
    return processSqsBatch({ sqs: deps.sqs, queueUrl: deps.eventsQueueUrl, logger: deps.logger }, event, context, (record) =>
      handleRecord(
        record,
        keys.get(record.messageId) ?? { messageId: record.messageId },
        outcomes.get(record.messageId) ?? start(record, keys),
        tailErrors.get(record.messageId),
      ),
    );
  };
}

function keysOf(record: SQSRecord, message: EventsQueueMessage): Record<string, string> {
  return message.kind === 'replay'
    ? { messageId: record.messageId, fleetId: message.job.fleetId, subscriptionId: message.job.subscriptionId }
    : { messageId: record.messageId, fleetId: message.incoming.fleetId, eventId: message.incoming.event.id };
}
