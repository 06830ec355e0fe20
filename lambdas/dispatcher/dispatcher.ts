import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSRecord } from 'aws-lambda';
import { nextHop } from '../core/delivery-policy';
import { PermanentError } from '../core/errors';
import { classifyAttempt } from '../core/outcome';
import type { DeliveryMessage, SubscriptionRecord } from '../core/records';
import { attemptsAllowed } from '../core/schedule';
import type { RecordLogger } from '../shared/observability';
import { withKeys } from '../shared/observability';
import { processSqsBatch, RequeueError, type SqsHandler } from '../shared/sqs-batch';
import { postAttempt } from './attempt';
import { claimAttempt, endIfPastAllowed } from './claim';
import { createDispatchContext, expiresAt, identityOf, parkedAs, sendAttempt, type DispatchContext, type DispatcherDeps } from './context';
import { passGates, releasePassage } from './gates';
import { parseDeliveryMessage } from './message';
import { conclude, concludeInterrupted, endAsDisabled } from './outcome';
import { DEFAULT_SUBSCRIPTION_TTL_MS } from './subscription-cache';
import { METRICS } from '../core/metrics';

export type { DispatcherDeps, OperatorEvents } from './context';

const DEFAULT_LEASE_MS = 60_000;

/**
 * Deliveries queue → signed POST, one attempt per message. Hookline counts attempts itself: the
 * attempt number travels in the message, so a throttled, crashed or failed invocation costs no
 * attempt, and SQS's receive count is only a poison-message bound. Each attempt is claimed on the
 * delivery record before its POST (at most one POST of a delivery in flight; duplicates make none)
 * and recorded after it, releasing the claim. A retry is a new delayed message, never a message
 * held in flight. The rule for what an outcome means lives in core/delivery-policy.ts.
 *
 * A message goes through stages, each a module of this folder with a typed result: the endpoint's
 * gates (gates.ts: passed or held back), the claim (claim.ts: claimed, interrupted or settled), the
 * signed POST (attempt.ts: what the endpoint answered) and the outcome (outcome.ts: the attempt
 * recorded, the subscription's health, the next message or the DLQ).
 */
export function createDispatcher(deps: DispatcherDeps): SqsHandler {
  const ctx = createDispatchContext(deps, deps.subscriptionCacheTtlMs ?? DEFAULT_SUBSCRIPTION_TTL_MS);
  return (event, context?: Context) => {
    const deadline = ctx.now().getTime() + (context?.getRemainingTimeInMillis() ?? deps.defaultLeaseMs ?? DEFAULT_LEASE_MS);
    return processSqsBatch({ sqs: deps.sqs, queueUrl: deps.deliveriesQueueUrl, logger: deps.logger }, event, context, (record) =>
      handleRecord(ctx, record, deadline),
    );
  };
}

async function handleRecord(ctx: DispatchContext, record: SQSRecord, deadline: number): Promise<void> {
  if (ctx.parked.has(record.messageId)) throw new RequeueError('exhausted; on its way to the DLQ', 0);
  const message = parse(ctx, record);
  const logger = withKeys(ctx.deps.logger, {
    deliveryId: message.deliveryId,
    subscriptionId: message.subscriptionId,
    fleetId: message.fleetId,
    messageId: record.messageId,
  });
  const startedAt = ctx.now();
  const hop = nextHop(message.notBefore, startedAt);
  if (hop !== undefined) {
    await sendAttempt(ctx, message, hop);
    ctx.deps.metrics.addMetric(METRICS.waitHops, MetricUnit.Count, 1);
    return;
  }
  try {
    await dispatch(ctx, message, record, logger, startedAt, deadline);
  } catch (error) {
    if (error instanceof RequeueError) throw error;
    if (error instanceof PermanentError) logger.error('delivery set aside for the DLQ', { reason: error.message });
    // DynamoDB, Secrets Manager or SQS trouble: the message comes back after the queue's visibility timeout.
    else logger.warn('delivery interrupted; the message will come back', { error });
    throw error;
  }
}

function parse(ctx: DispatchContext, record: SQSRecord): DeliveryMessage {
  try {
    return parseDeliveryMessage(record.body);
  } catch (error) {
    ctx.deps.metrics.addMetric(METRICS.malformedMessages, MetricUnit.Count, 1);
    ctx.deps.logger.error('deliveries-queue message set aside for the DLQ', {
      messageId: record.messageId,
      reason: error instanceof Error ? error.message : String(error),
    });
    throw error;
  }
}

/** One message through the stages: subscription, secrets, gates, claim, POST, outcome. */
async function dispatch(ctx: DispatchContext, message: DeliveryMessage, record: SQSRecord, logger: RecordLogger, at: Date, deadline: number) {
  const subscription = await ctx.cache.get(message.fleetId, message.subscriptionId);
  if (subscription === undefined || !subscription.enabled) return endAsDisabled(ctx, message, subscription, at, logger);
  const allowed = attemptsAllowed(ctx.settings, subscription.maxAttempts);
  const secrets = await loadSecrets(ctx, message, record, subscription, at);

  const gate = await passGates(ctx, message, record, subscription, at, deadline);
  if (gate.kind === 'held') return;
  let posted = false;
  try {
    const claim = await claimAttempt(ctx, { message, record, subscription, allowed, logger, at, deadline, probe: gate.passage.probe });
    if (claim.kind === 'settled') return;
    if (claim.kind === 'interrupted') return await concludeInterrupted(ctx, claim.turn, at);
    await endIfPastAllowed(ctx, claim.turn, at);
    posted = true;
    const result = await postAttempt(ctx, claim.turn, secrets, at);
    await conclude(ctx, claim.turn, classifyAttempt(result), result, at);
  } finally {
    await releasePassage(ctx, gate.passage, subscription, record, posted);
  }
}

/** The subscription's signing secrets; one that can never be opened ends the delivery failed (and parks its message). */
async function loadSecrets(ctx: DispatchContext, message: DeliveryMessage, record: SQSRecord, subscription: SubscriptionRecord, at: Date): Promise<string[]> {
  try {
    return await ctx.signingSecrets.load(subscription, at);
  } catch (error) {
    if (error instanceof PermanentError) {
      await ctx.deps.deliveries.endWithoutAttempt(identityOf(message, subscription.url), 'failed', error.message, at.toISOString(), expiresAt(ctx, at), parkedAs(record, message));
      ctx.parked.add(record.messageId);
    }
    throw error;
  }
}
