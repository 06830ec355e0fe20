import { describe, expect, it } from 'vitest';
import {
  MAX_MESSAGE_DELAY_SECONDS,
  judgeRefusedClaim,
  nextHop,
  planAttempt,
  planWait,
  scheduleSpanSeconds,
  type ClaimVerdict,
  type DeliveryPlan,
  type MessageTurn,
  type PlanInput,
  type PlannedOutcome,
} from '../../../lambdas/core/delivery-policy';
import type { DeliveryProgress } from '../../../lambdas/core/records';
import { MAX_RETRY_WAIT_SECONDS, parseDeploymentSettings } from '../../../lambdas/core/settings';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const DAY_MS = 86_400_000;
const SETTINGS = parseDeploymentSettings({ retryDelaysSeconds: [5, 30, 120], retryJitter: 0, maxAttempts: 4, autoDisableAfterDays: 5 });

function plan(outcome: PlannedOutcome, attempt: number, extra: Partial<PlanInput> = {}): DeliveryPlan {
  return planAttempt({ outcome, attempt, allowed: 4, now: NOW, settings: SETTINGS, random: () => 0.5, ...extra });
}

const GONE = expect.stringMatching(/410/);
const DELETE = { kind: 'delete' } as const;
const TO_DLQ = { kind: 'to-dlq' } as const;
const next = (attempt: number, waitSeconds: number) => ({ kind: 'send-next', attempt, waitSeconds }) as const;

