import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { storedResponseHeaders } from '../core/attempt-excerpt';
import { planAttempt, planWait, type DeliveryPlan, type PlannedOutcome } from '../core/delivery-policy';
import { circuitAfterFailedProbe, circuitToOpen, countsAgainstCircuit } from '../core/endpoint-health';
import type { AttemptRecord, DeliveryMessage, SubscriptionRecord } from '../core/records';
import type { HttpAttemptResult } from '../shared/http-delivery';
import type { RecordLogger } from '../shared/observability';
import { announce, expiresAt, identityOf, park, parkedAs, sendAttempt, type DispatchContext, type Turn } from './context';
import { METRICS } from '../core/metrics';

const DELETED_SUBSCRIPTION_URL = '(subscription deleted)';
/** `lastTriggeredAt` is kept to this resolution, so a busy endpoint costs one subscription write a minute. */
const LAST_TRIGGERED_RESOLUTION_MS = 60_000;

/**
 * The outcome stage: records the attempt, then carries out the plan for its delivery, subscription
 * and message (the next attempt's message, or the DLQ).
 */
export async function conclude(ctx: DispatchContext, turn: Turn, outcome: PlannedOutcome, result: HttpAttemptResult, at: Date): Promise<void> {
  const { deps, settings } = ctx;
  const { message, subscription, logger } = turn;
  // The endpoint's failing streak counts what it answered; an interrupted attempt says nothing of it.
  const failingSince = outcome === 'retry' || outcome === 'failed' ? await recordFailure(ctx, turn, outcome, result, at) : undefined;
  const plan = planAttempt({
    outcome,
    attempt: turn.attempt,
    allowed: turn.allowed,
    ...(result.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: result.retryAfterSeconds }),
    ...(failingSince === undefined ? {} : { failingSince }),
    now: at,
    settings,
    random: ctx.random,
  });
  const finishedAt = ctx.now();
  const next = plan.message.kind === 'send-next' ? planWait(plan.message.waitSeconds, finishedAt) : undefined;
  const written = await deps.deliveries.recordAttempt({
    identity: identityOf(message, subscription.url),
    round: turn.round,
    attempt: attemptRecord(turn, at, result, plan.retryInSeconds),
    ...(turn.holder === undefined ? {} : { holder: turn.holder }),
    status: plan.status,
    ...(plan.retryInSeconds === undefined
      ? {}
      : { nextAttemptAt: new Date(finishedAt.getTime() + plan.retryInSeconds * 1000).toISOString() }),
    ...(plan.message.kind === 'to-dlq' ? parkedAs(turn.record, message) : {}),
    now: at.toISOString(),
    expiresAt: expiresAt(ctx, at),
  });
  if (written === 'stale') {
    // Another dispatcher judged this attempt interrupted after the lease ran out; its record stands.
    logger.warn('attempt result arrived after its claim ran out; not recorded', { attempt: turn.attempt });
    return;
  }
  countAttempt(ctx, result, outcome);
  logAttempt(turn, outcome, plan, result);
  await applyToSubscription(ctx, turn, outcome, plan, result, at);
  if (plan.message.kind === 'send-next' && next !== undefined) {
    await sendAttempt(ctx, message, next, { round: turn.round, attempt: plan.message.attempt });
  } else if (plan.message.kind === 'to-dlq') {
    await announce(ctx, 'delivery.exhausted', subscription, at, {
      deliveryId: message.deliveryId,
      eventType: message.event.type,
      reason: `failed ${turn.attempt} attempts: ${result.errorMessage ?? 'no answer'}`,
    });
    park(ctx, turn.record, logger, `schedule exhausted after attempt ${turn.attempt} of ${turn.allowed}`);
  }
}

/** Records an attempt the claim stage found interrupted: it counts as made, with no POST. */
export function concludeInterrupted(ctx: DispatchContext, turn: Turn, at: Date): Promise<void> {
  return conclude(ctx, turn, 'interrupted', interruptedResult(), at);
}

/** Ends a delivery whose subscription is gone or disabled, without an attempt. */
export async function endAsDisabled(ctx: DispatchContext, message: DeliveryMessage, subscription: SubscriptionRecord | undefined, at: Date, logger: RecordLogger) {
  // The store keeps the URL of an earlier attempt; the placeholder shows only when there was none.
  const url = subscription?.url ?? DELETED_SUBSCRIPTION_URL;
  const reason = subscription === undefined ? 'the subscription was deleted' : 'the subscription is disabled';
  await ctx.deps.deliveries.endWithoutAttempt(identityOf(message, url), 'disabled', reason, at.toISOString(), expiresAt(ctx, at));
  ctx.deps.metrics.addMetric(METRICS.deliveriesDisabled, MetricUnit.Count, 1);
  logger.info('delivery ended without an attempt', { reason });
}

