import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTime } from '../../../cli/api-commands';
import { runCli } from '../../../cli/hookline';
import { writeInstanceFile } from '../../../local/instance-file';

/**
 * The CLI's requests for routes served by other modules (events list/get, fleet deliveries, inbound
 * sources), checked against a stub API that records what it receives and answers per the contract.
 */
interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: unknown;
}

describe('hookline API commands against a stub API', () => {
  let server: Server;
  let apiUrl: string;
  let dataDir: string;
  const seen: Seen[] = [];
  let answer: (seen: Seen) => { status: number; body?: unknown } = () => ({ status: 200, body: {} });

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const entry = { method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body: text === '' ? undefined : JSON.parse(text) };
        seen.push(entry);
        const { status, body } = answer(entry);
        res.writeHead(status, { 'content-type': 'application/json' }).end(body === undefined ? undefined : JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dataDir = mkdtempSync(join(tmpdir(), 'hookline-cli-unit-'));
    writeFileSync(join(dataDir, 'dev-token'), 'hlk_tok_01J0Z8K7Q3N5X2B4C6D8E0F1G2_local-development-token\n');
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function cli(args: string[], env: NodeJS.ProcessEnv = { HOOKLINE_DATA_DIR: dataDir }) {
    let stdout = '';
    let stderr = '';
    seen.length = 0;
    const code = await runCli(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, now: () => new Date('2026-01-01T12:00:00Z') });
    return { code, stdout, stderr };
  }

  function running(tokenSource: 'generated' | 'HOOKLINE_TOKEN' = 'generated'): void {
    writeInstanceFile(dataDir, {
      pid: process.pid,
      apiUrl,
      region: 'us-east-1',
      sqsEndpoint: 'unused',
      eventBridgeEndpoint: 'unused',
      eventBus: 'unused',
      tokenSource,
      queues: { eventsUrl: '', eventsDlqUrl: '', deliveriesUrl: '', deliveriesDlqUrl: '' },
    });
  }

  it('says no local Hookline runs (exit 1), and that --api needs a token (exit 2)', async () => {
    const none = await cli(['webhooks', 'list', '--fleet', 'demo'], { HOOKLINE_DATA_DIR: join(dataDir, 'nothing-here') });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^hookline: No local Hookline is running on .*nothing-here\. Start one with `npm start`/);
    const noToken = await cli(['webhooks', 'list', '--fleet', 'demo'], { HOOKLINE_API: apiUrl });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/--api needs a token/);
  });

  it('finds the local instance and its development token; HOOKLINE_API and HOOKLINE_TOKEN take a deployed stack', async () => {
    running();
    answer = () => ({ status: 200, body: { data: [], nextCursor: null } });
    expect((await cli(['webhooks', 'list', '--fleet', 'demo'])).stdout).toBe('No webhooks in fleet demo.\n');
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/fleets/demo/webhooks', authorization: 'Bearer hlk_tok_01J0Z8K7Q3N5X2B4C6D8E0F1G2_local-development-token' });
    await cli(['webhooks', 'list', '--fleet', 'demo'], { HOOKLINE_API: `${apiUrl}/`, HOOKLINE_TOKEN: 'a-token-of-my-own-choosing' });
    expect(seen[0]).toMatchObject({ url: '/fleets/demo/webhooks', authorization: 'Bearer a-token-of-my-own-choosing' });
    running('HOOKLINE_TOKEN');
    const needsToken = await cli(['webhooks', 'list', '--fleet', 'demo']);
    expect(needsToken.code).toBe(1);
    expect(needsToken.stderr).toMatch(/started with HOOKLINE_TOKEN: set HOOKLINE_TOKEN here too/);
    running();
  });

  it('events list and get: GET /fleets/{fleetId}/events[/{id}] with type and time filters', async () => {
    running();
    answer = ({ url }) =>
      url.startsWith('/fleets/demo/events/')
        ? { status: 200, body: { id: 'evt_1', type: 'thread.completed', timestamp: '2026-01-01T11:00:00.000Z', data: {} } }
        : { status: 200, body: { data: [{ id: 'evt_1', type: 'thread.completed', timestamp: '2026-01-01T11:00:00.000Z' }], nextCursor: null } };
    const list = await cli(['events', 'list', '--fleet', 'demo', '--type', 'thread.completed', '--since', '2h', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).data[0].id).toBe('evt_1');
    const url = new URL(seen[0]!.url, apiUrl);
    expect(url.pathname).toBe('/fleets/demo/events');
    expect(Object.fromEntries(url.searchParams)).toEqual({ type: 'thread.completed', since: '2026-01-01T10:00:00.000Z' });
    const table = await cli(['events', 'list', '--fleet', 'demo']);
    expect(table.stdout).toMatch(/^ID\s+TYPE\s+TIMESTAMP\s+SOURCE\nevt_1\s+thread\.completed/);
    const got = await cli(['events', 'get', 'evt_1', '--fleet', 'demo', '--json']);
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/fleets/demo/events/evt_1' });
    expect(JSON.parse(got.stdout)).toMatchObject({ id: 'evt_1' });
  });

  it('deliveries list without --webhook uses the fleet-wide log; --all follows every page', async () => {
    running();
    answer = ({ url }) =>
      url.includes('cursor=c2')
        ? { status: 200, body: { data: [{ id: 'dlv_2' }], nextCursor: null } }
        : { status: 200, body: { data: [{ id: 'dlv_1' }], nextCursor: 'c2' } };
    const all = await cli(['deliveries', 'list', '--fleet', 'demo', '--status', 'failed', '--all', '--json']);
    expect(JSON.parse(all.stdout)).toEqual({ data: [{ id: 'dlv_1' }, { id: 'dlv_2' }], nextCursor: null });
    expect(seen.map((entry) => entry.url)).toEqual(['/fleets/demo/deliveries?status=failed', '/fleets/demo/deliveries?status=failed&cursor=c2']);
  });

  it('inbound-sources: create, list, get, update, rotate, delete per the routes', async () => {
    running();
    answer = ({ method }) => (method === 'DELETE' ? { status: 204 } : { status: method === 'POST' ? 201 : 200, body: { id: 'src_1', provider: 'github', ingestUrl: 'http://x/inbound/src_1', data: [], nextCursor: null } });
    const created = await cli(['inbound-sources', 'create', '--fleet', 'demo', '--provider', 'github', '--name', 'gh', '--set', 'events=["push"]', '--json']);
    expect(created.code, created.stderr).toBe(0);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/fleets/demo/inbound-sources', body: { provider: 'github', name: 'gh', events: ['push'] } });
    await cli(['inbound-sources', 'list', '--fleet', 'demo']);
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/fleets/demo/inbound-sources' });
    await cli(['inbound-sources', 'get', 'src_1', '--fleet', 'demo']);
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/fleets/demo/inbound-sources/src_1' });
    await cli(['inbound-sources', 'update', 'src_1', '--fleet', 'demo', '--disable']);
    expect(seen[0]).toMatchObject({ method: 'PATCH', url: '/fleets/demo/inbound-sources/src_1', body: { enabled: false } });
    await cli(['inbound-sources', 'rotate', 'src_1', '--fleet', 'demo']);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/fleets/demo/inbound-sources/src_1/rotate' });
    const deleted = await cli(['inbound-sources', 'delete', 'src_1', '--fleet', 'demo', '--json']);
    expect(seen[0]).toMatchObject({ method: 'DELETE', url: '/fleets/demo/inbound-sources/src_1' });
    expect(JSON.parse(deleted.stdout)).toEqual({ id: 'src_1', deleted: true });
  });

  it('prints an API refusal as one line plus its fields, exit 1', async () => {
    running();
    answer = () => ({ status: 400, body: { error: { code: 'bad_request', message: 'Invalid input.', details: [{ field: 'type', reason: 'is not an event type' }] } } });
    const refused = await cli(['events', 'publish', '--fleet', 'demo', '--type', 'nope']);
    expect(refused).toMatchObject({ code: 1, stderr: 'hookline: Invalid input. (HTTP 400)\n  type: is not an event type\n' });
    expect(seen[0]).toMatchObject({ body: { type: 'nope', data: {} } });
  });

  it('parses times as ISO or as a duration ago', () => {
    const now = new Date('2026-01-01T12:00:00Z');
    expect(parseTime('30m', 'since', now)).toBe('2026-01-01T11:30:00.000Z');
    expect(parseTime('2026-01-01T00:00:00+02:00', 'since', now)).toBe('2025-12-31T22:00:00.000Z');
    expect(() => parseTime('yesterday', 'since', now)).toThrow(/--since must be an ISO time/);
  });
});
