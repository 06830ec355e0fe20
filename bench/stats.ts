/** Order statistics over raw samples; no smoothing, so a p99 is a real observed value. */

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  mean: number;
}

/** Nearest-rank percentile of `samples` (need not be sorted); NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

export function summarize(samples: readonly number[]): LatencySummary {
  const mean = samples.length === 0 ? Number.NaN : samples.reduce((sum, value) => sum + value, 0) / samples.length;
  return { count: samples.length, p50: percentile(samples, 50), p99: percentile(samples, 99), mean };
}

/** `value / baseline`, or NaN when the baseline is not a positive number. */
export function ratio(value: number, baseline: number): number {
  return Number.isFinite(value) && Number.isFinite(baseline) && baseline > 0 ? value / baseline : Number.NaN;
}
