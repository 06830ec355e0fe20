import type { SQSRecord } from 'aws-lambda';
import { circuitGate, concurrencyCap, rateLimit } from '../core/endpoint-health';
import type { DeliveryMessage, SubscriptionRecord } from '../core/records';
import { defer, LEASE_MARGIN_MS, PARKED_MEMORY, type DispatchContext } from './context';
import { METRICS, type HeldBackMetric } from '../core/metrics';

/** A delivery that finds another dispatcher's probe just claimed looks again in this many seconds (plus jitter). */
const PROBE_TAKEN_WAIT_SECONDS = 5;

/** What the endpoint's gates granted an attempt. */
export interface Passage {
  probe: boolean;
  /** The probe's hold, to give it back when no POST follows. */
  probeUntil?: number;
  /** Concurrency slot held for the POST. */
  slot?: number;
}

/** The gates stage's result: passed (with what it holds), or held back as a delayed message. */
export type GateResult = { kind: 'passed'; passage: Passage } | { kind: 'held' };

const HELD: GateResult = { kind: 'held' };

/**
 * The endpoint's circuit, rate limit and concurrency cap, in that order. A delivery they hold back
 * waits as a delayed message and consumes no attempt.
 */
export async function passGates(
  ctx: DispatchContext,
  message: DeliveryMessage,
  record: SQSRecord,
  subscription: SubscriptionRecord,
  at: Date,
  deadline: number,
): Promise<GateResult> {
  const { deps, settings, random } = ctx;
  const nowMs = at.getTime();
  const circuit = circuitGate(subscription.circuit, at, random);
  if (circuit.kind === 'wait') return held(ctx, message, circuit.seconds, METRICS.circuitOpen);
  if (!(await passRateLimit(ctx, message, subscription))) return HELD;
  const cap = concurrencyCap(subscription, settings, deps.dispatcherConcurrency);
  const slot = cap === undefined ? undefined : await deps.gates.takeSlot(subscription.id, cap, record.messageId, deadline + LEASE_MARGIN_MS, nowMs, random);
  if (cap !== undefined && slot === undefined) return held(ctx, message, 1 + Math.floor(random() * 3), METRICS.concurrencyCapped);
  const passage: Passage = { probe: false, ...(slot === undefined ? {} : { slot }) };
  // The probe is claimed last, once nothing else can hold this delivery back.
  if (circuit.kind === 'probe') {
    const probeUntil = deadline + LEASE_MARGIN_MS;
    if (!(await deps.subscriptions.claimProbe(subscription.fleetId, subscription.id, nowMs, probeUntil))) {
      if (slot !== undefined) await deps.gates.releaseSlot(subscription.id, slot, record.messageId);
      return held(ctx, message, PROBE_TAKEN_WAIT_SECONDS + Math.floor(random() * PROBE_TAKEN_WAIT_SECONDS), METRICS.circuitOpen);
    }
    passage.probe = true;
    passage.probeUntil = probeUntil;
  }
  return { kind: 'passed', passage };
}

/** Gives back what the gates granted: the slot always, the probe when no POST followed. */
export async function releasePassage(
  ctx: DispatchContext,
  passage: Passage,
  subscription: SubscriptionRecord,
  record: SQSRecord,
  posted: boolean,
): Promise<void> {
  const { deps } = ctx;
  if (passage.slot !== undefined) await deps.gates.releaseSlot(subscription.id, passage.slot, record.messageId);
  // A probe that made no POST (a duplicate, another POST in flight) hands the circuit back at once.
  if (passage.probeUntil !== undefined && !posted) await deps.subscriptions.releaseProbe(subscription.fleetId, subscription.id, passage.probeUntil);
}

/** The subscription's rate limit: false when the delivery was sent back to wait for a token. */
async function passRateLimit(ctx: DispatchContext, message: DeliveryMessage, subscription: SubscriptionRecord): Promise<boolean> {
  const limit = rateLimit(subscription, ctx.settings);
  if (limit === undefined) return true;
  // The clock of the token is read now, not at the record's start: the POST follows within milliseconds.
  const tokenAt = ctx.now().getTime();
  const second = Math.floor(tokenAt / 1000);
  // Once this second's tokens are known to be gone, later deliveries wait without asking the table.
  const spent = ctx.spentSeconds.get(subscription.id) === second;
  if (spent || !(await ctx.deps.gates.takeRateToken(subscription.id, limit, tokenAt))) {
    if (!spent) {
      if (ctx.spentSeconds.size >= PARKED_MEMORY) ctx.spentSeconds.clear();
      ctx.spentSeconds.set(subscription.id, second);
    }
    await defer(ctx, message, rateWait(ctx, subscription.id, limit, tokenAt), METRICS.rateLimited);
    return false;
  }
  return true;
}

async function held(ctx: DispatchContext, message: DeliveryMessage, seconds: number, metric: HeldBackMetric): Promise<GateResult> {
  await defer(ctx, message, seconds, metric);
  return HELD;
}

/**
 * How long a rate-limited delivery waits: the earliest coming second that this container has
 * not yet filled with `limit` waiting deliveries, so they come back at the limit's pace, in order,
 * instead of all in the next second.
 */
function rateWait(ctx: DispatchContext, subscriptionId: string, limit: number, nowMs: number): number {
  const current = Math.floor(nowMs / 1000);
  let plan = ctx.rateSchedule.get(subscriptionId);
  if (plan === undefined || plan.second <= current) plan = { second: current + 1, used: 0 };
  if (plan.used >= limit) plan = { second: plan.second + 1, used: 0 };
  plan.used += 1;
  if (ctx.rateSchedule.size >= PARKED_MEMORY) ctx.rateSchedule.clear();
  ctx.rateSchedule.set(subscriptionId, plan);
  return plan.second - current;
}
