import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalLogger } from '../../local/logger';
import { waitFor as sharedWaitFor } from '../support/wait';

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs` (test/support/wait.ts). */
export function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 5_000): Promise<T> {
  return sharedWaitFor(what, check, { timeoutMs, intervalMs: 25 });
}

/** A logger that keeps its lines, for asserting on what was logged. */
export function recordingLogger(): LocalLogger & { lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  const record = (level: string) => (message: string) => {
    lines.push({ level, message });
  };
  return { lines, debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
}

export async function temporaryDirectory(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'hookline-local-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export const localClientConfig = (endpoint: string) => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
