import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Smoke test of `npm run bench`: tiny sizes, every section, and a results file a machine can read.
 * It never asserts how fast anything is — only that the benchmark runs and reports sanely.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RUN_TIMEOUT_MS = 170_000;
const TINY = [
  '--quick',
  '--deliveries=20',
  '--large-deliveries=10',
  '--concurrency=10',
  '--rounds=1',
  '--fanout-sizes=1,12',
  '--fanout-messages=24',
  '--cold-runs=1',
  '--cost-events=1',
  '--cost-fanout=2',
  '--api-requests=3',
];

interface Figure {
  id: string;
  value: number | null;
  unit: string;
  baseline: { label: string; value: number | null };
  ratio: number | null;
  target?: { op: string; value: number; met: boolean };
}

let dir: string;
let run: { code: number; stdout: string; stderr: string };
let results: {
  machine: { cpuModel: string; cpus: number; node: string };
  sections: { id: number; title: string; figures: Figure[]; notes: string[]; error?: string }[];
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hookline-bench-smoke-'));
  const out = join(dir, 'results.json');
  run = await new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', ...TINY, `--out=${out}`],
      { cwd: ROOT, timeout: RUN_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr }),
    );
  });
  results = JSON.parse(await readFile(out, 'utf8'));
}, RUN_TIMEOUT_MS + 10_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('npm run bench --quick', () => {
  it('completes every section without an error', () => {
    const failed = results.sections.filter((section) => section.error !== undefined).map((section) => `${section.id}: ${section.error}`);
    expect(failed, run.stderr.slice(-2_000)).toEqual([]);
    expect(run.code).toBe(0);
    expect(results.sections.map((section) => section.id)).toEqual([1, 2, 3, 4, 5]);
  });

  it('records the machine it ran on', () => {
    expect(results.machine.cpuModel).toEqual(expect.any(String));
    expect(results.machine.cpuModel.length).toBeGreaterThan(0);
    expect(results.machine.cpus).toBeGreaterThan(0);
    expect(results.machine.node).toBe(process.version);
  });

  it('writes every figure with a positive baseline and its ratio', () => {
    const figures = results.sections.flatMap((section) => section.figures);
    expect(new Set(figures.map((entry) => entry.id)).size).toBe(figures.length);
    for (const section of results.sections) expect(section.figures.length, `section ${section.id}`).toBeGreaterThan(0);
    for (const entry of figures) {
      expect(entry.value, entry.id).toEqual(expect.any(Number));
      // A count may rightly be zero (Secrets Manager calls per warm delivery); a cost or a rate may not.
      if (entry.unit === 'calls') expect(entry.value as number, entry.id).toBeGreaterThanOrEqual(0);
      else expect(entry.value as number, entry.id).toBeGreaterThan(0);
      expect(entry.baseline.value as number, entry.id).toBeGreaterThan(0);
      expect(entry.ratio as number, entry.id).toBeCloseTo((entry.value as number) / (entry.baseline.value as number), 6);
      if (entry.target !== undefined) expect(entry.target.met).toBe(entry.target.op === '>=' ? (entry.ratio as number) >= entry.target.value : (entry.ratio as number) <= entry.target.value);
    }
  });

  it('prints a table with every section on stdout', () => {
    for (const section of results.sections) expect(run.stdout).toContain(`${section.id}. ${section.title}`);
    expect(run.stdout).toMatch(/figure\s+Hookline\s+baseline\s+ratio\s+target/);
    expect(run.stdout).toContain(`Node ${process.version}`);
  });
});
