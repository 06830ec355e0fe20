import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A port that was free a moment ago on 127.0.0.1 (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function waitUntil<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** `npm start` as a user runs it, in its own process group so the test can check nothing outlives it. */
export interface HooklineProcess {
  child: ChildProcess;
  /** Process group id (= the npm process's pid). */
  pgid: number;
  output: () => string;
  waitForLine: (pattern: RegExp, timeoutMs: number) => Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnNpmStart(cwd: string, env: Record<string, string>): HooklineProcess {
  const child = spawn('npm', ['start'], {
    cwd,
    env: { ...process.env, ...env, FORCE_COLOR: '0', NO_COLOR: '1' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const pgid = child.pid;
  if (pgid === undefined) throw new Error('npm start did not spawn');
  return {
    child,
    pgid,
    output: () => text,
    exited,
    waitForLine: (pattern, timeoutMs) =>
      waitUntil(`output matching ${pattern}`, () => {
        if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}) early:\n${text}`);
        return text.match(pattern) ?? undefined;
      }, timeoutMs),
  };
}

/** True while any process of the group is alive (signal 0 only checks). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** Last resort for a failed test: never leave a Hookline behind. */
export function killGroup(pgid: number): void {
  if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
}

export interface ReceivedDelivery {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
  at: number;
}

export interface TestReceiver {
  url: string;
  received: ReceivedDelivery[];
  /** Decides each answer from the request; default 204. */
  respond: (headers: IncomingHttpHeaders, body: string) => number;
  close: () => Promise<void>;
}

export async function startTestReceiver(): Promise<TestReceiver> {
  const state: TestReceiver = {
    url: '',
    received: [],
    respond: () => 204,
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const status = state.respond(req.headers, body);
      state.received.push({ headers: req.headers, body, status, at: Date.now() });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return state;
}