describe('planAttempt: what an attempt means, by outcome and attempt number', () => {
  it.each<[PlannedOutcome, number, DeliveryPlan]>([
    // A success ends the round wherever it falls.
    ['succeeded', 1, { status: 'succeeded', message: DELETE }],
    ['succeeded', 4, { status: 'succeeded', message: DELETE }],
    // 410 Gone disables the subscription at once, last attempt or not.
    ['disable', 1, { status: 'disabled', message: DELETE, disableReason: GONE }],
    ['disable', 4, { status: 'disabled', message: DELETE, disableReason: GONE }],
    // A status retrying cannot fix (other 4xx, 3xx, a blocked address): failed for good, not for the DLQ.
    ['failed', 1, { status: 'failed', message: DELETE }],
    ['failed', 4, { status: 'failed', message: DELETE }],
    // Retryable: the next attempt's message after the schedule's delay, until the last allowed attempt.
    ['retry', 1, { status: 'pending', retryInSeconds: 5, message: next(2, 5) }],
    ['retry', 2, { status: 'pending', retryInSeconds: 30, message: next(3, 30) }],
    ['retry', 3, { status: 'pending', retryInSeconds: 120, message: next(4, 120) }],
    ['retry', 4, { status: 'failed', message: TO_DLQ }],
    // Past the allowed attempts (the subscription lowered its maxAttempts mid-round): exhausted too.
    ['retry', 5, { status: 'failed', message: TO_DLQ }],
    // An interrupted attempt counts, and goes on by the schedule like a retryable one.
    ['interrupted', 1, { status: 'pending', retryInSeconds: 5, message: next(2, 5) }],
    ['interrupted', 3, { status: 'pending', retryInSeconds: 120, message: next(4, 120) }],
    ['interrupted', 4, { status: 'failed', message: TO_DLQ }],
  ])('%s at attempt %i of 4', (outcome, attempt, expected) => {
    expect(plan(outcome, attempt)).toEqual(expected);
  });

  it('one allowed attempt: a retryable outcome of the first attempt is already exhausted', () => {
    expect(plan('retry', 1, { allowed: 1 })).toEqual({ status: 'failed', message: TO_DLQ });
    expect(plan('succeeded', 1, { allowed: 1 })).toEqual({ status: 'succeeded', message: DELETE });
  });

  it.each<[number | undefined, Partial<PlanInput['settings']>, number]>([
    [undefined, {}, 5],
    // Retry-After is a minimum: a shorter one never shortens the schedule.
    [2, {}, 5],
    [0, {}, 5],
    [-10, {}, 5],
    [Number.NaN, {}, 5],
    [10, {}, 10],
    [3_600, {}, 3_600],
    // A day is capped at retryAfterMaxSeconds (12 h by default), and by a lower configured cap.
    [86_400, {}, 43_200],
    [86_400, { retryAfterMaxSeconds: 600 }, 600],
    [Number.POSITIVE_INFINITY, {}, 43_200],
  ])('Retry-After %s (settings %j) → next attempt in %i s', (retryAfterSeconds, overrides, wait) => {
    const result = plan('retry', 1, {
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
      settings: { ...SETTINGS, ...overrides },
    });
    expect(result).toEqual({ status: 'pending', retryInSeconds: wait, message: next(2, wait) });
  });

  it('Retry-After never extends the round: at the last attempt it is exhausted all the same', () => {
    expect(plan('retry', 4, { retryAfterSeconds: 60 })).toEqual({ status: 'failed', message: TO_DLQ });
  });

  it('applies jitter through the injected random source, within ±retryJitter', () => {
    const jittered = { ...SETTINGS, retryJitter: 0.2 };
    expect(plan('retry', 2, { settings: jittered, random: () => 0 }).retryInSeconds).toBe(24);
    expect(plan('retry', 2, { settings: jittered, random: () => 1 }).retryInSeconds).toBe(36);
  });

  describe('auto-disable after autoDisableAfterDays of failing', () => {
    const longAgo = new Date(NOW.getTime() - 6 * DAY_MS).toISOString();
    const recently = new Date(NOW.getTime() - 4 * DAY_MS).toISOString();
    const exactlyAtLimit = new Date(NOW.getTime() - 5 * DAY_MS).toISOString();
    const disabledSince = { status: 'disabled', message: DELETE, disableReason: expect.stringContaining(longAgo) };

    it.each<[PlannedOutcome, number]>([
      ['retry', 1],
      ['retry', 4],
      ['failed', 1],
      ['interrupted', 2],
    ])('%s at attempt %i after a streak longer than the limit disables the subscription', (outcome, attempt) => {
      expect(plan(outcome, attempt, { failingSince: longAgo })).toEqual(disabledSince);
    });

    it('names the limit in the reason', () => {
      expect(plan('retry', 1, { failingSince: longAgo }).disableReason).toMatch(/auto-disable after 5 days/);
    });

    it('a streak within the limit (or exactly at it) goes on by the schedule', () => {
      expect(plan('retry', 1, { failingSince: recently })).toEqual({ status: 'pending', retryInSeconds: 5, message: next(2, 5) });
      expect(plan('retry', 1, { failingSince: exactlyAtLimit }).status).toBe('pending');
      expect(plan('failed', 1, { failingSince: recently })).toEqual({ status: 'failed', message: DELETE });
      expect(plan('retry', 4, { failingSince: recently })).toEqual({ status: 'failed', message: TO_DLQ });
    });

    it('a success ends the streak instead, however old', () => {
      expect(plan('succeeded', 2, { failingSince: longAgo })).toEqual({ status: 'succeeded', message: DELETE });
    });

    it('410 keeps its own reason', () => {
      expect(plan('disable', 1, { failingSince: longAgo })).toEqual({ status: 'disabled', message: DELETE, disableReason: GONE });
    });
  });
});

