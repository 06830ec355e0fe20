import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/paths';
import { freePort, killGroup, spawnNpmStart, type HooklineProcess } from './helpers';

// `npm run smoke` against local mode: the same run a user makes after deploying, with a receiver
// of its own on 127.0.0.1 (which local mode may deliver to).
const READY = /Hookline API: (http:\/\/127\.0\.0\.1:\d+)\n/;
const READY_TIMEOUT_MS = 120_000;

function smoke(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(PROJECT_ROOT, 'cli', 'smoke.ts'), ...args],
      { cwd: PROJECT_ROOT, timeout: 150_000, env: { ...process.env, HOOKLINE_DATA_DIR: '' } },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('npm run smoke (local mode)', () => {
  let dataDir: string;
  let emptyDir: string;
  let hookline: HooklineProcess | undefined;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'hookline-smoke-'));
    emptyDir = mkdtempSync(join(tmpdir(), 'hookline-smoke-none-'));
    hookline = spawnNpmStart(PROJECT_ROOT, { HOOKLINE_DATA_DIR: dataDir, HOOKLINE_PORT: String(await freePort()) });
    await hookline.waitForLine(READY, READY_TIMEOUT_MS);
  }, READY_TIMEOUT_MS + 10_000);


  afterAll(async () => {
    if (hookline !== undefined) {
      process.kill(-hookline.pgid, 'SIGTERM');
      await Promise.race([hookline.exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      killGroup(hookline.pgid);
    }
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(emptyDir, { recursive: true, force: true });
  });

  it('publishes through the API and EventBridge, verifies both signed deliveries, cleans up and passes', async () => {
    const result = await smoke(['--data-dir', dataDir, '--wait', '90']);
    expect(result.stdout, result.stderr).toMatch(/\nPASS\n/);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/API event delivered and its signature verifies/);
    expect(result.stdout).toMatch(/EventBridge event delivered and its signature verifies/);
    expect(result.stdout).not.toMatch(/warning: could not remove/);
  }, 160_000);

  it('fails with a usage message when no Hookline runs there', async () => {
    const result = await smoke(['--data-dir', emptyDir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no running local Hookline/);
  }, 60_000);
});
