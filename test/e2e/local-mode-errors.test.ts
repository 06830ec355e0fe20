import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, killGroup, spawnNpmStart } from './helpers';

/** `npm start` refuses a bad environment with one clear line on stderr and exit code 1. */

const REPO = resolve(import.meta.dirname, '../..');

describe('npm start (local mode) refuses to start', () => {
  let scratch: string;
  let busy: Server;
  let busyPort: number;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'hookline-e2e-errors-'));
    busy = createServer();
    busyPort = await freePort();
    await new Promise<void>((done) => busy.listen(busyPort, '127.0.0.1', done));
  });

  afterAll(async () => {
    await new Promise<void>((done) => busy.close(() => done()));
    rmSync(scratch, { recursive: true, force: true });
  });

  async function refusal(env: Record<string, string>): Promise<string[]> {
    const hookline = spawnNpmStart(REPO, { HOOKLINE_DATA_DIR: join(scratch, 'data'), ...env });
    try {
      const exit = await Promise.race([
        hookline.exited,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still running:\n${hookline.output()}`)), 15_000)),
      ]);
      expect(exit, hookline.output()).toEqual({ code: 1, signal: null });
      return hookline.output().split('\n').filter((line) => line.startsWith('Hookline'));
    } finally {
      killGroup(hookline.pgid);
    }
  }

  it.concurrent('when the port is taken', async () => {
    expect(await refusal({ HOOKLINE_PORT: String(busyPort) })).toEqual([
      `Hookline: port ${busyPort} on 127.0.0.1 is already in use; choose another with HOOKLINE_PORT`,
    ]);
  });

  it.concurrent('when the data dir is unusable', async () => {
    const file = join(scratch, 'not-a-directory');
    writeFileSync(file, '');
    const lines = await refusal({ HOOKLINE_DATA_DIR: file, HOOKLINE_PORT: String(await freePort()) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^Hookline: data dir ${file} is unusable \\(HOOKLINE_DATA_DIR\\): `));
  });

  it.concurrent('when HOOKLINE_TOKEN is too short for a token, or HOOKLINE_SETTINGS is invalid', async () => {
    const [token, settings] = await Promise.all([
      refusal({ HOOKLINE_TOKEN: 'dev', HOOKLINE_PORT: String(await freePort()) }),
      refusal({ HOOKLINE_SETTINGS: '{"maxAttempts": 0}', HOOKLINE_PORT: String(await freePort()) }),
    ]);
    expect(token).toHaveLength(1);
    expect(token[0]).toMatch(/^Hookline: HOOKLINE_TOKEN must be 16 to 256 visible ASCII characters/);
    expect(settings).toHaveLength(1);
    expect(settings[0]).toMatch(/^Hookline: Invalid Hookline HOOKLINE_SETTINGS: maxAttempts: /);
  });
});
