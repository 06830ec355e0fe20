import { ratio } from './stats';

/**
 * Shapes of bench/results.json. Every figure carries the baseline it was divided by, measured in
 * the same run: absolute numbers from a shared machine are noise, their ratios are not.
 */

export interface Target {
  /** `>=`: the ratio should be at least `value`; `<=`: at most. */
  op: '>=' | '<=';
  value: number;
  met: boolean;
}

export interface Figure {
  /** Stable key, e.g. `dispatch.1kb.throughput`. */
  id: string;
  label: string;
  value: number;
  unit: string;
  baseline: { label: string; value: number };
  /** value / baseline.value. */
  ratio: number;
  target?: Target;
}

export interface SectionResult {
  id: number;
  title: string;
  figures: Figure[];
  /** Extra rows printed under the figures (counts, sizes, assumptions). */
  notes: string[];
  /** Everything else measured, for readers of the JSON. */
  details: Record<string, unknown>;
  durationMs: number;
  /** Set when the section failed; its figures are then absent. */
  error?: string;
}

export interface MachineInfo {
  cpuModel: string;
  cpus: number;
  totalMemoryMB: number;
  platform: string;
  arch: string;
  node: string;
}

export interface BenchResults {
  startedAt: string;
  durationMs: number;
  machine: MachineInfo;
  options: Record<string, unknown>;
  sections: SectionResult[];
}

export interface FigureInput {
  id: string;
  label: string;
  value: number;
  unit: string;
  baselineLabel: string;
  baselineValue: number;
  target?: { op: '>=' | '<='; value: number };
}

export function figure(input: FigureInput): Figure {
  const value = ratio(input.value, input.baselineValue);
  const result: Figure = {
    id: input.id,
    label: input.label,
    value: input.value,
    unit: input.unit,
    baseline: { label: input.baselineLabel, value: input.baselineValue },
    ratio: value,
  };
  if (input.target !== undefined) {
    const met = input.target.op === '>=' ? value >= input.target.value : value <= input.target.value;
    result.target = { ...input.target, met: Number.isFinite(value) && met };
  }
  return result;
}
