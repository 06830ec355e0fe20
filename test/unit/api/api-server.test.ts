import { request } from 'node:http';
import { createServer } from 'node:net';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { API_GATEWAY_MAX_BODY_BYTES, startApiServer, type ApiServer } from '../../../local/api-server';

const servers: ApiServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function echoServer(): Promise<{ server: ApiServer; events: APIGatewayProxyEvent[] }> {
  const events: APIGatewayProxyEvent[] = [];
  const server = await startApiServer({
    port: 0,
    handler: async (event) => {
      events.push(event);
      return {
        statusCode: 201,
        headers: { 'content-type': 'application/json', 'x-one': 'a' },
        multiValueHeaders: { 'set-cookie': ['a=1', 'b=2'] },
        body: JSON.stringify({ ok: true }),
      };
    },
  });
  servers.push(server);
  return { server, events };
}

describe('startApiServer', () => {
  it('turns a request into a REST proxy event and the result into the response', async () => {
    const { server, events } = await echoServer();
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    const response = await fetch(`${server.url}/fleets/f%3A1/webhooks?limit=2&status=a&status=b`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Custom': 'v' },
      body: '{"url":"https://example.com"}',
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ ok: true });
    expect(response.headers.get('x-one')).toBe('a');
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);

    const event = events[0]!;
    expect(event).toMatchObject({
      httpMethod: 'POST',
      path: '/fleets/f%3A1/webhooks',
      resource: '/{proxy+}',
      pathParameters: { proxy: 'fleets/f%3A1/webhooks' },
      queryStringParameters: { limit: '2', status: 'b' },
      multiValueQueryStringParameters: { limit: ['2'], status: ['a', 'b'] },
      body: '{"url":"https://example.com"}',
      isBase64Encoded: false,
      requestContext: { stage: 'local', httpMethod: 'POST', requestId: expect.any(String) },
    });
    expect(event.headers['X-Custom']).toBe('v');
    expect(event.multiValueHeaders['X-Custom']).toEqual(['v']);
  });

  it('passes bodies that are not UTF-8 as base64', async () => {
    const { server, events } = await echoServer();
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    await fetch(`${server.url}/x`, { method: 'POST', body: bytes });
    expect(events[0]!.isBase64Encoded).toBe(true);
    expect(Buffer.from(events[0]!.body!, 'base64')).toEqual(bytes);
    await fetch(`${server.url}/`);
    expect(events[1]).toMatchObject({ body: null, pathParameters: null, resource: '/', queryStringParameters: null });
  });

  it('refuses a declared body over 10 MB with 413 without reading it', async () => {
    const { server, events } = await echoServer();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}/x`, { method: 'POST', headers: { 'content-length': String(API_GATEWAY_MAX_BODY_BYTES + 1) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write('{');
    });
    expect(status).toBe(413);
    expect(events).toHaveLength(0);
  });

  it('stops reading a chunked body once it passes 10 MB', async () => {
    const { server, events } = await echoServer();
    const { status, written } = await new Promise<{ status: number; written: number }>((resolve, reject) => {
      let written = 0;
      const req = request(`${server.url}/x`, { method: 'POST' }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, written });
      });
      req.on('error', (error) => (written > API_GATEWAY_MAX_BODY_BYTES ? resolve({ status: -1, written }) : reject(error)));
      const chunk = Buffer.alloc(1024 * 1024, 0x61);
      const pump = () => {
        while (written < 40 * 1024 * 1024) {
          written += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
    expect([413, -1]).toContain(status);
    // The server answered (or hung up) long before the client could push 40 MB.
    expect(written).toBeLessThan(40 * 1024 * 1024);
    expect(events).toHaveLength(0);
  });

  it('answers 502 when the handler throws, like API Gateway', async () => {
    const errors: unknown[] = [];
    const server = await startApiServer({ port: 0, handler: async () => Promise.reject(new Error('boom')), onError: (e) => errors.push(e) });
    servers.push(server);
    const response = await fetch(`${server.url}/x`);
    expect(response.status).toBe(502);
    expect(await response.text()).not.toContain('boom');
    expect(errors).toHaveLength(1);
  });

  it('rejects with a message naming the port when it is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startApiServer({ port, handler: async () => ({ statusCode: 200, body: '' }) })).rejects.toThrow(
        new RegExp(`Port ${port} .*already in use`),
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('close() is idempotent and frees the port', async () => {
    const { server } = await echoServer();
    await fetch(`${server.url}/x`);
    await Promise.all([server.close(), server.close()]);
    const again = await startApiServer({ port: server.port, handler: async () => ({ statusCode: 204, body: '' }) });
    servers.push(again);
    expect(again.port).toBe(server.port);
  });
});
