import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { bareSignatureHeaders } from './bare-signing';
import { bareStoreWrite } from './bare-store-write';
import type { BaselineResult, BaselineRun } from './baseline';
import { createHttpProbe } from './http-probe';
import { serveWorker } from './worker';

/**
 * The baseline client process: `concurrency` loops POSTing the same body through one keep-alive
 * undici Pool, each request awaited with its response body read — a bare POST loop, nothing else.
 */
const pools = new Map<string, Pool>();
const probe = createHttpProbe();
const CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };

async function run(request: BaselineRun): Promise<BaselineResult> {
  const key = `${request.origin} ${request.concurrency}`;
  const pool = poolFor(key, request.origin, request.concurrency);
  const store = request.storeWrites === undefined ? undefined : { ...request.storeWrites, pool: poolFor(`${request.storeWrites.origin} ${request.concurrency}`, request.storeWrites.origin, request.concurrency) };
  const host = store === undefined ? '' : new URL(store.origin).host;
  const end = performance.now() + request.timeLimitMs;
  let next = 0;
  let completed = 0;
  let errors = 0;
  probe.start();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const loop = async (): Promise<void> => {
    while (next < request.count && performance.now() < end) {
      const index = next;
      next += 1;
      const headers =
        request.signWith === undefined
          ? { 'content-type': 'application/json' }
          : bareSignatureHeaders(request.signWith.secrets, `msg_${index}`, Math.floor(Date.now() / 1000), request.body, request.signWith.headerPrefix);
      const response = await pool.request({ path: request.path, method: 'POST', headers, body: request.body });
      await response.body.text();
      if (response.statusCode !== 200) errors += 1;
      for (let write = 0; write < (store?.count ?? 0); write += 1) {
        const answer = await store!.pool.request({ ...bareStoreWrite(host, `msg_${index}`, response.statusCode, 1, CREDENTIALS) });
        await answer.body.text();
        if (answer.statusCode !== 200) errors += 1;
      }
      completed += 1;
    }
  };
  await Promise.all(Array.from({ length: request.concurrency }, loop));
  const elapsedMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { completed, errors, elapsedMs, cpuMicros: used.user + used.system, latencies: probe.stop() };
}

function poolFor(key: string, origin: string, connections: number): Pool {
  const pool = pools.get(key) ?? new Pool(origin, { connections });
  pools.set(key, pool);
  return pool;
}

serveWorker(
  { pid: process.pid },
  async (body) => ({ ...(await run(body as unknown as BaselineRun)) }),
  () => {
    void Promise.allSettled([...pools.values()].map((pool) => pool.close())).then(() => process.exit(0));
  },
);
