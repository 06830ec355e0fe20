import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAddressPolicy } from '../../../lambdas/core/address';
import {
  classifyNetworkError,
  createHttpDelivery,
  type HttpDelivery,
  type Resolver,
} from '../../../lambdas/shared/http-delivery';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A receiver on 127.0.0.1 whose behaviour each test sets per path. */
class Receiver {
  readonly seen: Seen[] = [];
  connections = 0;
  routes = new Map<string, (req: IncomingMessage, res: ServerResponse, body: string) => void>();
  private server!: Server;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        const route = this.routes.get(new URL(req.url ?? '/', 'http://receiver').pathname);
        if (route !== undefined) route(req, res, body);
        else res.end('ok');
      });
    });
    this.server.on('connection', () => {
      this.connections += 1;
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const loopbackOnly = createAddressPolicy(['127.0.0.0/8', '::1/128']);
const JSON_HEADERS = { 'content-type': 'application/json' };

describe('createHttpDelivery', () => {
  const receiver = new Receiver();
  const resolved: string[] = [];
  const resolver: Resolver = async (hostname) => {
    resolved.push(hostname);
    if (hostname === 'hook.test') return [{ address: '127.0.0.1', family: 4 }];
    if (hostname === 'mixed.test') return [{ address: '127.0.0.1', family: 4 }, { address: '10.0.0.7', family: 4 }];
    if (hostname === 'metadata.test') return [{ address: '169.254.169.254', family: 4 }];
    if (hostname === 'public.test') return [{ address: '93.184.216.34', family: 4 }];
    if (hostname === 'empty.test') return [];
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  };
  let http: HttpDelivery;

  beforeAll(async () => {
    await receiver.start();
  });
  afterAll(async () => {
    await receiver.stop();
  });
  afterEach(async () => {
    await http?.close();
    receiver.seen.length = 0;
    receiver.routes.clear();
    receiver.connections = 0;
    resolved.length = 0;
  });
  const base = () => `http://hook.test:${receiver.port}`;

  it('POSTs the body byte for byte with Host = the URL hostname, and reads the answer', async () => {
    http = createHttpDelivery({ policy: loopbackOnly, resolve: resolver });
    receiver.routes.set('/ok', (_req, res) => {
      res.setHeader('x-receiver', 'yes');
      res.end('{"received":true}');
    });
    const body = JSON.stringify({ id: 'evt_1', data: { text: 'héllo ✓' } });
    const result = await http.post({ url: `${base()}/ok?q=1`, headers: { ...JSON_HEADERS, 'x-custom': 'a' }, body, timeoutMs: 2_000 });
    expect(result).toMatchObject({
      statusCode: 200,
      responseBodyExcerpt: '{"received":true}',
      responseContentLength: 17,
    });
    expect(result.errorKind).toBeUndefined();
    expect(result.responseHeaders['x-receiver']).toBe('yes');
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    const [seen] = receiver.seen;
    expect(seen?.method).toBe('POST');
    expect(seen?.url).toBe('/ok?q=1');
    expect(seen?.body).toBe(body);
    expect(seen?.headers.host).toBe(`hook.test:${receiver.port}`);
    expect(seen?.headers['x-custom']).toBe('a');
    expect(resolved).toEqual(['hook.test']);
  });

  it('reuses keep-alive connections across posts, resolving once per connection', async () => {
    http = createHttpDelivery({ policy: loopbackOnly, resolve: resolver });
    for (let index = 0; index < 10; index += 1) {
      const result = await http.post({ url: `${base()}/`, headers: JSON_HEADERS, body: '{}', timeoutMs: 2_000 });
      expect(result.statusCode).toBe(200);
    }
    expect(receiver.seen).toHaveLength(10);
    // undici may open a second socket while the first one's completion is still being processed.
    expect(receiver.connections).toBeLessThanOrEqual(2);
    expect(resolved).toHaveLength(receiver.connections);
  });

  it('refuses a host when any resolved address is not allowed, without connecting', async () => {
    http = createHttpDelivery({ policy: loopbackOnly, resolve: resolver });
    const mixed = await http.post({ url: `http://mixed.test:${receiver.port}/`, headers: JSON_HEADERS, body: '{}', timeoutMs: 2_000 });
    expect(mixed.errorKind).toBe('blocked');
    expect(mixed.statusCode).toBeUndefined();
    expect(mixed.errorMessage).toContain('10.0.0.7');
    const metadata = await http.post({ url: `http://metadata.test:${receiver.port}/`, headers: JSON_HEADERS, body: '{}', timeoutMs: 2_000 });
    expect(metadata.errorKind).toBe('blocked');
    expect(receiver.connections).toBe(0);
  });

  it('checks IP-literal hosts too, including the metadata address under allowPrivateTargets=true', async () => {
    http = createHttpDelivery({ policy: createAddressPolicy(true), resolve: resolver });
    const metadata = await http.post({ url: 'http://169.254.169.254/latest/meta-data', headers: JSON_HEADERS, body: '{}', timeoutMs: 2_000 });
    expect(metadata.errorKind).toBe('blocked');
    await http.close();
    http = createHttpDelivery({ policy: createAddressPolicy(false), resolve: resolver });
    const loopback = await http.post({ url: `http://127.0.0.1:${receiver.port}/`, headers: JSON_HEADERS, body: '{}', timeoutMs: 2_000 });
    expect(loopback.errorKind).toBe('blocked');
    const mapped = await http.post({ url: `https://[::ffff:127.0.0.1]:${receiver.port}/`, headers: JSON_HEADERS, body: '{}', timeoutMs: 2_000 });
    expect(mapped.errorKind).toBe('blocked');
    expect(receiver.connections).toBe(0);
    expect(resolved).toEqual([]);
  });

  it('allows plain http only to an allowed private address', async () => {
    http = createHttpDelivery({ policy: createAddressPolicy(false), resolve: resolver });
    const result = await http.post({ url: 'http://public.test/', headers: JSON_HEADERS, body: '{}', timeoutMs: 2_000 });
    expect(result.errorKind).toBe('blocked');
    expect(result.errorMessage).toMatch(/plain http/);
    const literal = await http.post({ url: 'http://93.184.216.34/', headers: JSON_HEADERS, body: '{}', timeoutMs: 2_000 });
    expect(literal.errorKind).toBe('blocked');
  });

  it('never follows a redirect', async () => {
    http = createHttpDelivery({ policy: loopbackOnly, resolve: resolver });
    receiver.routes.set('/moved', (_req, res) => {
      res.statusCode = 302;
      res.setHeader('location', '/elsewhere');
      res.end();
    });
    const result = await http.post({ url: `${base()}/moved`, headers: JSON_HEADERS, body: '{}', timeoutMs: 2_000 });
    expect(result.statusCode).toBe(302);
    expect(result.errorKind).toBe('http');
    expect(receiver.seen.map((seen) => seen.url)).toEqual(['/moved']);
  });

  it('parses Retry-After and marks non-2xx answers as http errors', async () => {
    http = createHttpDelivery({ policy: loopbackOnly, resolve: resolver });
    receiver.routes.set('/busy', (_req, res) => {
      res.statusCode = 503;
      res.setHeader('retry-after', '120');
      res.end('slow down');
    });
    const result = await http.post({ url: `${base()}/busy`, headers: JSON_HEADERS, body: '{}', timeoutMs: 2_000 });
    expect(result).toMatchObject({ statusCode: 503, retryAfterSeconds: 120, errorKind: 'http', responseBodyExcerpt: 'slow down' });
    expect(result.errorMessage).toContain('503');
  });

  it('times out a receiver that never answers, within the attempt timeout', async () => {
    http = createHttpDelivery({ policy: loopbackOnly, resolve: resolver });
    receiver.routes.set('/hang', () => undefined);
    const started = Date.now();
    const result = await http.post({ url: `${base()}/hang`, headers: JSON_HEADERS, body: '{}', timeoutMs: 300 });
    expect(result.errorKind).toBe('timeout');
    expect(result.statusCode).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(result.latencyMs).toBeGreaterThanOrEqual(290);
  });

  it('waits past the idle-socket timeout for a slow answer, bounded by the attempt timeout alone', async () => {
    http = createHttpDelivery({ policy: loopbackOnly, resolve: resolver, idleSocketTimeoutMs: 200 });
    receiver.routes.set('/slow', (_req, res) => {
      setTimeout(() => res.end('late but fine'), 600);
    });
    // Once over a fresh connection, once over the kept-alive one.
    for (let round = 0; round < 2; round += 1) {
      const result = await http.post({ url: `${base()}/slow`, headers: JSON_HEADERS, body: '{}', timeoutMs: 10_000 });
      expect(result).toMatchObject({ statusCode: 200, responseBodyExcerpt: 'late but fine' });
    }
    expect(receiver.connections).toBe(1);
  });

  it('closes an idle kept-alive connection after the idle timeout, and the next POST resolves and connects anew', async () => {
    http = createHttpDelivery({ policy: loopbackOnly, resolve: resolver, idleSocketTimeoutMs: 100 });
    expect((await http.post({ url: `${base()}/`, headers: JSON_HEADERS, body: '{}', timeoutMs: 5_000 })).statusCode).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await http.post({ url: `${base()}/`, headers: JSON_HEADERS, body: '{}', timeoutMs: 5_000 })).statusCode).toBe(200);
    expect(receiver.connections).toBe(2);
    // The address check runs again on the new connection.
    expect(resolved).toEqual(['hook.test', 'hook.test']);
  });

  it('times out a body that stalls after the headers', async () => {
    http = createHttpDelivery({ policy: loopbackOnly, resolve: resolver });
    receiver.routes.set('/stall', (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
    });
    const result = await http.post({ url: `${base()}/stall`, headers: JSON_HEADERS, body: '{}', timeoutMs: 300 });
    expect(result.errorKind).toBe('timeout');
  });

  it('reads at most the excerpt cap of a huge body and stops the transfer', async () => {
    http = createHttpDelivery({ policy: loopbackOnly, resolve: resolver, maxExcerptBytes: 1_000 });
    const total = 50 * 1024 * 1024;
    let written = 0;
    let finished: Promise<void> = Promise.resolve();
    receiver.routes.set('/huge', (_req, res) => {
      res.writeHead(200, { 'content-length': String(total) });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      finished = new Promise<void>((resolve) => {
        res.on('close', resolve);
        const pump = () => {
          while (written < total) {
            written += chunk.length;
            if (!res.write(chunk)) {
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        pump();
      });
    });
    const result = await http.post({ url: `${base()}/huge`, headers: JSON_HEADERS, body: '{}', timeoutMs: 5_000 });
    expect(result.statusCode).toBe(200);
    expect(result.responseBodyExcerpt).toBe('a'.repeat(1_000));
    expect(result.responseContentLength).toBe(total);
    await finished;
    expect(written).toBeLessThan(total / 5);
  });

  it('counts the length of a chunked body and keeps the excerpt valid UTF-8 at the cap', async () => {
    http = createHttpDelivery({ policy: loopbackOnly, resolve: resolver, maxExcerptBytes: 5 });
    receiver.routes.set('/utf8', (_req, res) => {
      res.write('ab');
      res.end('✓✓');
    });
    const result = await http.post({ url: `${base()}/utf8`, headers: JSON_HEADERS, body: '{}', timeoutMs: 2_000 });
    // 'ab' + '✓' is 5 bytes; the second ✓ is cut whole rather than into a replacement character.
    expect(result.responseBodyExcerpt).toBe('ab✓');
    expect(result.responseContentLength).toBe(8);
  });

  it('bounds the response headers it keeps', async () => {
    http = createHttpDelivery({ policy: loopbackOnly, resolve: resolver, maxHeaderBytes: 500 });
    receiver.routes.set('/noisy', (_req, res) => {
      for (let index = 0; index < 40; index += 1) res.setHeader(`x-noise-${index}`, 'v'.repeat(50));
      res.end();
    });
    const result = await http.post({ url: `${base()}/noisy`, headers: JSON_HEADERS, body: '{}', timeoutMs: 2_000 });
    const size = Object.entries(result.responseHeaders).reduce((sum, [name, value]) => sum + name.length + value.length, 0);
    expect(size).toBeLessThanOrEqual(500);
    expect(Object.keys(result.responseHeaders).length).toBeGreaterThan(3);
  });

  it('classifies DNS failures and refused connections', async () => {
    http = createHttpDelivery({ policy: loopbackOnly, resolve: resolver });
    const missing = await http.post({ url: 'http://missing.test/', headers: JSON_HEADERS, body: '{}', timeoutMs: 2_000 });
    expect(missing.errorKind).toBe('dns');
    expect(missing.errorMessage).toContain('ENOTFOUND');
    const empty = await http.post({ url: 'http://empty.test/', headers: JSON_HEADERS, body: '{}', timeoutMs: 2_000 });
    expect(empty.errorKind).toBe('dns');
    const closed = new Receiver();
    await closed.start();
    await closed.stop();
    const refused = await http.post({ url: `http://hook.test:${closed.port}/`, headers: JSON_HEADERS, body: '{}', timeoutMs: 2_000 });
    expect(refused.errorKind).toBe('connection');
    expect(refused.errorMessage).toContain('ECONNREFUSED');
  });

  it('reaches an IPv6 loopback literal when allowed', async () => {
    const server = createServer((_req, res) => res.end('v6'));
    await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
    try {
      http = createHttpDelivery({ policy: loopbackOnly, resolve: resolver });
      const port = (server.address() as AddressInfo).port;
      const result = await http.post({ url: `http://[::1]:${port}/`, headers: JSON_HEADERS, body: '{}', timeoutMs: 2_000 });
      expect(result).toMatchObject({ statusCode: 200, responseBodyExcerpt: 'v6' });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  describe('TLS', () => {
    let tlsServer: TlsServer;
    let tlsPort = 0;
    const serverNames: string[] = [];
    beforeAll(async () => {
      // No certificate at all: the handshake fails after the server has read the client's SNI.
      tlsServer = createTlsServer({
        SNICallback: (servername, callback) => {
          serverNames.push(servername);
          callback(new Error('no certificate here'), undefined);
        },
      });
      tlsServer.on('tlsClientError', () => undefined);
      await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
      tlsPort = (tlsServer.address() as AddressInfo).port;
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
    });

    it('sends the URL hostname as SNI while connecting to the checked address, and reports tls failures', async () => {
      http = createHttpDelivery({ policy: loopbackOnly, resolve: resolver });
      const result = await http.post({ url: `https://hook.test:${tlsPort}/`, headers: JSON_HEADERS, body: '{}', timeoutMs: 2_000 });
      expect(result.errorKind).toBe('tls');
      expect(serverNames).toEqual(['hook.test']);
    });

    it('reports a plain-http answer to an https request as a tls failure', async () => {
      http = createHttpDelivery({ policy: loopbackOnly, resolve: resolver });
      const result = await http.post({ url: `https://hook.test:${receiver.port}/`, headers: JSON_HEADERS, body: '{}', timeoutMs: 2_000 });
      expect(result.errorKind).toBe('tls');
      expect(result.errorMessage).not.toContain('\n');
    });
  });
});

describe('classifyNetworkError', () => {
  const withCode = (code: string, message = 'boom') => Object.assign(new Error(message), { code });
  it.each([
    ['UND_ERR_CONNECT_TIMEOUT', 'timeout'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
    ['UND_ERR_BODY_TIMEOUT', 'timeout'],
    ['UND_ERR_ABORTED', 'timeout'],
    ['ENOTFOUND', 'dns'],
    ['EAI_AGAIN', 'dns'],
    ['ECONNREFUSED', 'connection'],
    ['ECONNRESET', 'connection'],
    ['UND_ERR_SOCKET', 'connection'],
    ['EPIPE', 'connection'],
    ['CERT_HAS_EXPIRED', 'tls'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls'],
    ['HOOKLINE_BLOCKED', 'blocked'],
  ])('%s → %s', (code, kind) => {
    expect(classifyNetworkError(withCode(code))).toBe(kind);
  });

  it('walks the cause chain and recognises abort errors', () => {
    expect(classifyNetworkError(new Error('fetch failed', { cause: withCode('ECONNRESET') }))).toBe('connection');
    expect(classifyNetworkError(new Error('outer', { cause: withCode('EAI_AGAIN') }))).toBe('dns');
    expect(classifyNetworkError(Object.assign(new Error('aborted'), { name: 'AbortError' }))).toBe('timeout');
    expect(classifyNetworkError(new Error('SSL alert handshake failure'))).toBe('tls');
    expect(
      classifyNetworkError(withCode('ECONNRESET', 'Client network socket disconnected before secure TLS connection was established')),
    ).toBe('tls');
    expect(classifyNetworkError('not even an error')).toBe('connection');
  });
});