/**
 * A failed attempt on the subscription: the failing clock (auto-disable), the error shown as
 * health, and — for failures that count — the circuit, which opens at the threshold or, after a
 * failed probe, opens again with a longer cool-down. Returns the failing clock's start.
 */
async function recordFailure(ctx: DispatchContext, turn: Turn, outcome: PlannedOutcome, result: HttpAttemptResult, at: Date): Promise<string | undefined> {
  const { deps, settings, cache } = ctx;
  const { subscription, logger } = turn;
  const counts = countsAgainstCircuit(outcome);
  const lastError = (result.errorMessage ?? `HTTP ${result.statusCode ?? '?'}`).slice(0, 300);
  const stored = await deps.subscriptions.recordFailure(subscription.fleetId, subscription.id, { now: at.toISOString(), lastError, countsForCircuit: counts });
  if (stored === undefined) return undefined;
  cache.update({ ...subscription, consecutiveFailures: stored.consecutiveFailures, lastError, ...(stored.failingSince === undefined ? {} : { failingSince: stored.failingSince }) });
  if (!counts) return stored.failingSince;
  const reopened = turn.probe && subscription.circuit !== undefined ? circuitAfterFailedProbe(subscription.circuit, at, settings) : undefined;
  const opened = reopened ?? (subscription.circuit === undefined ? circuitToOpen(stored.consecutiveFailures, at, settings) : undefined);
  if (opened !== undefined && (await deps.subscriptions.openCircuit(subscription.fleetId, subscription.id, opened, reopened === undefined ? 'closed' : 'half-open'))) {
    cache.invalidate(subscription.fleetId, subscription.id);
    if (reopened === undefined) {
      deps.metrics.addMetric(METRICS.circuitOpened, MetricUnit.Count, 1);
      logger.warn('circuit opened: deliveries to this endpoint wait for a probe', { consecutiveFailures: stored.consecutiveFailures, nextProbeAt: opened.openUntil });
      await announce(ctx, 'circuit.opened', subscription, at, { reason: lastError, consecutiveFailures: stored.consecutiveFailures, nextProbeAt: opened.openUntil });
    } else {
      logger.info('probe failed; circuit stays open', { nextProbeAt: opened.openUntil, cooldownSeconds: opened.cooldownSeconds });
    }
  }
  return stored.failingSince;
}

async function applyToSubscription(ctx: DispatchContext, turn: Turn, outcome: PlannedOutcome, plan: DeliveryPlan, result: HttpAttemptResult, at: Date) {
  const { subscription, logger } = turn;
  if (outcome === 'interrupted') return;
  await touch(ctx, subscription, at, logger);
  await trackSlowness(ctx, subscription, result);
  if (plan.disableReason !== undefined) {
    await disableSubscription(ctx, subscription, plan.disableReason, at, logger);
    return;
  }
  // The endpoint answered in a way that does not count against it: the streak and the circuit end.
  const closes = outcome === 'succeeded' || (turn.probe && !countsAgainstCircuit(outcome));
  const hasState = subscription.failingSince !== undefined || subscription.consecutiveFailures !== undefined || subscription.circuit !== undefined;
  if (closes && (hasState || turn.probe)) await endFailingState(ctx, turn, outcome, at);
}

/** The endpoint answered: its failing streak (on a success) and its circuit end. */
async function endFailingState(ctx: DispatchContext, turn: Turn, outcome: PlannedOutcome, at: Date): Promise<void> {
  const { deps, cache } = ctx;
  const { subscription, logger } = turn;
  const { failingSince, consecutiveFailures: _c, circuit, lastError: _e, ...rest } = subscription;
  if (outcome === 'succeeded') {
    await deps.subscriptions.clearFailing(subscription.fleetId, subscription.id);
    cache.update(rest);
  } else {
    // A probe answered (a 4xx): the endpoint is up, so the circuit closes; the answer was still a
    // failure, so the failing clock (auto-disable) keeps running.
    await deps.subscriptions.closeCircuit(subscription.fleetId, subscription.id);
    cache.update({ ...rest, ...(failingSince === undefined ? {} : { failingSince }) });
  }
  if (circuit !== undefined) {
    deps.metrics.addMetric(METRICS.circuitClosed, MetricUnit.Count, 1);
    logger.info('circuit closed: the probe succeeded');
    await announce(ctx, 'circuit.closed', subscription, at);
  }
}

