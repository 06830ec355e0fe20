import type { AttemptOutcome } from './outcome';
import type { DeliveryProgress, DeliveryStatus } from './records';
import { retryDelaySeconds, type ScheduleSettings } from './schedule';
import type { DeploymentSettings } from './settings';

/**
 * The delivery rule in one place: what an attempt's outcome means for its delivery and for its
 * queue message, and what a message means given the delivery's recorded progress. Pure: the
 * dispatcher loads, claims, signs and posts, then asks here and carries out the returned plan.
 *
 * Retries ride on SQS without holding anything in flight: a failed attempt ends its message and
 * sends the next attempt's message with a delay. A standard queue allows about 120,000 in-flight
 * messages and past that long polls return nothing for every tenant (SQS Developer Guide,
 * "Amazon SQS standard queue quotas"), so a wait must never be an in-flight message.
 */

/** SQS's largest per-message DelaySeconds (SendMessage API reference: 0 to 900). */
export const MAX_MESSAGE_DELAY_SECONDS = 900;

/** What a plan does with the message that carried the attempt. */
export type MessageAction =
  /** Done with it: the event source mapping deletes it. */
  | { kind: 'delete' }
  /** Send the next attempt's message (with this wait), then delete this one. */
  | { kind: 'send-next'; attempt: number; waitSeconds: number }
  /** Leave it visible until the queue's redrive policy moves it to the DLQ (exhausted). */
  | { kind: 'to-dlq' };

export interface DeliveryPlan {
  status: DeliveryStatus;
  message: MessageAction;
  /** Seconds until the next attempt, when there is one. */
  retryInSeconds?: number;
  /** Set when the subscription is to be disabled, with the reason shown on it. */
  disableReason?: string;
}

export type PlannedOutcome = AttemptOutcome | 'interrupted';

export interface PlanInput {
  outcome: PlannedOutcome;
  /** 1-based attempt number within the round. */
  attempt: number;
  /** Attempts this subscription gets per round ({@link attemptsAllowed}). */
  allowed: number;
  retryAfterSeconds?: number;
  /** Start of the subscription's failing streak, when this attempt did not succeed. */
  failingSince?: string;
  now: Date;
  settings: ScheduleSettings & Pick<DeploymentSettings, 'autoDisableAfterDays'>;
  random?: () => number;
}

const GONE_REASON = 'the endpoint answered 410 Gone';
const MS_PER_DAY = 86_400_000;

/** What an attempt means: one table, tested over every outcome. */
export function planAttempt(input: PlanInput): DeliveryPlan {
  const { outcome, attempt, allowed } = input;
  if (outcome === 'succeeded') return { status: 'succeeded', message: { kind: 'delete' } };
  if (outcome === 'disable') return { status: 'disabled', message: { kind: 'delete' }, disableReason: GONE_REASON };

  const since = input.failingSince;
  const limitMs = input.settings.autoDisableAfterDays * MS_PER_DAY;
  if (since !== undefined && input.now.getTime() - Date.parse(since) > limitMs) {
    return {
      status: 'disabled',
      message: { kind: 'delete' },
      disableReason: `every delivery has failed since ${since} (auto-disable after ${input.settings.autoDisableAfterDays} days)`,
    };
  }
  // A blocked address or a status that retrying cannot fix: failed for good, no DLQ.
  if (outcome === 'failed') return { status: 'failed', message: { kind: 'delete' } };
  if (attempt >= allowed) return { status: 'failed', message: { kind: 'to-dlq' } };
  const wait = retryDelaySeconds({
    settings: input.settings,
    attempt,
    ...(input.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: input.retryAfterSeconds }),
    ...(input.random === undefined ? {} : { random: input.random }),
  });
  return { status: 'pending', retryInSeconds: wait, message: { kind: 'send-next', attempt: attempt + 1, waitSeconds: wait } };
}

/** How a wait is carried by SQS: a message delay, and a `notBefore` when it is longer than one delay allows. */
export interface WaitPlan {
  delaySeconds: number;
  notBefore?: string;
}

/**
 * A wait up to 15 minutes is one delayed message. A longer one is re-sent in hops of at most 15
 * minutes until `notBefore` (each hop one SendMessage and one receive share; measured in the
 * benchmark against EventBridge Scheduler one-time schedules and chosen, see the README).
 */
export function planWait(waitSeconds: number, now: Date): WaitPlan {
  const seconds = Math.max(0, Math.ceil(waitSeconds));
  if (seconds <= MAX_MESSAGE_DELAY_SECONDS) return { delaySeconds: seconds };
  return { delaySeconds: MAX_MESSAGE_DELAY_SECONDS, notBefore: new Date(now.getTime() + seconds * 1000).toISOString() };
}

/** The next hop of a message that arrived before its `notBefore`; undefined when it is due (within a second). */
export function nextHop(notBefore: string | undefined, now: Date): WaitPlan | undefined {
  if (notBefore === undefined) return undefined;
  const remainingMs = Date.parse(notBefore) - now.getTime();
  if (!(remainingMs > 1000)) return undefined;
  const seconds = Math.ceil(remainingMs / 1000);
  return seconds <= MAX_MESSAGE_DELAY_SECONDS
    ? { delaySeconds: seconds }
    : { delaySeconds: MAX_MESSAGE_DELAY_SECONDS, notBefore };
}

