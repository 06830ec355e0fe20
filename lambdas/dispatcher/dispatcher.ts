import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { buildEnvelope } from '../core/envelope';
import { PermanentError } from '../core/errors';
import { classifyAttempt, type AttemptOutcome } from '../core/outcome';
import type { AttemptRecord, DeliveryMessage, DeliveryStatus, SubscriptionRecord } from '../core/records';
import { attemptsAllowed, retryDelaySeconds } from '../core/schedule';
import type { DeploymentSettings } from '../core/settings';
import { buildDeliveryHeaders } from '../core/signing';
import type { DeliveriesStore, DeliveryIdentity } from '../shared/deliveries-store';
import type { HttpAttemptResult, HttpDelivery } from '../shared/http-delivery';
import type { SigningSecrets } from '../shared/signing-secrets';
import { withKeys, type RecordLogger } from '../shared/observability';
import { processSqsBatch, RequeueError, type SqsHandler } from '../shared/sqs-batch';
import type { SubscriptionsStore } from '../shared/subscriptions-store';
import { parseDeliveryMessage } from './message';
import { SigningSecretsLoader } from './secrets';
import { SubscriptionCache, DEFAULT_SUBSCRIPTION_TTL_MS } from './subscription-cache';

export interface DispatcherDeps {
  subscriptions: SubscriptionsStore;
  deliveries: DeliveriesStore;
  secrets: Pick<SigningSecrets, 'get'>;
  sqs: SQSClient;
  deliveriesQueueUrl: string;
  settings: DeploymentSettings;
  http: HttpDelivery;
  /** `Hookline/<version>`. */
  userAgent: string;
  logger: Logger;
  metrics: Metrics;
  now?: () => Date;
  random?: () => number;
  subscriptionCacheTtlMs?: number;
}

const SECONDS_PER_DAY = 86_400;
const DELETED_SUBSCRIPTION_URL = '(subscription deleted)';
const GONE_REASON = 'the endpoint answered 410 Gone';

/**
 * Deliveries queue → signed POST. Retries ride on SQS: the attempt number is the message's
 * ApproximateReceiveCount, a retry sets the message's visibility to the next delay, and a delivery
 * past its last attempt is left visible so the queue's redrive policy moves it to the DLQ. Each
 * attempt is recorded with one idempotent write before the message's visibility is touched.
 */
