import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, killGroup, spawnNpmStart, startTestReceiver, waitUntil, type HooklineProcess, type TestReceiver } from './helpers';

/**
 * Stopping `npm start` loses no delivery: a delivery waiting for its retry when Hookline stops is
 * attempted after the next start (the local SQS keeps queued and delayed messages in the data dir).
 */

const REPO = resolve(import.meta.dirname, '../..');
const TOKEN = 'restart-retry-e2e-token-0123456789';
const READY = /Hookline API: (http:\/\/127\.0\.0\.1:\d+)\n/;
const READY_TIMEOUT_MS = 20_000;
/** Long enough to stop and start again while the retry waits; short enough for a test. */
const RETRY_DELAY_SECONDS = 8;

describe('npm start: a retry waiting across a restart', () => {
  let dataDir: string;
  let port: number;
  let receiver: TestReceiver;
  const started: HooklineProcess[] = [];

  async function start(): Promise<string> {
    const hookline = spawnNpmStart(REPO, {
      HOOKLINE_DATA_DIR: dataDir,
      HOOKLINE_PORT: String(port),
      HOOKLINE_TOKEN: TOKEN,
      HOOKLINE_SETTINGS: JSON.stringify({ retryDelaysSeconds: [RETRY_DELAY_SECONDS], retryJitter: 0, maxAttempts: 3 }),
    });
    started.push(hookline);
    const ready = await hookline.waitForLine(READY, READY_TIMEOUT_MS);
    return ready[1] as string;
  }

  async function stop(): Promise<void> {
    const hookline = started.at(-1)!;
    process.kill(hookline.pgid, 'SIGTERM');
    const exit = await Promise.race([hookline.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no exit')), 15_000))]);
    expect(exit, hookline.output()).toEqual({ code: 0, signal: null });
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'hookline-restart-'));
    port = await freePort();
    receiver = await startTestReceiver();
  });

  afterAll(async () => {
    for (const hookline of started) killGroup(hookline.pgid);
    await receiver?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('attempts the waiting retry after the restart, with the same webhook-id', async () => {
    let api = await start();
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${api}${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };
    // The first attempt fails; every later one succeeds.
    receiver.respond = () => (receiver.received.length === 0 ? 503 : 204);
    const created = await call('POST', '/fleets/restart/webhooks', { url: receiver.url, events: ['thread.completed'] });
    expect(created.status).toBe(201);
    expect((await call('POST', '/fleets/restart/events', { type: 'thread.completed', data: { n: 1 } })).status).toBe(202);
    const first = await waitUntil('the first attempt', () => receiver.received[0], 15_000);
    expect(first.status).toBe(503);

    // Stop while the retry waits as a delayed message, then start again on the same data dir.
    await stop();
    const stoppedAt = Date.now();
    api = await start();
    const second = await waitUntil('the retry after the restart', () => receiver.received[1], 30_000);
    expect(second.status).toBe(204);
    expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
    // It came when its delay ran out, not earlier.
    expect(second.at - first.at).toBeGreaterThanOrEqual((RETRY_DELAY_SECONDS - 1) * 1000);
    expect(stoppedAt).toBeLessThan(first.at + RETRY_DELAY_SECONDS * 1000);
    await stop();
  }, 120_000);
});
