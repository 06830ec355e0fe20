import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { subscriptionMatches } from '../core/catalog';
import { PermanentError } from '../core/errors';
import { deliveryMessage } from '../core/delivery-message';
import { deliveryIdFor } from '../core/ids';
import type { DeliveryMessage, ReplayJobMessage } from '../core/records';
import type { DeploymentSettings } from '../core/settings';
import { eventRecord } from '../core/event-record';
import type { EventsStorePort } from '../shared/events-store';
import type { runReplay } from '../shared/replay';
import { sendJsonBatch } from '../shared/queue-sender';
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

/**
 * Events queue → deliveries queue. Each record stores its event once, then sends one delivery
 * message per matching subscription and marks the event fanned out. Everything before that mark
 * is safe to repeat: delivery ids are deterministic, so a re-run sends the same ids again.
 */
export function createFanout(deps: FanoutDeps): SqsHandler {
  const now = deps.now ?? (() => new Date());
  const replayPages = deps.replayPagesPerRecord ?? 10;

  async function fanOut(incoming: IncomingEvent, logger: RecordLogger): Promise<void> {
    const at = now();
    const record = eventRecord({ fleetId: incoming.fleetId, source: incoming.source, ...incoming.event }, at, deps.settings);
    const stored = await deps.events.putIfAbsent(record);
    if (!stored.created && stored.event.fannedOutAt !== undefined) {
      logger.info('event already fanned out; nothing to do', { fannedOutAt: stored.event.fannedOutAt });
      return;
    }
    // A repeat uses the stored copy, so every run builds byte-identical messages for the same event.
    const event = stored.event;
    const deliveryEvent = { id: event.id, type: event.type, timestamp: event.timestamp, data: event.data };
    let matched = 0;
    let calls = 0;
    for await (const page of deps.subscriptions.pages(event.fleetId, deps.subscriptionPageSize)) {
      const messages: DeliveryMessage[] = page
        .filter((subscription) => subscriptionMatches(subscription, event.type))
        .map((subscription) =>
          deliveryMessage({
            deliveryId: deliveryIdFor(event.fleetId, event.id, subscription.id, event.timestamp),
            fleetId: event.fleetId,
            subscriptionId: subscription.id,
            event: deliveryEvent,
            reason: 'fanout',
          }),
        );
      matched += messages.length;
      const sent = await sendJsonBatch(deps.sqs, deps.deliveriesQueueUrl, messages, {
        concurrency: deps.sendConcurrency ?? DEFAULT_SEND_CONCURRENCY,
        // The fleet is the tenant of the deliveries queue's fair queueing.
        messageGroupId: event.fleetId,
      });
      calls += sent.calls;
    }
    await deps.events.markFannedOut(event.fleetId, event.id, now().toISOString());
    deps.metrics.addMetric(METRICS.eventsFannedOut, MetricUnit.Count, 1);
    deps.metrics.addMetric(METRICS.deliveriesEnqueued, MetricUnit.Count, matched);
    logger.info('event fanned out', { eventType: event.type, deliveries: matched, sendCalls: calls, storedBefore: !stored.created });
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

  async function handleRecord(record: SQSRecord): Promise<void> {
    let keys: Record<string, string> = { messageId: record.messageId };
    try {
      const message = parseEventsQueueMessage(record.body, deps.settings);
      if (message.kind === 'replay') {
        keys = { ...keys, fleetId: message.job.fleetId, subscriptionId: message.job.subscriptionId };
        await continueReplay(message.job, withKeys(deps.logger, keys));
      } else {
        keys = { ...keys, fleetId: message.incoming.fleetId, eventId: message.incoming.event.id };
        await fanOut(message.incoming, withKeys(deps.logger, keys));
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

  return (event, context) =>
    processSqsBatch({ sqs: deps.sqs, queueUrl: deps.eventsQueueUrl, logger: deps.logger }, event, context, handleRecord);
}