export function createDispatcher(deps: DispatcherDeps): SqsHandler {
  const now = deps.now ?? (() => new Date());
  const random = deps.random ?? Math.random;
  const { settings } = deps;
  const cache = new SubscriptionCache(
    (fleetId, id) => deps.subscriptions.get(fleetId, id),
    () => now().getTime(),
    deps.subscriptionCacheTtlMs ?? DEFAULT_SUBSCRIPTION_TTL_MS,
  );
  const signingSecrets = new SigningSecretsLoader(deps.secrets);
  const expiresAt = (at: Date) => Math.floor(at.getTime() / 1000) + settings.eventRetentionDays * SECONDS_PER_DAY;

  async function deliver(message: DeliveryMessage, record: SQSRecord, attempt: number, logger: RecordLogger): Promise<void> {
    const subscription = await cache.get(message.fleetId, message.subscriptionId);
    const startedAt = now();
    if (subscription === undefined || !subscription.enabled) {
      await endAsDisabled(message, subscription, startedAt, logger);
      return;
    }
    const identity = identityOf(message, subscription.url);
    const allowed = attemptsAllowed(settings, subscription.maxAttempts);
    if (attempt > allowed) {
      deps.metrics.addMetric('fastForwarded', MetricUnit.Count, 1);
      logger.info('past the subscription\'s last attempt; fast-forwarding to the DLQ', { allowed });
      throw new RequeueError(`attempt ${attempt} is past the subscription's maxAttempts ${allowed}`, 0);
    }

    const secrets = await signingSecrets.load(subscription, startedAt).catch(async (error: unknown) => {
      if (error instanceof PermanentError) {
        await deps.deliveries.endWithoutAttempt(identity, 'failed', error.message, startedAt.toISOString(), expiresAt(startedAt));
      }
      throw error;
    });
    const body = buildEnvelope(message.fleetId, message.event);
    const headers = buildDeliveryHeaders({
      deliveryId: message.deliveryId,
      timestamp: Math.floor(startedAt.getTime() / 1000),
      body,
      secrets,
      headerPrefix: settings.signatureHeaderPrefix,
      userAgent: deps.userAgent,
      ...(subscription.headers === undefined ? {} : { customHeaders: subscription.headers }),
    });
    const result = await deps.http.post({
      url: subscription.url,
      headers,
      body,
      timeoutMs: (subscription.timeoutSeconds ?? settings.attemptTimeoutSeconds) * 1000,
    });

    const finishedAt = now();
    const outcome = classifyAttempt(result);
    let decision = decide(outcome, attempt, allowed, () =>
      retryDelaySeconds({ settings, attempt, random, ...retryAfter(result) }),
    );
    if (outcome === 'retry' || outcome === 'failed') {
      const failingSince = await failingClock(subscription, startedAt);
      if (failingSince !== undefined) {
        decision = {
          status: 'disabled',
          disableReason: `every delivery has failed since ${failingSince} (auto-disable after ${settings.autoDisableAfterDays} days)`,
        };
      }
    }
    const { status, retryInSeconds, disableReason } = decision;

    const written = await deps.deliveries.recordAttempt({
      identity,
      attempt: attemptRecord(record, attempt, startedAt, result, retryInSeconds),
      status,
      reopensSucceeded: message.reason !== 'fanout',
      ...(retryInSeconds === undefined
        ? {}
        : { nextAttemptAt: new Date(finishedAt.getTime() + retryInSeconds * 1000).toISOString() }),
      now: startedAt.toISOString(),
      expiresAt: expiresAt(startedAt),
    });
    countAttempt(result, outcome === 'succeeded');
    logger.info('attempt made', {
      eventType: message.event.type,
      url: loggableUrl(subscription.url),
      attempt,
      allowed,
      outcome,
      status,
      statusCode: result.statusCode,
      latencyMs: result.latencyMs,
      errorKind: result.errorKind,
      errorMessage: result.errorMessage,
      retryInSeconds,
      ...(written === 'duplicate' ? { duplicate: true } : {}),
    });

    if (disableReason !== undefined) await disableSubscription(subscription, disableReason, startedAt, logger);
    else if (outcome === 'succeeded' && subscription.failingSince !== undefined) {
      await deps.subscriptions.clearFailing(subscription.fleetId, subscription.id);
      const { failingSince: _cleared, ...rest } = subscription;
      cache.update(rest);
    }

    if (status === 'pending') throw new RequeueError(`retry in ${retryInSeconds} s`, retryInSeconds ?? 0);
    if (outcome === 'retry' && status === 'failed') {
      // Visible at once: the next receive is past maxReceiveCount (or past the subscription's limit) → DLQ.
      throw new RequeueError(`schedule exhausted after attempt ${attempt} of ${allowed}`, 0);
    }
  }

  /**
   * Starts or reads the subscription's failing clock. Returns its start when it has run longer than
   * the auto-disable limit. The cached start is trusted only while it is under the limit; past it,
   * the stored value is fetched (a success elsewhere may have reset it).
   */
  async function failingClock(subscription: SubscriptionRecord, at: Date): Promise<string | undefined> {
    const limitMs = settings.autoDisableAfterDays * SECONDS_PER_DAY * 1000;
    const expired = (since: string | undefined) => since !== undefined && at.getTime() - Date.parse(since) > limitMs;
    let since = subscription.failingSince;
    if (since === undefined || expired(since)) {
      since = await deps.subscriptions.markFailing(subscription.fleetId, subscription.id, at.toISOString());
      if (since !== undefined) cache.update({ ...subscription, failingSince: since });
    }
    return expired(since) ? since : undefined;
  }

  async function disableSubscription(subscription: SubscriptionRecord, reason: string, at: Date, logger: RecordLogger) {
    const changed = await deps.subscriptions.disable(subscription.fleetId, subscription.id, reason, at.toISOString());
    cache.invalidate(subscription.fleetId, subscription.id);
    const ended = await deps.deliveries.endPendingAsDisabled(subscription.id, reason, at.toISOString());
    if (changed) deps.metrics.addMetric('subscriptionsDisabled', MetricUnit.Count, 1);
    logger.warn('subscription disabled', { reason, pendingDeliveriesEnded: ended, alreadyDisabled: !changed });
  }

  async function endAsDisabled(
    message: DeliveryMessage,
    subscription: SubscriptionRecord | undefined,
    at: Date,
    logger: RecordLogger,
  ): Promise<void> {
    // The store keeps the URL of an earlier attempt; the placeholder shows only when there was none.
    const url = subscription?.url ?? DELETED_SUBSCRIPTION_URL;
    const reason = subscription === undefined ? 'the subscription was deleted' : 'the subscription is disabled';
    await deps.deliveries.endWithoutAttempt(identityOf(message, url), 'disabled', reason, at.toISOString(), expiresAt(at));
    deps.metrics.addMetric('deliveriesDisabled', MetricUnit.Count, 1);
    logger.info('delivery ended without an attempt', { reason });
  }

  function countAttempt(result: HttpAttemptResult, succeeded: boolean): void {
    deps.metrics.addMetric('attempts', MetricUnit.Count, 1);
    deps.metrics.addMetric('latency', MetricUnit.Milliseconds, result.latencyMs);
    if (succeeded) {
      deps.metrics.addMetric('succeeded', MetricUnit.Count, 1);
      return;
    }
    const byKind = deps.metrics.singleMetric();
    byKind.addDimension('errorKind', result.errorKind ?? 'http');
    byKind.addMetric('failed', MetricUnit.Count, 1);
  }

  async function handleRecord(record: SQSRecord): Promise<void> {
    const attempt = receiveCount(record);
    let message: DeliveryMessage;
    try {
      message = parseDeliveryMessage(record.body);
    } catch (error) {
      deps.metrics.addMetric('malformedMessages', MetricUnit.Count, 1);
      deps.logger.error('deliveries-queue message set aside for the DLQ', {
        messageId: record.messageId,
        reason: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
    const logger = withKeys(deps.logger, {
      deliveryId: message.deliveryId,
      subscriptionId: message.subscriptionId,
      fleetId: message.fleetId,
      messageId: record.messageId,
    });
    try {
      await deliver(message, record, attempt, logger);
    } catch (error) {
      if (error instanceof RequeueError) throw error;
      if (error instanceof PermanentError) {
        logger.error('delivery set aside for the DLQ', { attempt, reason: error.message });
      } else {
        // DynamoDB, Secrets Manager or SQS trouble: the message comes back after the queue's visibility timeout.
        logger.warn('delivery failed; the message will come back', { attempt, error });
      }
      throw error;
    }
  }

  return (event, context) =>
    processSqsBatch({ sqs: deps.sqs, queueUrl: deps.deliveriesQueueUrl, logger: deps.logger }, event, context, handleRecord);
}

/** What an attempt means for its delivery before the auto-disable rule is applied. */
interface Decision {
  status: DeliveryStatus;
  /** Set when the message comes back for another attempt. */
  retryInSeconds?: number;
  /** Set when the subscription is to be disabled. */
  disableReason?: string;
}

function decide(outcome: AttemptOutcome, attempt: number, allowed: number, nextDelay: () => number): Decision {
  switch (outcome) {
    case 'succeeded':
      return { status: 'succeeded' };
    case 'disable':
      return { status: 'disabled', disableReason: GONE_REASON };
    case 'retry':
      // Past the last attempt the delivery has failed; its message still goes on to the DLQ.
      return attempt < allowed ? { status: 'pending', retryInSeconds: nextDelay() } : { status: 'failed' };
    case 'failed':
      return { status: 'failed' };
  }
}

function identityOf(message: DeliveryMessage, webhookUrl: string): DeliveryIdentity {
  return {
    id: message.deliveryId,
    fleetId: message.fleetId,
    subscriptionId: message.subscriptionId,
    eventId: message.event.id,
    eventType: message.event.type,
    webhookUrl,
  };
}

function receiveCount(record: SQSRecord): number {
  const count = Number(record.attributes.ApproximateReceiveCount);
  return Number.isSafeInteger(count) && count >= 1 ? count : 1;
}

function retryAfter(result: HttpAttemptResult): { retryAfterSeconds?: number } {
  return result.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: result.retryAfterSeconds };
}

function attemptRecord(
  record: SQSRecord,
  attempt: number,
  at: Date,
  result: HttpAttemptResult,
  retryInSeconds: number | undefined,
): AttemptRecord {
  const entry: AttemptRecord = {
    key: `${record.messageId}:${attempt}`,
    attempt,
    at: at.toISOString(),
    latencyMs: result.latencyMs,
  };
  if (result.statusCode !== undefined) entry.statusCode = result.statusCode;
  if (result.responseContentLength !== undefined) entry.responseContentLength = result.responseContentLength;
  if (Object.keys(result.responseHeaders).length > 0) entry.responseHeaders = result.responseHeaders;
  if (result.responseBodyExcerpt !== undefined && result.responseBodyExcerpt !== '') {
    entry.responseBodyExcerpt = result.responseBodyExcerpt;
  }
  if (result.errorKind !== undefined) entry.errorKind = result.errorKind;
  if (result.errorMessage !== undefined) entry.errorMessage = result.errorMessage;
  if (retryInSeconds !== undefined) entry.retryInSeconds = retryInSeconds;
  return entry;
}

/**
 * The endpoint as a log line may show it: scheme, host and port. Its path or query may carry the
 * receiver's own credential (Slack-style paths, `?token=`), which belongs to the customer, not the logs.
 */
function loggableUrl(raw: string): string {
  try {
    return `${new URL(raw).origin}/…`;
  } catch {
    return '(unparsable URL)';
  }
}
