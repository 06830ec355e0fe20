import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';
import { ulid } from 'ulid';
import { judgeRefusedClaim, planWait } from '../core/delivery-policy';
import { FIRST_ROUND, type DeliveryMessage, type SubscriptionRecord } from '../core/records';
import type { RecordLogger } from '../shared/observability';
import { defer, expiresAt, identityOf, LEASE_MARGIN_MS, park, parkedAs, sendAttempt, type DispatchContext, type Turn } from './context';
import { METRICS } from '../core/metrics';

/** A duplicate that finds another POST of its delivery in flight looks again this soon (or when the claim runs out). */
const CLAIM_WAIT_SECONDS = 5;

/** What the claim stage is asked: one message's attempt, once the gates let it through. */
export interface ClaimRequest {
  message: DeliveryMessage;
  record: SQSRecord;
  subscription: SubscriptionRecord;
  allowed: number;
  logger: RecordLogger;
  at: Date;
  deadline: number;
  probe: boolean;
}

/**
 * The claim stage's result. `claimed`: this message holds the delivery's attempt and POSTs it.
 * `interrupted`: an earlier attempt's claim ran out without a result; it counts as made and is
 * recorded, with no POST. `settled`: nothing to POST (a duplicate dropped, a superseded round, or
 * the message sent back to wait or on to its next attempt).
 */
export type ClaimResult = { kind: 'claimed'; turn: Turn } | { kind: 'interrupted'; turn: Turn } | { kind: 'settled' };

const SETTLED: ClaimResult = { kind: 'settled' };

/**
 * Claims the message's attempt on the delivery record (at most one POST of a delivery in flight;
 * duplicates make none). An exhausted message on its way to the DLQ throws a RequeueError.
 */
export async function claimAttempt(ctx: DispatchContext, request: ClaimRequest): Promise<ClaimResult> {
  const { message, record, logger, at } = request;
  let round = message.round ?? FIRST_ROUND;
  let attempt = message.attempt ?? 1;
  let newRound = attempt === 1;
  let trigger: string | undefined;
  const leaseUntil = request.deadline + LEASE_MARGIN_MS;
  const base = { message, record, subscription: request.subscription, allowed: request.allowed, logger, messageId: record.messageId, probe: request.probe };
  // Two tries: a refused claim is judged once, and a judged claim (a race lost, a redrive) tried once more.
  for (let tries = 0; tries < 2; tries += 1) {
    const result = await ctx.deps.deliveries.claim({
      id: message.deliveryId,
      round,
      attempt,
      holder: record.messageId,
      leaseUntil,
      now: at.getTime(),
      newRound,
      ...(trigger === undefined ? {} : { trigger }),
      expiresAt: expiresAt(ctx, at),
    });
    if (result.claimed) return { kind: 'claimed', turn: { ...base, holder: record.messageId, round, attempt, roundNumber: result.roundNumber } };
    const verdict = judgeRefusedClaim(
      result.progress,
      { round, attempt, messageId: record.messageId, ...(message.nonce === undefined ? {} : { nonce: message.nonce }) },
      at.getTime(),
      ulid,
    );
    switch (verdict.kind) {
      case 'attempt':
        if (verdict.newRound && verdict.round !== round) trigger = record.messageId;
        ({ round, attempt, newRound } = verdict);
        continue;
      case 'wait':
        // Another POST of this delivery is in flight. Look again soon, as a new delayed message:
        // waiting by visibility would count receives towards the DLQ while the other POST runs.
        await defer(ctx, message, Math.min(verdict.seconds, CLAIM_WAIT_SECONDS), METRICS.claimsDeferred);
        return SETTLED;
      case 'interrupted': {
        const roundNumber = result.progress?.rounds ?? 1;
        logger.warn('an earlier attempt was interrupted; it counts as made', { attempt: verdict.attempt });
        return { kind: 'interrupted', turn: { ...base, holder: undefined, round: verdict.round, attempt: verdict.attempt, roundNumber } };
      }
      case 'resend-next':
        await sendAttempt(ctx, message, planWait(verdict.waitSeconds, at), { round: verdict.round, attempt: verdict.attempt });
        return SETTLED;
      case 'to-dlq':
        return park(ctx, record, logger, 'exhausted');
      case 'drop':
        ctx.deps.metrics.addMetric(METRICS.duplicatesDropped, MetricUnit.Count, 1);
        logger.debug('message dropped without an attempt', { why: verdict.why, round, attempt });
        return SETTLED;
    }
  }
  throw new Error(`claim of ${message.deliveryId} refused twice`);
}

/**
 * A claimed attempt past the subscription's maxAttempts (lowered during the round): the delivery
 * has had its attempts, so it ends failed and its message goes on to the DLQ (throws).
 */
export async function endIfPastAllowed(ctx: DispatchContext, turn: Turn, at: Date): Promise<void> {
  if (turn.attempt <= turn.allowed) return;
  const { message, subscription, record } = turn;
  const reason = `attempt ${turn.attempt} is past the webhook's maxAttempts ${turn.allowed}`;
  await ctx.deps.deliveries.endWithoutAttempt(identityOf(message, subscription.url), 'failed', reason, at.toISOString(), expiresAt(ctx, at), {
    ...parkedAs(record, message),
    claimedAttempt: turn.attempt,
  });
  park(ctx, record, turn.logger, reason);
}
