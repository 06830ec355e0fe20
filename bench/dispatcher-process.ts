import type { SubscriptionRecord } from '../lambdas/core/records';
import { startWorker } from './worker';

/** How the dispatcher under test reaches AWS, and whether it traces as the stack deploys it. */
export interface DispatcherProcessConfig {
  /** `memory`: the SDK clients' send answered in process; `loopback`: the SDK's real path to the loopback store. */
  store: 'memory' | 'loopback';
  /** Lambda's environment as deployed with active tracing (execution env, task root, X-Ray daemon, a sampled trace id per invocation). */
  traced: boolean;
  /** The handler's own variables (tables, queue, settings, POWERTOOLS_*). */
  env: Record<string, string>;
  /** Set with `loopback`: `http://127.0.0.1:<port>`. */
  storeOrigin?: string;
  /** Set with `traced`: the UDP X-Ray daemon stand-in. */
  xrayAddress?: string;
  fleetId: string;
  queueName: string;
  /** Subscriptions by variant id. */
  subscriptions: Record<string, SubscriptionRecord[]>;
  /** For the in-memory AWS: SecretString by secret ARN (the key ring). */
  secrets: Record<string, string>;
  subscriptionsTable: string;
}

export interface DispatcherRun {
  variantId: string;
  count: number;
  envelopeBytes: number;
  concurrency: number;
  timeLimitMs: number;
}

export interface DispatcherRunResult {
  completed: number;
  itemFailures: number;
  elapsedMs: number;
  /** CPU time (user + system) of the dispatcher's process during the run, in µs. */
  cpuMicros: number;
  /** undici request created → response complete, per webhook POST, in ms. */
  latencies: number[];
  /** In-memory AWS calls per command (memory store only). */
  calls: Record<string, number>;
}

export interface DispatcherProcess {
  pid: number;
  run(run: DispatcherRun): Promise<DispatcherRunResult>;
  close(): Promise<void>;
}

/** Starts dispatcher-main.ts: the dispatcher's Lambda entry module alone in a process, so its CPU time is its own. */
export async function startDispatcherProcess(config: DispatcherProcessConfig): Promise<DispatcherProcess> {
  const worker = await startWorker<{ pid: number }>('dispatcher-main.ts', { BENCH_DISPATCHER_CONFIG: JSON.stringify(config) });
  return {
    pid: worker.ready.pid,
    run: (run) => worker.request<DispatcherRunResult>({ type: 'run', ...run }, run.timeLimitMs + 30_000),
    close: () => worker.close(),
  };
}