describe('planWait and nextHop: a wait carried by SQS message delays', () => {
  it.each<[number, { delaySeconds: number; notBefore?: string }]>([
    [0, { delaySeconds: 0 }],
    [-3, { delaySeconds: 0 }],
    [1.2, { delaySeconds: 2 }],
    [5, { delaySeconds: 5 }],
    [900, { delaySeconds: 900 }],
    // Past SQS's 15-minute DelaySeconds: a full hop, and the due time travels in the message.
    [901, { delaySeconds: 900, notBefore: new Date(NOW.getTime() + 901_000).toISOString() }],
    [43_200, { delaySeconds: 900, notBefore: new Date(NOW.getTime() + 43_200_000).toISOString() }],
  ])('a wait of %s s → %j', (wait, expected) => {
    expect(planWait(wait, NOW)).toEqual(expected);
  });

  it('never asks SQS for a delay above 900 s', () => {
    expect(MAX_MESSAGE_DELAY_SECONDS).toBe(900);
    for (const wait of [899, 900, 901, 1_800, MAX_RETRY_WAIT_SECONDS]) expect(planWait(wait, NOW).delaySeconds).toBeLessThanOrEqual(900);
  });

  const inMs = (ms: number) => new Date(NOW.getTime() + ms).toISOString();

  it.each<[string, string | undefined, { delaySeconds: number; notBefore?: string } | undefined]>([
    ['no notBefore: due', undefined, undefined],
    ['past: due', inMs(-60_000), undefined],
    ['within a second: due', inMs(500), undefined],
    ['exactly a second away: due', inMs(1_000), undefined],
    ['1.5 s away: one short hop', inMs(1_500), { delaySeconds: 2 }],
    ['300 s away: the last hop, without notBefore', inMs(300_000), { delaySeconds: 300 }],
    ['900 s away: the last hop', inMs(900_000), { delaySeconds: 900 }],
    ['901 s away: a full hop, still carrying notBefore', inMs(901_000), { delaySeconds: 900, notBefore: inMs(901_000) }],
    ['11 h away: a full hop', inMs(11 * 3_600_000), { delaySeconds: 900, notBefore: inMs(11 * 3_600_000) }],
  ])('%s', (_name, notBefore, expected) => {
    expect(nextHop(notBefore, NOW)).toEqual(expected);
  });

  it('hops of a 12 h wait reach the due time in 48 sends and then the attempt is made', () => {
    let at = NOW;
    let wait = planWait(43_200, at);
    let sends = 1;
    for (; wait.notBefore !== undefined && sends < 100; sends += 1) {
      at = new Date(at.getTime() + wait.delaySeconds * 1000);
      const hop = nextHop(wait.notBefore, at);
      if (hop === undefined) break;
      wait = hop;
    }
    at = new Date(at.getTime() + wait.delaySeconds * 1000);
    expect(nextHop(wait.notBefore, at)).toBeUndefined();
    expect(at.getTime() - NOW.getTime()).toBe(43_200_000);
    expect(sends).toBe(48);
  });
});

