import { fork, type Serializable } from 'node:child_process';
import { join } from 'node:path';
import type { BenchOptions } from './options';
import { BENCH_DIR, PROJECT_ROOT } from './paths';

/** What a section child sends back over IPC. */
export type ChildReply<T> = { ok: true; result: T } | { ok: false; error: string };

const STDERR_TAIL_BYTES = 4_096;

/**
 * Runs one TypeScript entry in a fresh Node process (tsx loader) and resolves with what it sends
 * over IPC. A fresh process per section keeps module-level state (SDK mocks, caches, keep-alive
 * pools) from leaking between sections, and its stdout — where the Lambda handlers log, as they
 * do in Lambda — is discarded so only the report reaches the terminal.
 */
export function runChild<T>(entry: string, message: Serializable, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(join(BENCH_DIR, entry), [], {
      cwd: PROJECT_ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    let settled = false;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL_BYTES);
    });
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    const timer = setTimeout(() => {
      finish(() => reject(new Error(`${entry} did not finish within ${timeoutMs} ms${tail(stderr)}`)));
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('message', (message) => {
      const reply = message as ChildReply<T>;
      finish(() => (reply.ok ? resolve(reply.result) : reject(new Error(`${reply.error}${tail(stderr)}`))));
    });
    child.on('error', (error) => finish(() => reject(error)));
    child.on('exit', (code, signal) => {
      finish(() => reject(new Error(`${entry} exited (${signal ?? code}) without a result${tail(stderr)}`)));
    });
    child.send(message);
  });
}

function tail(stderr: string): string {
  const trimmed = stderr.trim();
  return trimmed === '' ? '' : `\n--- stderr of the child (last lines) ---\n${trimmed.split('\n').slice(-15).join('\n')}`;
}

export interface SectionRequest {
  section: number;
  options: BenchOptions;
}
