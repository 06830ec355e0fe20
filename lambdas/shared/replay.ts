import type { SQSClient } from '@aws-sdk/client-sqs';
import { ulid } from 'ulid';
import { subscriptionMatches } from '../core/catalog';
import { deliveryMessage } from '../core/delivery-message';
import { deliveryIdFor } from '../core/ids';
import type { DeliveryMessage, EventRecord, ReplayJobMessage, SubscriptionRecord } from '../core/records';
import type { Page } from './cursor';
import { sendJson, sendJsonBatch } from './queue-sender';

export interface ReplayDeps {
  events: { listByTime(fleetId: string, range: { since: string; until: string }, options: { limit: number; cursor?: string }): Promise<Page<EventRecord>> };
  subscriptions: { get(fleetId: string, id: string, consistent?: boolean): Promise<SubscriptionRecord | undefined> };
  sqs: SQSClient;
  deliveriesQueueUrl: string;
  eventsQueueUrl: string;
}

export interface ReplayOptions {
  /** By-time index pages handled in this call; the rest continues through the events queue. */
  maxPages: number;
  pageSize?: number;
}

export interface ReplayProgress {
  /** Delivery messages sent by this call. */
  enqueued: number;
  /** True when a ReplayJobMessage carries the rest of the range to the fan-out. */
  continued: boolean;
}

export const DEFAULT_REPLAY_PAGE_SIZE = 100;

/**
 * Re-delivers a fleet's stored events of a time range to one subscription. Delivery ids come from
 * deliveryIdFor, so an event already delivered keeps its original `webhook-id`. The subscription is
 * read fresh: a filter or an `enabled` flag changed since the events were published applies now.
 * A range larger than `maxPages` pages is never truncated: the remainder is sent to the events
 * queue as a ReplayJobMessage with the cursor, and the fan-out calls this again.
 */
export async function runReplay(deps: ReplayDeps, job: ReplayJobMessage, options: ReplayOptions): Promise<ReplayProgress> {
  const pageSize = options.pageSize ?? DEFAULT_REPLAY_PAGE_SIZE;
  const subscription = await deps.subscriptions.get(job.fleetId, job.subscriptionId, true);
  if (subscription === undefined || !subscription.enabled) return { enqueued: 0, continued: false };

  // One new round for the deliveries of this call: each starts over from attempt 1.
  const round = ulid();
  let enqueued = 0;
  let cursor = job.cursor;
  for (let page = 0; page < Math.max(1, options.maxPages); page += 1) {
    const result = await deps.events.listByTime(
      job.fleetId,
      { since: job.since, until: job.until },
      { limit: pageSize, ...(cursor === undefined ? {} : { cursor }) },
    );
    const messages = result.items
      .filter((event) => subscriptionMatches(subscription, event.type))
      .map((event) => replayMessage(subscription, event, round));
    if (messages.length > 0) await sendJsonBatch(deps.sqs, deps.deliveriesQueueUrl, messages, { messageGroupId: job.fleetId });
    enqueued += messages.length;
    cursor = result.nextCursor;
    if (cursor === undefined) return { enqueued, continued: false };
  }

  const continuation: ReplayJobMessage = { ...job, cursor };
  await sendJson(deps.sqs, deps.eventsQueueUrl, continuation);
  return { enqueued, continued: true };
}

function replayMessage(subscription: SubscriptionRecord, event: EventRecord, round: string): DeliveryMessage {
  return deliveryMessage({
    deliveryId: deliveryIdFor(subscription.fleetId, event.id, subscription.id, event.timestamp),
    fleetId: subscription.fleetId,
    subscriptionId: subscription.id,
    event: { id: event.id, type: event.type, timestamp: event.timestamp, data: event.data },
    reason: 'replay',
    round,
    attempt: 1,
  });
}
