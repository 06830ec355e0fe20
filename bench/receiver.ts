import { startWorker } from './worker';

export interface ReceiverConfig {
  /** Signing secrets, current first: `/hook/…` is checked with the first, `/rotated/…` with each. */
  secrets: string[];
  headerPrefix: string;
  /** Requests to `/hook/…` or `/rotated/…` whose signatures are checked after each reset. */
  verifySample: number;
}

export interface ReceiverStats {
  /** Requests to `/hook/…` and `/rotated/…`. */
  hook: number;
  plain: number;
  bytes: number;
  verified: number;
  verifyFailures: number;
  firstFailure?: string;
}

export interface Receiver {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  stats(): Promise<ReceiverStats>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

const REPLY_TIMEOUT_MS = 10_000;

/** Starts receiver-main.ts in its own process and waits until it listens. */
export async function startReceiver(config: ReceiverConfig): Promise<Receiver> {
  const worker = await startWorker<{ port: number }>('receiver-main.ts', { BENCH_RECEIVER_CONFIG: JSON.stringify(config) });
  return {
    origin: `http://127.0.0.1:${worker.ready.port}`,
    stats: () => worker.request<ReceiverStats>({ type: 'stats' }, REPLY_TIMEOUT_MS),
    reset: async () => {
      await worker.request({ type: 'reset' }, REPLY_TIMEOUT_MS);
    },
    close: () => worker.close(),
  };
}
