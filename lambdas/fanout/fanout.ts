import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchItemFailure, SQSRecord } from 'aws-lambda';
import { subscriptionMatches } from '../core/catalog';
import { PermanentError } from '../core/errors';
import { deliveryMessage } from '../core/delivery-message';
import { deliveryIdFor } from '../core/ids';
import type { DeliveryMessage, EventRecord, ReplayJobMessage } from '../core/records';
import type { DeploymentSettings } from '../core/settings';
import { eventRecord } from '../core/event-record';
import type { EventsStorePort } from '../shared/events-store';
import type { runReplay } from '../shared/replay';
import { QueueOutbox, QueueSendError } from '../shared/queue-sender';
import { withKeys, type RecordLogger } from '../shared/observability';
import { processSqsBatch, type SqsHandler } from '../shared/sqs-batch';
import type { SubscriptionsStorePort } from '../shared/subscriptions-store';
import { parseEventsQueueMessage, type IncomingEvent } from './messages';
import { METRICS } from '../core/metrics';

/** The events store as the fan-out uses it: store once, mark fanned out, and read by time for replay jobs. */
export type FanoutEvents = Pick<EventsStorePort, 'putIfAbsent' | 'markFannedOut' | 'listByTime'>;

export interface FanoutDeps {
  events: FanoutEvents;
  subscriptions: FanoutSubscriptions;
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

/** The subscriptions store as the fan-out uses it: walk a fleet's subscriptions; a replay continuation reads one. */
export type FanoutSubscriptions = Pick<SubscriptionsStorePort, 'pages' | 'get'>;

/** SendMessageBatch calls in flight at once by default. */
export const DEFAULT_SEND_CONCURRENCY = 10;

/** An event whose delivery messages are in the invocation's outbox, waiting to be marked fanned out. */
interface PreparedFanout {
  event: EventRecord;
  matched: number;
  storedBefore: boolean;
  logger: RecordLogger;
}

/**
 * Events queue → deliveries queue. Each record stores its event once and adds one delivery message
 * per matching subscription to an outbox the whole invocation shares, so the messages of all its
 * records are packed ten to a SendMessageBatch call (at fan-out 1, one call for ten events instead
 * of ten). Once the outbox is flushed, each record all of whose messages were sent is marked fanned
 * out; a record with a message SQS still refused is reported failed on its own and runs again.
 * Everything before the mark is safe to repeat: delivery ids are deterministic, so a re-run sends
 * the same ids again, and the dispatcher's claim refuses a repeat of the same round.
 */
export function createFanout(deps: FanoutDeps): SqsHandler {
  const now = deps.now ?? (() => new Date());
  const replayPages = deps.replayPagesPerRecord ?? 10;

  async function prepare(
    incoming: IncomingEvent,
    outbox: QueueOutbox<string>,
    tag: string,
    logger: RecordLogger,
  ): Promise<PreparedFanout | undefined> {
    const record = eventRecord({ fleetId: incoming.fleetId, source: incoming.source, ...incoming.event }, now(), deps.settings);
    const stored = await deps.events.putIfAbsent(record);
    if (!stored.created && stored.event.fannedOutAt !== undefined) {
      logger.info('event already fanned out; nothing to do', { fannedOutAt: stored.event.fannedOutAt });
      return undefined;
    }
    // A repeat uses the stored copy, so every run builds byte-identical messages for the same event.
    const event = stored.event;
    const deliveryEvent = { id: event.id, type: event.type, timestamp: event.timestamp, data: event.data };
    let matched = 0;
    for await (const page of deps.subscriptions.pages(event.fleetId, deps.subscriptionPageSize)) {
      for (const subscription of page) {
        if (!subscriptionMatches(subscription, event.type)) continue;
        const message: DeliveryMessage = deliveryMessage({
          deliveryId: deliveryIdFor(event.fleetId, event.id, subscription.id, event.timestamp),
          fleetId: event.fleetId,
          subscriptionId: subscription.id,
          event: deliveryEvent,
          reason: 'fanout',
        });
        // The fleet is the tenant of the deliveries queue's fair queueing.
        await outbox.add(tag, message, event.fleetId);
        matched += 1;
      }
    }
    return { event, matched, storedBefore: !stored.created, logger };
  }

  async function finish(prepared: PreparedFanout): Promise<void> {
    const { event, matched, logger } = prepared;
    await deps.events.markFannedOut(event.fleetId, event.id, now().toISOString(), event.expiresAt);
    deps.metrics.addMetric(METRICS.eventsFannedOut, MetricUnit.Count, 1);
    deps.metrics.addMetric(METRICS.deliveriesEnqueued, MetricUnit.Count, matched);
    logger.info('event fanned out', { eventType: event.type, deliveries: matched, storedBefore: prepared.storedBefore });
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

  async function handleRecord(record: SQSRecord, outbox: QueueOutbox<string>, prepared: Map<string, PreparedFanout>): Promise<void> {
    let keys: Record<string, string> = { messageId: record.messageId };
    try {
      const message = parseEventsQueueMessage(record.body, deps.settings);
      if (message.kind === 'replay') {
        keys = { ...keys, fleetId: message.job.fleetId, subscriptionId: message.job.subscriptionId };
        await continueReplay(message.job, withKeys(deps.logger, keys));
      } else {
        keys = { ...keys, fleetId: message.incoming.fleetId, eventId: message.incoming.event.id };
        const ready = await prepare(message.incoming, outbox, record.messageId, withKeys(deps.logger, keys));
        if (ready !== undefined) prepared.set(record.messageId, ready);
      }
    } catch (error) {
      const logger = withKeys(deps.logger, keys);
      if (error instanceof PermanentError) {
        deps.metrics.addMetric(METRICS.eventsRejected, MetricUnit.Count, 1);
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

  /** After the flush: marks each record whose messages all went out; the others fail on their own. */
  async function settle(outbox: QueueOutbox<string>, prepared: Map<string, PreparedFanout>): Promise<SQSBatchItemFailure[]> {
    const failures: SQSBatchItemFailure[] = [];
    await Promise.all(
      [...prepared].map(async ([messageId, ready]) => {
        try {
          if (outbox.hasFailed(messageId)) throw new QueueSendError(1, [...outbox.failureReasons()]);
          await finish(ready);
        } catch (error) {
          ready.logger.warn('events-queue message failed; it will be retried', { error });
          failures.push({ itemIdentifier: messageId });
        }
      }),
    );
    return failures;
  }

  return async (event, context) => {
    const outbox = new QueueOutbox<string>(deps.sqs, deps.deliveriesQueueUrl, { concurrency: deps.sendConcurrency ?? DEFAULT_SEND_CONCURRENCY });
    const prepared = new Map<string, PreparedFanout>();
    const first = await processSqsBatch({ sqs: deps.sqs, queueUrl: deps.eventsQueueUrl, logger: deps.logger }, event, context, (record) =>
      handleRecord(record, outbox, prepared),
    );
    await outbox.flush();
    const failures = await settle(outbox, prepared);
    if (outbox.calls > 0) deps.logger.debug('delivery messages sent', { sendCalls: outbox.calls, records: event.Records.length });
    return { batchItemFailures: [...first.batchItemFailures, ...failures] };
  };
}
