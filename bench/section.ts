import type { SectionResult } from './results';

/** What a section returns; the runner adds its number and duration. */
export type SectionOutcome = Omit<SectionResult, 'id' | 'durationMs'>;

/** A time bound for a loop: `expired()` turns true `ms` after this call, so no loop can hang the run. */
export function deadline(ms: number): { expired: () => boolean } {
  const end = performance.now() + ms;
  return { expired: () => performance.now() >= end };
}
