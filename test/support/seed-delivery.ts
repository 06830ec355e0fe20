import { FIRST_ROUND, type AttemptRecord } from '../../lambdas/core/records';
import type { AttemptWrite, DeliveriesStore } from '../../lambdas/shared/deliveries-store';

/** An attempt to seed: its round number is filled in from the claim unless given. */
export type SeedAttempt = Omit<AttemptRecord, 'round'> & { round?: number };

export interface SeedAttemptWrite extends Omit<AttemptWrite, 'round' | 'holder' | 'attempt'> {
  attempt: SeedAttempt;
  /** Round id; the fan-out's first round unless given. */
  round?: string;
  /** The claim's holder (an SQS message id); a name made from the delivery and attempt unless given. */
  holder?: string;
}

/**
 * Seeds a delivery record the way the dispatcher writes one: claims the attempt (attempt 1 begins
 * the round, a later one must follow the recorded one), then records it as the claim's holder.
 * Throws when the claim is refused, so a seeding mistake cannot pass for an empty record.
 */
export async function seedDeliveryAttempt(store: DeliveriesStore, write: SeedAttemptWrite): Promise<'recorded' | 'stale'> {
  const round = write.round ?? FIRST_ROUND;
  const number = write.attempt.attempt;
  const holder = write.holder ?? `seed-${write.identity.id}-${round}-${number}`;
  const at = Date.parse(write.attempt.at);
  const now = Number.isNaN(at) ? Date.now() : at;
  const claim = await store.claim({
    id: write.identity.id,
    round,
    attempt: number,
    holder,
    leaseUntil: now + 60_000,
    now,
    newRound: number === 1,
    expiresAt: write.expiresAt,
  });
  if (!claim.claimed) {
    throw new Error(`seeding ${write.identity.id} attempt ${number} of round ${round}: claim refused (${JSON.stringify(claim.progress)})`);
  }
  const { round: _round, holder: _holder, attempt, ...rest } = write;
  return store.recordAttempt({ ...rest, round, holder, attempt: { ...attempt, round: attempt.round ?? claim.roundNumber } });
}