describe('judgeRefusedClaim: what a message means given the recorded progress', () => {
  const T = NOW.getTime();
  const R1 = '01JNKV3Y0RZ8W5T2P4M6Q9B7CD';
  const R2 = '01JNKV3Y0RZ8W5T2P4M6Q9B7CE';
  const FRESH = '01JNKV3Y0RZ8W5T2P4M6Q9B7ZZ';
  const turn = (overrides: Partial<MessageTurn> = {}): MessageTurn => ({ round: '0', attempt: 1, messageId: 'm-1', ...overrides });
  const progress = (overrides: Partial<DeliveryProgress> = {}): DeliveryProgress => ({
    id: 'dlv_1',
    status: 'pending',
    round: '0',
    rounds: 1,
    started: 1,
    completed: 1,
    ...overrides,
  });
  let newRounds: number;
  const judge = (stored: DeliveryProgress | undefined, message: MessageTurn): ClaimVerdict => {
    newRounds = 0;
    return judgeRefusedClaim(stored, message, T, () => {
      newRounds += 1;
      return FRESH;
    });
  };

  it.each<[string, DeliveryProgress | undefined, MessageTurn, ClaimVerdict]>([
    ['the item vanished (TTL): attempt 1 claims again as a new round', undefined, turn(), { kind: 'attempt', round: '0', attempt: 1, newRound: true }],
    ['the item vanished: a later attempt claims again as is', undefined, turn({ attempt: 3 }), { kind: 'attempt', round: '0', attempt: 3, newRound: false }],
    // Another POST of the delivery is in flight: look again once its lease has run out (with a second to spare).
    ['a live lease → wait', progress({ started: 1, completed: 0, leaseUntil: T + 20_000 }), turn(), { kind: 'wait', seconds: 21 }],
    ['a lease ending this very moment is still live', progress({ started: 1, completed: 0, leaseUntil: T }), turn(), { kind: 'wait', seconds: 1 }],
    ['a live lease of a later round → wait too', progress({ round: R1, started: 1, completed: 0, leaseUntil: T + 5_500 }), turn(), { kind: 'wait', seconds: 7 }],
    // Rounds: ids sort in time; '0' is the fan-out's.
    ['a later round has begun → drop', progress({ round: R1 }), turn({ attempt: 3 }), { kind: 'drop', why: 'a later round has begun' }],
    ['an older ULID round than the stored one → drop', progress({ round: R2 }), turn({ round: R1 }), { kind: 'drop', why: 'a later round has begun' }],
    ['the message begins a newer round → attempt', progress({ status: 'failed', started: 4, completed: 4 }), turn({ round: R1 }), { kind: 'attempt', round: R1, attempt: 1, newRound: true }],
    ['no round stored yet (ended without an attempt) → attempt', progress({ round: undefined, status: 'disabled', started: undefined, completed: undefined }), turn({ attempt: 2 }), { kind: 'attempt', round: '0', attempt: 2, newRound: true }],
    // Within the current round.
    ['a later attempt has begun → drop', progress({ started: 3, completed: 2, leaseUntil: T - 1 }), turn({ attempt: 2 }), { kind: 'drop', why: 'a later attempt has begun' }],
    ['the claimed attempt never reported and its lease ran out → interrupted', progress({ started: 2, completed: 1, leaseUntil: T - 1 }), turn({ attempt: 2 }), { kind: 'interrupted', round: '0', attempt: 2 }],
    ['a brand-new delivery whose first claim never reported → interrupted', { id: 'dlv_1', round: '0', rounds: 1, started: 1, completed: 0, leaseUntil: T - 1 }, turn(), { kind: 'interrupted', round: '0', attempt: 1 }],
    ['already delivered in this round → drop', progress({ status: 'succeeded' }), turn(), { kind: 'drop', why: 'already delivered in this round' }],
    ['a duplicate of a later attempt after success → drop', progress({ status: 'succeeded', started: 2, completed: 2 }), turn({ attempt: 2 }), { kind: 'drop', why: 'already delivered in this round' }],
    // Recorded, but its next attempt's message may never have been sent: send it (again), for the wait that remains.
    ['pending and recorded → resend-next with the remaining wait', progress({ nextAttemptAt: new Date(T + 20_000).toISOString() }), turn(), { kind: 'resend-next', round: '0', attempt: 2, waitSeconds: 20 }],
    ['pending and recorded, a fraction of a second left → rounded up', progress({ nextAttemptAt: new Date(T + 1_200).toISOString() }), turn(), { kind: 'resend-next', round: '0', attempt: 2, waitSeconds: 2 }],
    ['pending and recorded, the wait is over → resend-next now', progress({ started: 3, completed: 3, nextAttemptAt: new Date(T - 60_000).toISOString() }), turn({ attempt: 3 }), { kind: 'resend-next', round: '0', attempt: 4, waitSeconds: 0 }],
    ['pending and recorded without a next time → resend-next now', progress(), turn(), { kind: 'resend-next', round: '0', attempt: 2, waitSeconds: 0 }],
    ['a ULID round, pending and recorded → resend-next in that round', progress({ round: R1, rounds: 2 }), turn({ round: R1 }), { kind: 'resend-next', round: R1, attempt: 2, waitSeconds: 0 }],
    // The next attempt's message, refused only by a race with the previous attempt's record: claim again.
    ['the next attempt after a recorded one → attempt', progress({ started: 1, completed: 1 }), turn({ attempt: 2 }), { kind: 'attempt', round: '0', attempt: 2, newRound: false }],
    // Exhausted.
    ['failed, and this is the parked message → to-dlq', progress({ status: 'failed', started: 4, completed: 4, parkedMessageId: 'm-1' }), turn({ attempt: 4 }), { kind: 'to-dlq' }],
    ['failed past maxAttempts without an attempt, the parked message → to-dlq', progress({ status: 'failed', started: 2, completed: 2, parkedMessageId: 'm-1' }), turn({ attempt: 3 }), { kind: 'to-dlq' }],
    // A DLQ redrive moves the parked message's body back under a new message id: same nonce.
    ['failed, the parked body under another message id (a DLQ redrive) → a new round', progress({ status: 'failed', started: 4, completed: 4, parkedMessageId: 'm-parked', parkedNonce: 'n-parked' }), turn({ attempt: 4, messageId: 'm-redriven', nonce: 'n-parked' }), { kind: 'attempt', round: FRESH, attempt: 1, newRound: true }],
    // Any other copy of a message of the failed round (an SQS duplicate, a copy sent before it failed) is not a redrive.
    ['failed, a stray copy with another nonce → drop', progress({ status: 'failed', started: 4, completed: 4, parkedMessageId: 'm-parked', parkedNonce: 'n-parked' }), turn({ attempt: 4, messageId: 'm-stray', nonce: 'n-other' }), { kind: 'drop', why: 'a stray copy of a message of a failed round' }],
    ['failed, a stray copy of an earlier attempt → drop', progress({ status: 'failed', started: 4, completed: 4, parkedMessageId: 'm-parked', parkedNonce: 'n-parked' }), turn({ attempt: 4, messageId: 'm-stray', nonce: 'n-3' }), { kind: 'drop', why: 'a stray copy of a message of a failed round' }],
    ['failed, a copy without a nonce (sent before nonces) → drop', progress({ status: 'failed', started: 4, completed: 4, parkedMessageId: 'm-parked', parkedNonce: 'n-parked' }), turn({ attempt: 4, messageId: 'm-stray' }), { kind: 'drop', why: 'a stray copy of a message of a failed round' }],
    ['failed, parked before nonces: no copy can prove it is the redrive → drop', progress({ status: 'failed', started: 4, completed: 4, parkedMessageId: 'm-parked' }), turn({ attempt: 4, messageId: 'm-redriven' }), { kind: 'drop', why: 'a stray copy of a message of a failed round' }],
    // Failed for good (a 4xx, a blocked address): never parked for the DLQ, so no copy of its message
    // can be a redrive. A stray copy (a fan-out re-run, an SQS duplicate) must not POST again.
    ['failed for good, a copy of its message → drop', progress({ status: 'failed', started: 1, completed: 1 }), turn({ messageId: 'm-copy' }), { kind: 'drop', why: 'the delivery failed for good in this round' }],
    ['failed for good at attempt 2, a copy of that message → drop', progress({ status: 'failed', started: 2, completed: 2 }), turn({ attempt: 2, messageId: 'm-copy' }), { kind: 'drop', why: 'the delivery failed for good in this round' }],
    // The redriven message stands for attempt 1 of the round it began.
    ['the redrive trigger returning after its round ended → drop', progress({ status: 'failed', round: R1, rounds: 2, started: 1, completed: 1, roundTrigger: 'm-redriven' }), turn({ attempt: 4, messageId: 'm-redriven' }), { kind: 'drop', why: 'the round this redrive began has ended' }],
    ['the redrive trigger returning after its round succeeded → drop', progress({ status: 'succeeded', round: R1, rounds: 2, roundTrigger: 'm-redriven' }), turn({ attempt: 4, messageId: 'm-redriven' }), { kind: 'drop', why: 'already delivered in this round' }],
    ['the redrive trigger returning while its round goes on → drop', progress({ round: R1, rounds: 2, started: 2, completed: 1, leaseUntil: T - 1, roundTrigger: 'm-redriven' }), turn({ attempt: 4, messageId: 'm-redriven' }), { kind: 'drop', why: 'a later attempt has begun' }],
    ['the redrive trigger whose own attempt never reported → interrupted in its round', progress({ round: R1, rounds: 2, started: 1, completed: 0, leaseUntil: T - 1, roundTrigger: 'm-redriven' }), turn({ attempt: 4, messageId: 'm-redriven' }), { kind: 'interrupted', round: R1, attempt: 1 }],
    ['the redrive trigger of a pending round, recorded → resend-next in its round', progress({ round: R1, rounds: 2, roundTrigger: 'm-redriven', nextAttemptAt: new Date(T + 5_000).toISOString() }), turn({ attempt: 4, messageId: 'm-redriven' }), { kind: 'resend-next', round: R1, attempt: 2, waitSeconds: 5 }],
    // Disabled: the subscription is gone or disabled; nothing more to do.
    ['disabled → drop', progress({ status: 'disabled' }), turn(), { kind: 'drop', why: 'the delivery is disabled' }],
    ['disabled with a later attempt → drop', progress({ status: 'disabled', started: 2, completed: 2 }), turn({ attempt: 3 }), { kind: 'drop', why: 'the delivery is disabled' }],
  ])('%s', (_name, stored, message, expected) => {
    expect(judge(stored, message)).toEqual(expected);
  });

  it('asks for a new round id only for a redrive', () => {
    judge(progress({ status: 'failed', started: 4, completed: 4, parkedMessageId: 'm-parked', parkedNonce: 'n-parked' }), turn({ attempt: 4, messageId: 'm-redriven', nonce: 'n-parked' }));
    expect(newRounds).toBe(1);
    judge(progress({ status: 'failed', started: 4, completed: 4, parkedMessageId: 'm-parked', parkedNonce: 'n-parked' }), turn({ attempt: 4, messageId: 'm-stray', nonce: 'n-other' }));
    expect(newRounds).toBe(0);
    judge(progress({ status: 'failed', started: 4, completed: 4, parkedMessageId: 'm-1' }), turn({ attempt: 4 }));
    expect(newRounds).toBe(0);
    judge(progress(), turn({ round: R1 }));
    expect(newRounds).toBe(0);
  });

  it('a new round id from a redrive sorts after the round it replaces', () => {
    const verdict = judgeRefusedClaim(progress({ status: 'failed', round: R1, started: 4, completed: 4, parkedMessageId: 'm-parked', parkedNonce: 'n-parked' }), turn({ round: R1, attempt: 4, messageId: 'm-redriven', nonce: 'n-parked' }), T, () => R2);
    expect(verdict).toEqual({ kind: 'attempt', round: R2, attempt: 1, newRound: true });
    expect(R2 > R1 && R1 > '0').toBe(true);
  });
});

