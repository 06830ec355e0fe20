import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SubscriptionRecord } from '../lambdas/core/records';
import { startWorker } from './worker';

/** What the loopback store answers from (sent to its process as JSON). */
export interface StoreConfig {
  subscriptionsTable: string;
  subscriptionItems: Record<string, { S?: string }>[];
  /** SecretString by secret ARN. */
  secrets: Record<string, string>;
}

export interface StoreStats {
  /** Requests per `X-Amz-Target`, since the last reset. */
  calls: Record<string, number>;
  /** X-Ray segment datagrams received. */
  segments: number;
  /** Messages received in SendMessageBatch calls. */
  batchEntries: number;
}

export interface LoopbackStore {
  /** `http://127.0.0.1:<port>`: every SDK client's endpoint. */
  origin: string;
  /** `127.0.0.1:<port>` of the UDP X-Ray daemon stand-in. */
  xrayAddress: string;
  stats(): Promise<StoreStats>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

const REPLY_TIMEOUT_MS = 10_000;

/** Starts store-main.ts in its own process, so its work is not billed to the dispatcher's CPU. */
export async function startLoopbackStore(input: {
  subscriptionsTable: string;
  subscriptions: SubscriptionRecord[];
  /** SecretString by secret ARN (the key ring). */
  secrets: Map<string, string>;
}): Promise<LoopbackStore> {
  const config: StoreConfig = {
    subscriptionsTable: input.subscriptionsTable,
    subscriptionItems: input.subscriptions.map((item) => (toAttributeValue(item) as { M: Record<string, { S?: string }> }).M),
    secrets: Object.fromEntries(input.secrets),
  };
  // In a file, not the environment: a fan-out fleet's items pass the kernel's 128 KB bound on one variable.
  const dir = await mkdtemp(join(tmpdir(), 'hookline-bench-store-'));
  const configFile = join(dir, 'config.json');
  await writeFile(configFile, JSON.stringify(config));
  const worker = await startWorker<{ port: number; xrayPort: number }>('store-main.ts', { BENCH_STORE_CONFIG_FILE: configFile }).finally(() => rm(dir, { recursive: true, force: true }));
  return {
    origin: `http://127.0.0.1:${worker.ready.port}`,
    xrayAddress: `127.0.0.1:${worker.ready.xrayPort}`,
    stats: () => worker.request<StoreStats>({ type: 'stats' }, REPLY_TIMEOUT_MS),
    reset: async () => {
      await worker.request({ type: 'reset' }, REPLY_TIMEOUT_MS);
    },
    close: () => worker.close(),
  };
}

/** DynamoDB's attribute-value JSON of a plain record (strings, numbers, booleans, maps, lists). */
function toAttributeValue(value: unknown): unknown {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') return { N: String(value) };
  if (typeof value === 'boolean') return { BOOL: value };
  if (Array.isArray(value)) return { L: value.map(toAttributeValue) };
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, item]) => item !== undefined);
    return { M: Object.fromEntries(entries.map(([key, item]) => [key, toAttributeValue(item)])) };
  }
  return { NULL: true };
}
