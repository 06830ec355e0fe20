import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { BENCH_DIR, PROJECT_ROOT } from './paths';

/**
 * A long-lived helper process (the receiver, the baseline client) driven by request/reply messages
 * over IPC. Keeping them in their own processes means neither competes with the code under test
 * for one event loop, and the baseline runs without Hookline's modules (and their process-wide
 * hooks) loaded.
 */
export interface WorkerProcess<Ready> {
  ready: Ready;
  request<Reply>(message: Record<string, unknown>, timeoutMs: number): Promise<Reply>;
  close(): Promise<void>;
}

/** Child side: the first message announces readiness; each request carries an id its reply repeats. */
export type WorkerEnvelope = { id: number; body: Record<string, unknown> };

const START_TIMEOUT_MS = 120_000;

export async function startWorker<Ready>(entry: string, env: Record<string, string> = {}): Promise<WorkerProcess<Ready>> {
  const child = fork(join(BENCH_DIR, entry), [], {
    cwd: PROJECT_ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  let nextId = 1;
  try {
    const ready = await awaitMessage<Ready>(child, (message) => (message as { ready?: Ready }).ready, START_TIMEOUT_MS, `${entry} start`);
    return {
      ready,
      request: <Reply>(body: Record<string, unknown>, timeoutMs: number) => {
        const id = nextId;
        nextId += 1;
        const reply = awaitMessage<Reply>(
          child,
          (message) => {
            const envelope = message as Partial<WorkerEnvelope> & { error?: string };
            if (envelope.id !== id) return undefined;
            if (envelope.error !== undefined) throw new Error(`${entry}: ${envelope.error}`);
            return envelope.body as Reply;
          },
          timeoutMs,
          `${entry} ${String(body.type)}`,
        );
        child.send({ id, body } satisfies WorkerEnvelope);
        return reply;
      },
      close: () => stop(child),
    };
  } catch (error) {
    await stop(child);
    throw error;
  }
}

/** Resolves with the first message `pick` returns a value for; rejects if it throws, on exit, or on timeout. */
function awaitMessage<T>(child: ChildProcess, pick: (message: unknown) => T | undefined, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: unknown) => {
      let value: T | undefined;
      try {
        value = pick(message);
      } catch (error) {
        cleanup();
        reject(error);
        return;
      }
      if (value === undefined) return;
      cleanup();
      resolve(value);
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new Error(`${what}: the process exited (${signal ?? code})`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    // Closing the IPC channel tells the worker to finish; the timer covers one that does not.
    if (child.connected) child.disconnect();
    else child.kill('SIGTERM');
  });
}

/** Child side of the protocol: announce readiness, then answer each request with `handle`. */
export function serveWorker(ready: unknown, handle: (body: Record<string, unknown>) => Promise<Record<string, unknown>>, onDisconnect: () => void): void {
  process.on('message', (message: WorkerEnvelope) => {
    handle(message.body).then(
      (body) => process.send?.({ id: message.id, body }),
      (error: unknown) => process.send?.({ id: message.id, error: error instanceof Error ? error.message : String(error) }),
    );
  });
  process.once('disconnect', onDisconnect);
  process.send?.({ ready });
}
