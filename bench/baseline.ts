import { startWorker, type WorkerProcess } from './worker';

/** A bare POST loop: what the dispatcher's throughput is divided by. */
export interface BaselineRun {
  origin: string;
  path: string;
  body: string;
  /** Sign each request with both schemes (bare node:crypto), as Hookline does. */
  signWith?: { secrets: string[]; headerPrefix: string };
  /** After each POST, this many SigV4-signed DynamoDB UpdateItems to this store (the fair floor's record write). */
  storeWrites?: { origin: string; count: number };
  count: number;
  concurrency: number;
  timeLimitMs: number;
}

export interface BaselineResult {
  completed: number;
  errors: number;
  elapsedMs: number;
  /** CPU time (user + system) of the baseline process during the run, in µs. */
  cpuMicros: number;
  /** Per request, undici request created → response complete, in ms. */
  latencies: number[];
}

export interface BaselineClient {
  run(run: BaselineRun): Promise<BaselineResult>;
  close(): Promise<void>;
}

/** Starts baseline-main.ts: undici only, none of Hookline's modules loaded. */
export async function startBaselineClient(): Promise<BaselineClient> {
  const worker: WorkerProcess<{ pid: number }> = await startWorker('baseline-main.ts');
  return {
    run: (run) => worker.request<BaselineResult>({ type: 'run', ...run }, run.timeLimitMs + 30_000),
    close: () => worker.close(),
  };
}
