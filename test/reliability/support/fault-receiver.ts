import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { close, listen } from './servers';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Arrival time (ms since epoch) of the whole request. */
  at: number;
}

/**
 * What an endpoint does with its n-th request (0-based): answer with a status (and headers), or
 * misbehave the way real receivers do.
 */
export type Fault =
  | { status: number; headers?: Record<string, string>; body?: Buffer }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'headers-then-stall' }
  | { kind: 'drip'; intervalMs: number }
  | { kind: 'huge'; bytes: number };

/** Bytes a `huge` answer actually handed to the socket, per path: proof that reading stopped early. */
export type HugeStats = Map<string, { pulled: number; closedEarly: boolean }>;

/** Real HTTP endpoints on 127.0.0.1, one behaviour per path, recording every request. */
export class FaultReceiver {
  readonly requests: Received[] = [];
  readonly huge: HugeStats = new Map();
  private readonly server: Server;
  private readonly behaviours = new Map<string, (index: number) => Fault>();
  private readonly timers = new Set<NodeJS.Timeout>();
  port = 0;

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => this.answer(req, res, Buffer.concat(chunks).toString('utf8')));
    });
  }

  async start(): Promise<void> {
    this.port = await listen(this.server, '127.0.0.1');
  }

  /** Registers `path` and returns its URL. */
  endpoint(path: string, behaviour: (index: number) => Fault): string {
    this.behaviours.set(path, behaviour);
    return `http://127.0.0.1:${this.port}${path}`;
  }

  at(path: string): Received[] {
    return this.requests.filter((request) => request.path === path);
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await close(this.server);
  }

  private answer(req: IncomingMessage, res: ServerResponse, body: string): void {
    // Behaviours are per path; a query string (a receiver's token, say) does not change the endpoint.
    const path = new URL(req.url ?? '/', 'http://receiver').pathname;
    const index = this.at(path).length;
    this.requests.push({ path, headers: req.headers, body, at: Date.now() });
    const fault = (this.behaviours.get(path) ?? ((): Fault => ({ status: 404 })))(index);
    if ('status' in fault) {
      res.writeHead(fault.status, { 'content-type': 'text/plain', ...fault.headers });
      res.end(fault.body ?? `status ${fault.status}`);
      return;
    }
    switch (fault.kind) {
      case 'hang':
        return;
      case 'reset':
        // Headers and part of the body, then the connection is torn down mid-response.
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
        res.write('partial', () => res.socket?.resetAndDestroy());
        return;
      case 'headers-then-stall':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10' });
        res.flushHeaders();
        return;
      case 'drip': {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('.');
        const timer = setInterval(() => res.write('.'), fault.intervalMs);
        this.timers.add(timer);
        res.on('close', () => {
          clearInterval(timer);
          this.timers.delete(timer);
        });
        return;
      }
      case 'huge': {
        const stats = { pulled: 0, closedEarly: false };
        this.huge.set(path, stats);
        const chunk = Buffer.alloc(64 * 1024, 'z');
        // Lazy: a chunk is made only when the socket asks for more, so memory stays flat on both sides.
        const stream = new Readable({
          read() {
            if (stats.pulled >= fault.bytes) {
              this.push(null);
              return;
            }
            const next = chunk.subarray(0, Math.min(chunk.length, fault.bytes - stats.pulled));
            stats.pulled += next.length;
            this.push(next);
          },
        });
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(fault.bytes) });
        res.on('close', () => {
          stats.closedEarly = !res.writableFinished;
          stream.destroy();
        });
        stream.pipe(res);
        return;
      }
    }
  }
}
