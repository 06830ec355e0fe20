import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/paths';

// @hookline/client and @hookline/verify as a developer gets them: `npm pack` (which builds each),
// the tarballs installed offline into a fresh app, used from CommonJS and an ES module, and a
// TypeScript file over their declarations compiled with every declaration checked.
const TIMEOUT_MS = 240_000;
const NAMES = ['client', 'verify'] as const;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, timeout: TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

async function pack(dir: string, destination: string): Promise<{ tarball: string; files: string[] }> {
  const packed = await run('npm', ['pack', '--json', '--pack-destination', destination, dir], destination);
  if (packed.code !== 0) throw new Error(`npm pack ${dir} failed: ${packed.stderr}`);
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  return { tarball: join(destination, info!.filename), files: info!.files.map((f) => f.path) };
}

/**
 * Offline, npm cannot resolve a dependency's range (`npm ci` caches tarballs, not the registry's
 * version lists), so this repository's installed copies stand in for the registry: each
 * dependency and theirs, packed from node_modules.
 */
async function dependencyClosure(manifests: Record<string, string>[], destination: string): Promise<string[]> {
  const seen = new Set<string>();
  const queue = manifests.flatMap((deps) => Object.keys(deps));
  const tarballs: string[] = [];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const dir = join(PROJECT_ROOT, 'node_modules', name);
    tarballs.push((await pack(dir, destination)).tarball);
    queue.push(...Object.keys(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).dependencies ?? {}));
  }
  return tarballs;
}

const SECRET = `whsec_${Buffer.from('developer-packages-test-secret').toString('base64')}`;

/** A delivery signed as Hookline signs one (Standard Webhooks), so verify() has something real to check. */
function signedDelivery(): { headers: Record<string, string>; body: string } {
  const body = JSON.stringify({ type: 'integ.ping', data: { n: 1 } });
  const id = 'msg_packages';
  const timestamp = String(Math.floor(Date.now() / 1000));
  const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { headers: { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` }, body };
}

const USAGE = (load: string) => `${load}
const delivery = JSON.parse(process.env.DELIVERY);
const good = verifyAlone(delivery.headers, delivery.body, process.env.SECRET);
const tampered = verifyFromClient(delivery.headers, delivery.body + ' ', process.env.SECRET);
const client = createHooklineClient({ baseUrl: process.env.API_URL + '/', token: 'hlk_tok_test' });
client.GET('/fleets/{fleetId}/webhooks', { params: { path: { fleetId: 'acme' } } }).then(({ data }) => {
  console.log(JSON.stringify({ good: good.ok, tampered: tampered.ok, reason: tampered.reason, data }));
});
`;

const CONSUMER_TS = `import { verify, verifyOrThrow, type VerifyResult } from '@hookline/verify';
import { createHooklineClient, type Webhook, type HooklineClient } from '@hookline/client';

const result: VerifyResult = verify({ 'webhook-id': 'x' }, 'body', 'whsec_AAAA');
const client: HooklineClient = createHooklineClient({ baseUrl: 'http://127.0.0.1:1', token: 't' });
async function names(): Promise<string[]> {
  const { data } = await client.GET('/fleets/{fleetId}/webhooks', { params: { path: { fleetId: 'acme' } } });
  return (data?.data ?? []).map((webhook: Webhook) => webhook.id);
}
// @ts-expect-error verify wants a body
verify({}, undefined, 'whsec_AAAA');
// @ts-expect-error the routes are typed
void client.GET('/no-such-route');
void [result, names, verifyOrThrow];
`;

let work: string;
let app: string;
let server: Server;
let apiUrl: string;
const seenAuthorization: string[] = [];
const packed: Record<string, string[]> = {};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'hookline-devpkgs-'));
  const tarballs: string[] = [];
  const dependencies: Record<string, string>[] = [];
  for (const name of NAMES) {
    const result = await pack(join(PROJECT_ROOT, 'packages', name), work);
    tarballs.push(result.tarball);
    packed[name] = result.files;
    dependencies.push(JSON.parse(readFileSync(join(PROJECT_ROOT, 'packages', name, 'package.json'), 'utf8')).dependencies ?? {});
  }
  const closure = await dependencyClosure(dependencies, work);
  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'developer-app', version: '1.0.0', private: true }));
  const installed = await run('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock', ...closure, ...tarballs], app);
  if (installed.code !== 0) throw new Error(`npm install of the tarballs failed: ${installed.stderr}`);
  mkdirSync(join(app, 'node_modules', '@types'), { recursive: true });
  symlinkSync(join(PROJECT_ROOT, 'node_modules', '@types', 'node'), join(app, 'node_modules', '@types', 'node'), 'dir');
  writeFileSync(
    join(app, 'use.cjs'),
    USAGE("const { verify: verifyAlone } = require('@hookline/verify');\nconst { verify: verifyFromClient, createHooklineClient } = require('@hookline/client');"),
  );
  writeFileSync(
    join(app, 'use.mjs'),
    USAGE("import { verify as verifyAlone } from '@hookline/verify';\nimport { verify as verifyFromClient, createHooklineClient } from '@hookline/client';"),
  );
  writeFileSync(join(app, 'consumer.ts'), CONSUMER_TS);
  writeFileSync(join(app, 'consumer.mts'), CONSUMER_TS);
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] },
      files: ['consumer.ts', 'consumer.mts'],
    }),
  );
  server = createServer((request, response) => {
    seenAuthorization.push(String(request.headers.authorization));
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: [{ id: 'wh_1' }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, TIMEOUT_MS + 60_000);

afterAll(async () => {
  if (server) await new Promise((resolve) => server.close(resolve));
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('npm pack of the developer packages', () => {
  it('ship compiled code and declarations, no TypeScript sources; verify has no dependency, client only openapi-fetch', () => {
    for (const name of NAMES) {
      expect(packed[name]).toEqual(expect.arrayContaining(['package.json', 'dist/index.mjs', 'dist/index.cjs']));
      expect(packed[name]!.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    }
    const manifest = (name: string) => JSON.parse(readFileSync(join(app, 'node_modules', '@hookline', name, 'package.json'), 'utf8'));
    expect(manifest('verify').dependencies).toBeUndefined();
    expect(Object.keys(manifest('client').dependencies)).toEqual(['openapi-fetch']);
    expect(existsSync(join(app, 'node_modules', 'typescript'))).toBe(false);
  });

  for (const entry of ['use.cjs', 'use.mjs']) {
    it(`${entry}: verify() accepts a signed delivery and refuses a tampered one; the client calls the API with the token`, async () => {
      const before = seenAuthorization.length;
      const env = { PATH: dirname(process.execPath), DELIVERY: JSON.stringify(signedDelivery()), SECRET, API_URL: apiUrl };
      const result = await run(process.execPath, [entry], app, env);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ good: true, tampered: false, reason: 'signature_mismatch', data: { data: [{ id: 'wh_1' }] } });
      expect(seenAuthorization.slice(before)).toEqual(['Bearer hlk_tok_test']);
    });
  }

  it('a TypeScript app (CommonJS and ES module) compiles over their declarations with every declaration checked', async () => {
    const tsc = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], app);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  }, TIMEOUT_MS);
});