/** The round and attempt a message stands for, and who carries it. */
export interface MessageTurn {
  round: string;
  attempt: number;
  messageId: string;
  /** The message body's nonce (absent in messages from before nonces). */
  nonce?: string;
}

/**
 * What to do with a message whose claim was refused, given the delivery's progress as stored:
 * - `attempt`: claim again as (round, attempt) — a DLQ-redriven message begins a new round;
 * - `wait`: another POST of this delivery is in flight; look again once its lease has run out;
 * - `interrupted`: the claimed attempt never reported (its invocation died): record it as an
 *   attempt without a POST and go on by the schedule;
 * - `resend-next`: the attempt is recorded but the next attempt's message may not have been sent;
 * - `to-dlq`: the exhausted delivery's own message, on its way to the DLQ;
 * - `drop`: a duplicate or a superseded round; nothing to do.
 */
export type ClaimVerdict =
  | { kind: 'attempt'; round: string; attempt: number; newRound: boolean }
  | { kind: 'wait'; seconds: number }
  | { kind: 'interrupted'; round: string; attempt: number }
  | { kind: 'resend-next'; round: string; attempt: number; waitSeconds: number }
  | { kind: 'to-dlq' }
  | { kind: 'drop'; why: string };

export function judgeRefusedClaim(
  progress: DeliveryProgress | undefined,
  turn: MessageTurn,
  now: number,
  newRoundId: () => string,
): ClaimVerdict {
  // Claims are refused only on an existing item; a vanished one (TTL) means try again as is.
  if (progress === undefined) return { kind: 'attempt', round: turn.round, attempt: turn.attempt, newRound: turn.attempt === 1 };
  const leaseLive = progress.leaseUntil !== undefined && progress.leaseUntil >= now;
  if (leaseLive) return { kind: 'wait', seconds: Math.ceil((progress.leaseUntil! - now) / 1000) + 1 };

  // A redriven message keeps the exhausted message's body; it stands for attempt 1 of the round it began.
  const isTrigger = progress.roundTrigger !== undefined && progress.roundTrigger === turn.messageId;
  const effective: MessageTurn = isTrigger ? { ...turn, round: progress.round ?? turn.round, attempt: 1 } : turn;
  const current = progress.round;
  if (current !== undefined && effective.round < current) return { kind: 'drop', why: 'a later round has begun' };
  if (current === undefined || effective.round > current) {
    return { kind: 'attempt', round: effective.round, attempt: effective.attempt, newRound: true };
  }

  const started = progress.started ?? 0;
  const completed = progress.completed ?? 0;
  if (started > effective.attempt) return { kind: 'drop', why: 'a later attempt has begun' };
  if (started === effective.attempt && completed < started) return { kind: 'interrupted', round: current, attempt: started };
  if (progress.status === 'succeeded') return { kind: 'drop', why: 'already delivered in this round' };
  if (progress.status === 'failed' && effective.attempt >= completed) {
    if (progress.parkedMessageId === turn.messageId) return { kind: 'to-dlq' };
    if (isTrigger) return { kind: 'drop', why: 'the round this redrive began has ended' };
    // Failed for good (no message parked for the DLQ): a copy of its message cannot be a redrive.
    if (progress.parkedMessageId === undefined) return { kind: 'drop', why: 'the delivery failed for good in this round' };
    // The parked message's body under a new message id: "Start DLQ redrive" sent it back. A fresh round.
    // Any other copy (a duplicate sent before the delivery failed) carries another nonce.
    if (turn.nonce !== undefined && turn.nonce === progress.parkedNonce) return { kind: 'attempt', round: newRoundId(), attempt: 1, newRound: true };
    return { kind: 'drop', why: 'a stray copy of a message of a failed round' };
  }
  if (progress.status !== 'pending') return { kind: 'drop', why: `the delivery is ${progress.status ?? 'not started'}` };
  if (completed >= effective.attempt) {
    if (completed !== started) return { kind: 'drop', why: 'a later attempt has begun' };
    const wait = progress.nextAttemptAt === undefined ? 0 : (Date.parse(progress.nextAttemptAt) - now) / 1000;
    return { kind: 'resend-next', round: current, attempt: completed + 1, waitSeconds: Math.max(0, Math.ceil(wait)) };
  }
  // completed === started < attempt: the next attempt of this round, refused only by a race; claim again.
  return { kind: 'attempt', round: current, attempt: effective.attempt, newRound: false };
}

/**
 * The longest time from a round's first attempt to its last: nominal (largest jitter) and with
 * every wait stretched to the largest honoured Retry-After. The construct checks settings with it.
 */
export function scheduleSpanSeconds(settings: ScheduleSettings & Pick<DeploymentSettings, 'maxAttempts'>): {
  nominal: number;
  worst: number;
} {
  let nominal = 0;
  let worst = 0;
  for (let attempt = 1; attempt < settings.maxAttempts; attempt += 1) {
    nominal += retryDelaySeconds({ settings, attempt, random: () => 1 });
    worst += retryDelaySeconds({ settings, attempt, random: () => 1, retryAfterSeconds: settings.retryAfterMaxSeconds });
  }
  return { nominal, worst };
}
