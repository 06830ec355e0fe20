import { mkdir, writeFile } from 'node:fs/promises';
import { arch, cpus, platform, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runChild, type SectionRequest } from './child';
import { parseOptions, USAGE, type BenchOptions, type SectionId } from './options';
import { DEFAULT_RESULTS_PATH } from './paths';
import type { BenchResults, MachineInfo, SectionResult } from './results';
import type { SectionOutcome } from './section';
import { runBundleSection } from './sections/bundles';
import { renderHeader, renderSection } from './table';

/** `npm run bench`: runs the sections one after another, prints each as it finishes, writes results.json. */

const TITLES: Record<SectionId, string> = {
  1: 'Dispatcher throughput',
  2: 'Fan-out',
  3: 'Cold start and bundle size',
  4: 'Requests and cost per delivery',
  5: 'API latency',
  6: 'Noisy neighbour',
};

/** A section that takes longer than this is stopped and reported as failed. */
const SECTION_TIMEOUT_MS = { full: 900_000, quick: 120_000 };

function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cpus: list.length,
    totalMemoryMB: Math.round(totalmem() / 1024 / 1024),
    platform: platform(),
    arch: arch(),
    node: process.version,
  };
}

async function runSection(id: SectionId, options: BenchOptions): Promise<SectionResult> {
  const started = performance.now();
  try {
    const outcome =
      id === 3
        ? await runBundleSection(options)
        : await runChild<SectionOutcome>('section-main.ts', { section: id, options } satisfies SectionRequest, SECTION_TIMEOUT_MS[options.quick ? 'quick' : 'full']);
    return { id, ...outcome, durationMs: performance.now() - started };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { id, title: TITLES[id], figures: [], notes: [], details: {}, durationMs: performance.now() - started, error: message };
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log(USAGE);
    return;
  }
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2), DEFAULT_RESULTS_PATH);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 2;
    return;
  }
  const started = performance.now();
  const results: BenchResults = {
    startedAt: new Date().toISOString(),
    durationMs: 0,
    machine: machineInfo(),
    options: { ...options },
    sections: [],
  };
  process.stdout.write(`${renderHeader(results.machine, results.startedAt).join('\n')}\n`);
  for (const id of options.sections) {
    process.stderr.write(`[bench] section ${id}: ${TITLES[id]}…\n`);
    const section = await runSection(id, options);
    results.sections.push(section);
    process.stdout.write(`\n${renderSection(section).join('\n')}\n`);
  }
  results.durationMs = performance.now() - started;
  const out = resolve(options.out);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(results, jsonNumbers, 2)}\n`);
  process.stdout.write(`\nresults: ${out} (${(results.durationMs / 1000).toFixed(1)} s)\n`);
  if (results.sections.some((section) => section.error !== undefined)) process.exitCode = 1;
}

/** JSON has no NaN or Infinity; a figure that could not be computed is written as null. */
function jsonNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}

await main();