/** Marks the endpoint slow (it then comes under the concurrency cap) or fast again; writes only on a change. */
async function trackSlowness(ctx: DispatchContext, subscription: SubscriptionRecord, result: HttpAttemptResult): Promise<void> {
  const slow = result.errorKind === 'timeout' || result.latencyMs >= ctx.settings.slowEndpointMs;
  if (slow === (subscription.slowSince !== undefined)) return;
  await ctx.deps.subscriptions.setSlow(subscription.fleetId, subscription.id, slow ? ctx.now().toISOString() : undefined);
  ctx.cache.invalidate(subscription.fleetId, subscription.id);
}

/**
 * Keeps `lastTriggeredAt` to the minute: a write only when the stored one is older. The records
 * of a batch to one endpoint share one write: each of them would otherwise see the same stale
 * time and send its own conditional write, every refused one still billed a write unit.
 */
async function touch(ctx: DispatchContext, subscription: SubscriptionRecord, at: Date, logger: RecordLogger): Promise<void> {
  const stale = new Date(at.getTime() - LAST_TRIGGERED_RESOLUTION_MS).toISOString();
  if (subscription.lastTriggeredAt !== undefined && subscription.lastTriggeredAt >= stale) return;
  const { touching } = ctx;
  const key = `${subscription.fleetId}\n${subscription.id}`;
  const running = touching.get(key);
  if (running !== undefined) return running;
  const write = (async () => {
    try {
      await ctx.deps.subscriptions.touch(subscription.fleetId, subscription.id, at.toISOString(), stale);
      ctx.cache.update({ ...subscription, lastTriggeredAt: at.toISOString() });
    } catch (error) {
      // Informational only: the attempt is recorded, and the next one tries again.
      logger.warn('could not update lastTriggeredAt', { error });
    } finally {
      touching.delete(key);
    }
  })();
  touching.set(key, write);
  return write;
}

async function disableSubscription(ctx: DispatchContext, subscription: SubscriptionRecord, reason: string, at: Date, logger: RecordLogger) {
  const { deps } = ctx;
  const changed = await deps.subscriptions.disable(subscription.fleetId, subscription.id, reason, at.toISOString());
  ctx.cache.invalidate(subscription.fleetId, subscription.id);
  const ended = await deps.deliveries.endPendingAsDisabled(subscription.id, reason, at.toISOString());
  if (changed) {
    deps.metrics.addMetric(METRICS.subscriptionsDisabled, MetricUnit.Count, 1);
    await announce(ctx, 'subscription.disabled', subscription, at, { reason });
  }
  logger.warn('subscription disabled', { reason, pendingDeliveriesEnded: ended, alreadyDisabled: !changed });
}

function countAttempt(ctx: DispatchContext, result: HttpAttemptResult, outcome: PlannedOutcome): void {
  const { metrics } = ctx.deps;
  metrics.addMetric(METRICS.attempts, MetricUnit.Count, 1);
  if (outcome !== 'interrupted') metrics.addMetric(METRICS.latency, MetricUnit.Milliseconds, result.latencyMs);
  if (outcome === 'succeeded') {
    metrics.addMetric(METRICS.succeeded, MetricUnit.Count, 1);
    return;
  }
  const byKind = metrics.singleMetric();
  byKind.addDimension('errorKind', result.errorKind ?? 'http');
  byKind.addMetric(METRICS.failed, MetricUnit.Count, 1);
}

function logAttempt(turn: Turn, outcome: PlannedOutcome, plan: DeliveryPlan, result: HttpAttemptResult): void {
  turn.logger.info('attempt made', {
    eventType: turn.message.event.type,
    url: loggableUrl(turn.subscription.url),
    round: turn.roundNumber,
    attempt: turn.attempt,
    allowed: turn.allowed,
    outcome,
    status: plan.status,
    statusCode: result.statusCode,
    latencyMs: result.latencyMs,
    errorKind: result.errorKind,
    errorMessage: result.errorMessage,
    retryInSeconds: plan.retryInSeconds,
  });
}

function interruptedResult(): HttpAttemptResult {
  return {
    latencyMs: 0,
    responseHeaders: {},
    errorKind: 'interrupted',
    errorMessage: 'the dispatcher stopped during this attempt; the request may have been sent',
  };
}

function attemptRecord(turn: Turn, at: Date, result: HttpAttemptResult, retryInSeconds: number | undefined): AttemptRecord {
  const entry: AttemptRecord = { round: turn.roundNumber, attempt: turn.attempt, at: at.toISOString(), latencyMs: result.latencyMs };
  if (result.statusCode !== undefined) entry.statusCode = result.statusCode;
  if (result.responseContentLength !== undefined) entry.responseContentLength = result.responseContentLength;
  // A bounded selection: the attempt is stored in its delivery item, billed by size on every later write.
  const responseHeaders = storedResponseHeaders(result.responseHeaders);
  if (responseHeaders !== undefined) entry.responseHeaders = responseHeaders;
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