describe('scheduleSpanSeconds: the longest a round can take', () => {
  it('sums the waits between attempts at the largest jitter', () => {
    const settings = { ...SETTINGS, retryJitter: 0.2, retryAfterMaxSeconds: 0 };
    // Waits after attempts 1, 2, 3 of 4: 5, 30, 120 s, each × 1.2.
    expect(scheduleSpanSeconds(settings)).toEqual({ nominal: 6 + 36 + 144, worst: 6 + 36 + 144 });
  });

  it('repeats the last configured delay when maxAttempts needs more', () => {
    expect(scheduleSpanSeconds({ ...SETTINGS, maxAttempts: 6, retryAfterMaxSeconds: 0 }).nominal).toBe(5 + 30 + 120 + 120 + 120);
  });

  it('stretches every wait to the largest honoured Retry-After in the worst case', () => {
    expect(scheduleSpanSeconds({ ...SETTINGS, retryAfterMaxSeconds: 3_600 })).toEqual({ nominal: 155, worst: 3 * 3_600 });
    // A Retry-After cap below a configured delay never shortens it.
    expect(scheduleSpanSeconds({ ...SETTINGS, retryAfterMaxSeconds: 60 })).toEqual({ nominal: 155, worst: 60 + 60 + 120 });
  });

  it('a single attempt has no wait', () => {
    expect(scheduleSpanSeconds({ ...SETTINGS, maxAttempts: 1 })).toEqual({ nominal: 0, worst: 0 });
  });

  it('the defaults: about 20 h nominal (9 attempts), 4 days if every receiver asks for 12 h', () => {
    const defaults = parseDeploymentSettings({});
    const { nominal, worst } = scheduleSpanSeconds(defaults);
    // 5 s … 10 h, jittered by +20 %, each wait capped at 12 h.
    const expected = [5, 30, 120, 600, 3_600, 10_800, 21_600, 36_000].reduce((sum, delay) => sum + Math.min(Math.round(delay * 1.2), 43_200), 0);
    expect(nominal).toBe(expected);
    expect(worst).toBe(8 * 43_200);
    expect(worst).toBeLessThanOrEqual(defaults.eventRetentionDays * 86_400);
  });
});
