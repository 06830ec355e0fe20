import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../cli/hookline';
import { verify } from '../../client';
import { readInstanceFile } from '../../local/instance-file';
import { freePort, killGroup, spawnNpmStart, startTestReceiver, waitUntil, type HooklineProcess, type ReceivedDelivery, type TestReceiver } from './helpers';

/**
 * The CLI against one `npm start` on a data directory of its own (not .hookline/), found through
 * the instance file with no flags, as a user runs the quickstart. Most calls go through runCli
 * in-process (the same code as the binary, minus a Node start per call); a few spawn the binary.
 */

const REPO = resolve(import.meta.dirname, '../..');
const BIN = join(REPO, 'bin/hookline.mjs');
const FLEET = 'demo';
const READY = /Hookline API: (http:\/\/127\.0\.0\.1:\d+)\n/;
const DELIVERY_TIMEOUT_MS = 15_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('hookline CLI against npm start', () => {
  let dataDir: string;
  let hookline: HooklineProcess;
  let receiver: TestReceiver;
  let webhookId: string;
  let secret: string;
  let oldSecret: string;
  let deliveryId: string;
  let routes: Set<string>;

  /** The environment of a shell that has only HOOKLINE_DATA_DIR set. */
  const env = (): NodeJS.ProcessEnv => ({ HOOKLINE_DATA_DIR: dataDir });

  async function cli(...args: string[]): Promise<Run> {
    let stdout = '';
    let stderr = '';
    const code = await runCli(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: env() });
    return { code, stdout, stderr };
  }

  async function cliJson(...args: string[]): Promise<any> {
    const run = await cli(...args, '--json');
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(run.stdout);
  }

  async function spawnCli(...args: string[]): Promise<Run> {
    const { HOOKLINE_API: _a, HOOKLINE_TOKEN: _t, ...rest } = process.env;
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], {
        cwd: REPO,
        env: { ...rest, ...env() },
        timeout: 30_000,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
    }
  }

  function header(delivery: ReceivedDelivery, name: string): string {
    const value = delivery.headers[name];
    return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
  }

  const received = (type: string) => receiver.received.filter((delivery) => JSON.parse(delivery.body).type === type);

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'hookline-cli-e2e-'));
    receiver = await startTestReceiver();
    hookline = spawnNpmStart(REPO, {
      HOOKLINE_DATA_DIR: dataDir,
      HOOKLINE_PORT: String(await freePort()),
      HOOKLINE_TOKEN: '',
      HOOKLINE_SETTINGS: JSON.stringify({ retryDelaysSeconds: [1], retryJitter: 0 }),
    });
    const [, apiUrl] = await hookline.waitForLine(READY, 30_000);
    const document = (await (await fetch(`${apiUrl}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    routes = new Set(Object.keys(document.paths));
  });

  afterAll(async () => {
    if (hookline !== undefined) killGroup(hookline.pgid);
    await receiver?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('--version (the binary), and a usage mistake exits 2 with one line and a hint', async () => {
    const version = await spawnCli('--version');
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(`hookline ${JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version}`);
    expect(version.stderr).toBe('');
    const mistake = await cli('webhooks', 'lst', '--fleet', FLEET);
    expect(mistake.code).toBe(2);
    expect(mistake.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^hookline: Unknown webhooks command "lst"/),
      'Run `hookline webhooks --help` for the commands and their options.',
    ]);
    expect((await cli('webhooks', 'create', '--url', 'https://x.example')).code).toBe(2);
    expect((await cli('webhooks', 'get', '--fleet', FLEET)).code).toBe(2);
    const help = await cli('webhooks', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('hookline webhooks create --fleet <fleet> --url <url>');
  });

  it('webhooks create, list, get, update', async () => {
    const created = await cliJson('webhooks', 'create', '--fleet', FLEET, '--url', receiver.url, '--events', 'thread.completed,approval.requested', '--name', 'cli');
    expect(created).toMatchObject({ fleetId: FLEET, url: receiver.url, events: ['thread.completed', 'approval.requested'], name: 'cli' });
    expect(created.secret).toMatch(/^whsec_/);
    webhookId = created.id;
    secret = created.secret;

    const list = await cliJson('webhooks', 'list', '--fleet', FLEET);
    expect(list.data.map((webhook: { id: string }) => webhook.id)).toEqual([webhookId]);
    const table = await cli('webhooks', 'list', '--fleet', FLEET);
    expect(table.stdout).toMatch(new RegExp(`^ID\\s+URL\\s+EVENTS\\s+ENABLED\\s+NAME\\n${webhookId}\\s+${receiver.url}`));

    expect(await cliJson('webhooks', 'get', webhookId, '--fleet', FLEET)).not.toHaveProperty('secret');
    const updated = await cliJson('webhooks', 'update', webhookId, '--fleet', FLEET, '--max-attempts', '3', '--header', 'x-team=core');
    expect(updated).toMatchObject({ maxAttempts: 3, headers: { 'x-team': 'core' } });
  });

  it('refuses http://example.com naming the https rule first (exit 1, field and reason)', async () => {
    const refused = await cli('webhooks', 'create', '--fleet', FLEET, '--url', 'http://example.com/hooks');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/\(HTTP 400\)\n {2}url: must use https:/);
  });

  it('events publish delivers a signed event; a repeat says duplicate, a changed repeat is 409 naming data', async () => {
    const published = await cliJson('events', 'publish', '--fleet', FLEET, '--type', 'thread.completed', '--data', '{"threadId":"t_1"}', '--id', 'order-1');
    expect(published).toEqual({ id: 'order-1' });
    const [delivery] = await waitUntil('the delivery', () => (received('thread.completed').length > 0 ? received('thread.completed') : undefined), DELIVERY_TIMEOUT_MS);
    deliveryId = header(delivery!, 'webhook-id');
    expect(verify(delivery!.headers, delivery!.body, secret)).toMatchObject({ ok: true, scheme: 'standard-webhooks', deliveryId });
    const { 'webhook-signature': _s, ...hexOnly } = delivery!.headers;
    expect(verify(hexOnly, delivery!.body, secret)).toMatchObject({ ok: true, scheme: 'hex' });

    expect(await cliJson('events', 'publish', '--fleet', FLEET, '--type', 'thread.completed', '--data', '{"threadId":"t_1"}', '--id', 'order-1')).toEqual({
      id: 'order-1',
      duplicate: true,
    });
    const changed = await cli('events', 'publish', '--fleet', FLEET, '--type', 'thread.completed', '--data', '{"threadId":"t_2"}', '--id', 'order-1');
    expect(changed.code).toBe(1);
    expect(changed.stderr).toMatch(/\(HTTP 409\)\n {2}data: differs from the event first published with this id/);
  });

  it('events list and get (when this build serves them)', async (context) => {
    if (!routes.has('/fleets/{fleetId}/events/{id}')) context.skip();
    const list = await cliJson('events', 'list', '--fleet', FLEET, '--type', 'thread.completed');
    expect(list.data.map((event: { id: string }) => event.id)).toContain('order-1');
    expect(await cliJson('events', 'get', 'order-1', '--fleet', FLEET)).toMatchObject({ id: 'order-1', type: 'thread.completed' });
  });

  it('deliveries list, get, retry (same webhook-id) and tail', async () => {
    const list = await cliJson('deliveries', 'list', '--fleet', FLEET, '--webhook', webhookId);
    expect(list.data.map((delivery: { id: string }) => delivery.id)).toContain(deliveryId);
    const one = await waitUntil(
      'the delivery to succeed',
      async () => {
        const got = await cliJson('deliveries', 'get', deliveryId, '--fleet', FLEET);
        return got.status === 'succeeded' ? got : undefined;
      },
      DELIVERY_TIMEOUT_MS,
      250,
    );
    expect(one.attempts[0]).toMatchObject({ statusCode: 204 });
    const human = await cli('deliveries', 'get', deliveryId, '--fleet', FLEET);
    expect(human.stdout).toMatch(/#\s+AT\s+STATUS\s+LATENCY/);

    const before = receiver.received.length;
    expect(await cliJson('deliveries', 'retry', deliveryId, '--fleet', FLEET)).toEqual({ deliveryId });
    await waitUntil('the retried delivery', () => receiver.received.slice(before).find((d) => header(d, 'webhook-id') === deliveryId), DELIVERY_TIMEOUT_MS);

    const tail = await cli('deliveries', 'tail', '--fleet', FLEET, '--webhook', webhookId, '--json', '--duration', '1');
    expect(tail.code).toBe(0);
    const lines = tail.stdout.trim().split('\n').map((line) => JSON.parse(line) as { id: string });
    expect(lines.map((line) => line.id)).toContain(deliveryId);
  });

  it('webhooks rotate and test: the receiver verifies with the new secret, and with the old one during the grace period', async () => {
    oldSecret = secret;
    const rotated = await cliJson('webhooks', 'rotate', webhookId, '--fleet', FLEET);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(oldSecret);
    secret = rotated.secret;
    const sent = await cliJson('webhooks', 'test', webhookId, '--fleet', FLEET);
    const delivery = await waitUntil('the test delivery', () => received('webhook.test').find((d) => header(d, 'webhook-id') === sent.deliveryId), DELIVERY_TIMEOUT_MS);
    expect(verify(delivery.headers, delivery.body, secret)).toMatchObject({ ok: true });
    expect(verify(delivery.headers, delivery.body, oldSecret)).toMatchObject({ ok: true, scheme: 'standard-webhooks' });
  });

  it('replay re-delivers a time range with the original delivery ids', async () => {
    const before = receiver.received.length;
    const replay = await cliJson('replay', webhookId, '--fleet', FLEET, '--since', '10m');
    expect(replay.enqueued).toBeGreaterThanOrEqual(1);
    await waitUntil('the replayed delivery', () => receiver.received.slice(before).find((d) => header(d, 'webhook-id') === deliveryId), DELIVERY_TIMEOUT_MS);
  });

  it('inbound-sources create, list, get, update, rotate, delete (when this build serves them)', async (context) => {
    if (!routes.has('/fleets/{fleetId}/inbound-sources')) context.skip();
    const created = await cliJson('inbound-sources', 'create', '--fleet', FLEET, '--provider', 'generic', '--name', 'ci');
    expect(created.ingestUrl).toEqual(expect.any(String));
    expect((await cliJson('inbound-sources', 'list', '--fleet', FLEET)).data.map((s: { id: string }) => s.id)).toContain(created.id);
    expect(await cliJson('inbound-sources', 'get', created.id, '--fleet', FLEET)).toMatchObject({ id: created.id });
    expect(await cliJson('inbound-sources', 'update', created.id, '--fleet', FLEET, '--name', 'renamed')).toMatchObject({ name: 'renamed' });
    expect(await cliJson('inbound-sources', 'rotate', created.id, '--fleet', FLEET)).toMatchObject({ id: created.id });
    expect(await cliJson('inbound-sources', 'delete', created.id, '--fleet', FLEET)).toEqual({ id: created.id, deleted: true });
  });

  it('tokens create, list and revoke work against the running instance (the binary, no flags)', async () => {
    const created = await spawnCli('tokens', 'create', '--fleet', FLEET, '--name', 'ci', '--json');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).not.toMatch(/Database is closed|NodeVersionSupportWarning/);
    const token = JSON.parse(created.stdout) as { id: string; token: string };
    const listed = (await cliJson('tokens', 'list')) as { id: string; name?: string }[];
    expect(listed.map((item) => item.id)).toContain(token.id);
    expect(listed.some((item) => item.name === 'local dev token')).toBe(true);

    // The new token works for its fleet only.
    expect((await cli('webhooks', 'list', '--fleet', FLEET, '--token', token.token)).code).toBe(0);
    const other = await cli('webhooks', 'list', '--fleet', 'other', '--token', token.token);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/HTTP 404/);

    expect((await cli('tokens', 'revoke', token.id)).code).toBe(0);
    await waitUntil(
      'the revoked token to stop working',
      async () => ((await cli('webhooks', 'list', '--fleet', FLEET, '--token', token.token)).stderr.includes('HTTP 401') ? true : undefined),
      15_000,
      500,
    );
  });

  it('webhooks delete, after which get exits 1 with the 404', async () => {
    expect(await cliJson('webhooks', 'delete', webhookId, '--fleet', FLEET)).toEqual({ id: webhookId, deleted: true });
    const gone = await cli('webhooks', 'get', webhookId, '--fleet', FLEET);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^hookline: Webhook not found\. \(HTTP 404\)\n {2}id: /);
  });

  it('the terminal log: one line per rejected bus event, no empty-metrics notices', async () => {
    const instance = readInstanceFile(dataDir)!;
    const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    const eventBridge = new EventBridgeClient({ endpoint: instance.eventBridgeEndpoint, region: instance.region, credentials });
    const sqs = new SQSClient({ endpoint: instance.sqsEndpoint, region: instance.region, credentials });
    try {
      await eventBridge.send(
        new PutEventsCommand({
          Entries: [{ EventBusName: instance.eventBus, Source: 'hookline', DetailType: 'no.such.type', Detail: JSON.stringify({ fleetId: FLEET, data: {} }) }],
        }),
      );
      // Dead-lettered after its receives: by then every receive has logged what it logs.
      await waitUntil(
        'the bad event in the events DLQ',
        async () => {
          const attributes = await sqs.send(
            new GetQueueAttributesCommand({ QueueUrl: instance.queues.eventsDlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
          );
          return Number(attributes.Attributes?.ApproximateNumberOfMessages) > 0 ? true : undefined;
        },
        30_000,
        250,
      );
    } finally {
      eventBridge.destroy();
      sqs.destroy();
    }
    const output = hookline.output();
    expect(output.split('\n').filter((line) => line.includes('set aside for the DLQ'))).toHaveLength(1);
    expect(output).not.toContain('No application metrics to publish');
  });
});
