import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  killGroup,
  spawnNpmStart,
  startTestReceiver,
  waitUntil,
  type HooklineProcess,
  type ReceivedDelivery,
  type TestReceiver,
} from './helpers';

/**
 * The quickstart journey against `npm start` exactly as a user runs it, driven only over HTTP and
 * the local EventBridge endpoint.
 */

const REPO = resolve(import.meta.dirname, '../..');
const FLEET = 'acme';
/** A hand-chosen development token in the documented format. */
const TOKEN = 'hlk_tok_01J0Z8K7Q3N5X2B4C6D8E0F1G2_e2e-local-mode-token-0123456789';
const READY = /Hookline API: (http:\/\/127\.0\.0\.1:\d+)\n/;
const READY_TIMEOUT_MS = 15_000;
const DELIVERY_TIMEOUT_MS = 10_000;

/** Every non-zombie process of the group (zombies are reaped by whoever adopts them, not by us). */
function liveGroupMembers(pgid: number): string[] {
  const members: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // Fields after "(comm)": state ppid pgrp …
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') members.push(`${entry} ${stat.slice(0, stat.lastIndexOf(')') + 1)}`);
  }
  return members;
}

function header(delivery: ReceivedDelivery, name: string): string {
  const value = delivery.headers[name];
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

/** Standard Webhooks, checked by the npm package a consumer would use, with no glue. */
function verifiesStandardWebhooks(secret: string, delivery: ReceivedDelivery): boolean {
  try {
    new Webhook(secret).verify(delivery.body, {
      'webhook-id': header(delivery, 'webhook-id'),
      'webhook-timestamp': header(delivery, 'webhook-timestamp'),
      'webhook-signature': header(delivery, 'webhook-signature'),
    });
    return true;
  } catch {
    return false;
  }
}

/** Seed scheme, recomputed here from its definition rather than with Hookline's own signer. */
function verifiesHexScheme(secret: string, delivery: ReceivedDelivery): boolean {
  const timestamp = header(delivery, 'x-webhook-timestamp');
  const expected = Buffer.from(
    `sha256=${createHmac('sha256', secret).update(`${timestamp}.${delivery.body}`).digest('hex')}`,
  );
  const actual = Buffer.from(header(delivery, 'x-webhook-signature'));
  return (
    header(delivery, 'x-webhook-delivery-id') === header(delivery, 'webhook-id') &&
    expected.length === actual.length &&
    timingSafeEqual(expected, actual)
  );
}

function envelopeOf(delivery: ReceivedDelivery): { id: string; type: string; fleetId: string; data: unknown } {
  return JSON.parse(delivery.body) as { id: string; type: string; fleetId: string; data: unknown };
}

describe('npm start (local mode), end to end', () => {
  let dataDir: string;
  let port: number;
  let receiver: TestReceiver;
  let hookline: HooklineProcess | undefined;
  let apiUrl: string;
  const started: HooklineProcess[] = [];

  // Shared by the steps below, which run in order.
  let webhookId: string;
  let secret: string;
  let failingDeliveryId: string;
  const originalIds = new Map<string, string>(); // event id → webhook-id

  async function start(extraEnv: Record<string, string> = {}): Promise<void> {
    hookline = spawnNpmStart(REPO, {
      HOOKLINE_DATA_DIR: dataDir,
      HOOKLINE_PORT: String(port),
      HOOKLINE_TOKEN: TOKEN,
      HOOKLINE_SETTINGS: JSON.stringify({ retryDelaysSeconds: [1], retryJitter: 0, maxAttempts: 3 }),
      ...extraEnv,
    });
    started.push(hookline);
    const ready = await hookline.waitForLine(READY, READY_TIMEOUT_MS);
    apiUrl = ready[1] as string;
  }

  async function api(method: string, path: string, body?: unknown, token = TOKEN): Promise<{ status: number; json: any }> {
    const response = await fetch(`${apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(5_000),
    });
    const text = await response.text();
    return { status: response.status, json: text === '' ? undefined : JSON.parse(text) };
  }

  function deliveriesOf(type: string): ReceivedDelivery[] {
    return receiver.received.filter((delivery) => envelopeOf(delivery).type === type);
  }

  async function stopWith(signal: NodeJS.Signals, target: 'npm' | 'group'): Promise<void> {
    const running = hookline;
    if (running === undefined) throw new Error('not running');
    process.kill(target === 'group' ? -running.pgid : running.pgid, signal);
    const exit = await Promise.race([
      running.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit after ${signal}`)), 12_000)),
    ]);
    expect(exit, running.output()).toEqual({ code: 0, signal: null });
    await waitUntil('process group to empty', () => (liveGroupMembers(running.pgid).length === 0 ? true : undefined), 3_000);
    hookline = undefined;
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'hookline-e2e-'));
    port = await freePort();
    receiver = await startTestReceiver();
  });

  afterAll(async () => {
    for (const process of started) killGroup(process.pgid);
    await receiver?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts and prints the ready line, the token and the local AWS endpoints', async () => {
    await start();
    const output = hookline!.output();
    expect(output).toContain(`Development token for every fleet (from HOOKLINE_TOKEN): ${TOKEN}`);
    expect(output).toMatch(/loopback delivery targets .* allowed locally; private ranges and the metadata address stay refused/);
    expect(output.match(/Hookline API: /g)).toHaveLength(1);
    expect(apiUrl).toBe(`http://127.0.0.1:${port}`);
    const anonymous = await fetch(`${apiUrl}/fleets/${FLEET}/webhooks`);
    expect(anonymous.status).toBe(401);
  });

  it('delivers events published through the API and through EventBridge PutEvents, signed both ways', async () => {
    const created = await api('POST', `/fleets/${FLEET}/webhooks`, {
      url: receiver.url,
      events: ['thread.completed', 'approval.requested', 'turn.failed'],
      name: 'e2e',
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    webhookId = created.json.id;
    secret = created.json.secret;
    expect(secret).toMatch(/^whsec_/);

    const published = await api('POST', `/fleets/${FLEET}/events`, { type: 'thread.completed', data: { thread: 't1' } });
    expect(published.status).toBe(202);

    const [, endpoint, region, bus, source] =
      hookline!.output().match(/EventBridge PutEvents: endpoint (\S+) region (\S+) bus (\S+) source (\S+)/) ?? [];
    const eventBridge = new EventBridgeClient({
      endpoint: endpoint as string,
      region: region as string,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      const put = await eventBridge.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: bus,
              Source: source,
              DetailType: 'approval.requested',
              Detail: JSON.stringify({ fleetId: FLEET, data: { approval: 'a1' } }),
            },
          ],
        }),
      );
      expect(put.FailedEntryCount).toBe(0);
    } finally {
      eventBridge.destroy();
    }

    await waitUntil(
      'both deliveries',
      () => (deliveriesOf('thread.completed').length > 0 && deliveriesOf('approval.requested').length > 0 ? true : undefined),
      DELIVERY_TIMEOUT_MS,
    );
    for (const delivery of receiver.received) {
      expect(verifiesStandardWebhooks(secret, delivery)).toBe(true);
      expect(verifiesHexScheme(secret, delivery)).toBe(true);
      expect(verifiesStandardWebhooks('whsec_' + Buffer.alloc(32, 7).toString('base64'), delivery)).toBe(false);
      const envelope = envelopeOf(delivery);
      expect(envelope.fleetId).toBe(FLEET);
      originalIds.set(envelope.id, header(delivery, 'webhook-id'));
    }
    expect(envelopeOf(deliveriesOf('thread.completed')[0]!).data).toEqual({ thread: 't1' });
    expect(envelopeOf(deliveriesOf('approval.requested')[0]!).data).toEqual({ approval: 'a1' });
  });

  it('retries a failing receiver with the same webhook-id and logs every attempt', async () => {
    // The receiver fails the first two attempts of this event, then accepts the third.
    const seen = new Map<string, number>();
    receiver.respond = (headers: IncomingHttpHeaders, body: string) => {
      if (JSON.parse(body).type !== 'turn.failed') return 204;
      const id = String(headers['webhook-id']);
      const count = (seen.get(id) ?? 0) + 1;
      seen.set(id, count);
      return count <= 2 ? 500 : 204;
    };
    const published = await api('POST', `/fleets/${FLEET}/events`, { type: 'turn.failed', data: { turn: 3 } });
    expect(published.status).toBe(202);

    const attempts = await waitUntil(
      'three attempts',
      () => (deliveriesOf('turn.failed').length >= 3 ? deliveriesOf('turn.failed') : undefined),
      DELIVERY_TIMEOUT_MS,
    );
    expect(attempts.map((delivery) => delivery.status)).toEqual([500, 500, 204]);
    const ids = new Set(attempts.map((delivery) => header(delivery, 'webhook-id')));
    expect(ids.size).toBe(1);
    failingDeliveryId = [...ids][0]!;
    originalIds.set(envelopeOf(attempts[0]!).id, failingDeliveryId);
    // Each attempt is signed afresh (own timestamp) and still verifies.
    for (const delivery of attempts) expect(verifiesStandardWebhooks(secret, delivery)).toBe(true);
    // retryDelaysSeconds [1]: the retries are about a second apart.
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(900);

    const record = await waitUntil(
      'the delivery record to show success',
      async () => {
        const got = await api('GET', `/fleets/${FLEET}/deliveries/${failingDeliveryId}`);
        return got.json?.status === 'succeeded' ? got.json : undefined;
      },
      DELIVERY_TIMEOUT_MS,
    );
    expect(record.attemptCount).toBe(3);
    expect(record.attempts.map((attempt: { statusCode?: number }) => attempt.statusCode)).toEqual([500, 500, 204]);

    const log = await api('GET', `/fleets/${FLEET}/webhooks/${webhookId}/deliveries`);
    expect(log.status).toBe(200);
    expect(log.json.data).toHaveLength(3);
    expect(new Set(log.json.data.map((delivery: { id: string }) => delivery.id))).toEqual(new Set(originalIds.values()));

    // The human-readable log has one line per attempt naming the delivery.
    const lines = hookline!.output().split('\n').filter((line) => line.includes(failingDeliveryId));
    expect(lines.filter((line) => /→ 500 /.test(line))).toHaveLength(2);
    expect(lines.filter((line) => /→ 204 /.test(line))).toHaveLength(1);
  });

  it('re-delivers with the same id through the retry route and the replay route', async () => {
    const before = receiver.received.length;
    const retried = await api('POST', `/fleets/${FLEET}/deliveries/${failingDeliveryId}/retry`);
    expect(retried.status).toBe(202);
    const retry = await waitUntil(
      'the retried delivery',
      () => receiver.received.slice(before).find((delivery) => header(delivery, 'webhook-id') === failingDeliveryId),
      DELIVERY_TIMEOUT_MS,
    );
    expect(verifiesStandardWebhooks(secret, retry)).toBe(true);

    const afterRetry = receiver.received.length;
    const replayed = await api('POST', `/fleets/${FLEET}/webhooks/${webhookId}/replay`, {
      since: new Date(Date.now() - 10 * 60_000).toISOString(),
      until: new Date().toISOString(),
    });
    expect(replayed.status, JSON.stringify(replayed.json)).toBe(202);
    expect(replayed.json.enqueued).toBe(3);
    const replays = await waitUntil(
      'the replayed deliveries',
      () => (receiver.received.length - afterRetry >= 3 ? receiver.received.slice(afterRetry) : undefined),
      DELIVERY_TIMEOUT_MS,
    );
    for (const delivery of replays) {
      expect(header(delivery, 'webhook-id')).toBe(originalIds.get(envelopeOf(delivery).id));
      expect(verifiesHexScheme(secret, delivery)).toBe(true);
    }
  });

  it('stops on SIGTERM with exit code 0 and leaves no process behind', async () => {
    await stopWith('SIGTERM', 'npm');
  });

  it('keeps subscriptions, secrets and delivery logs across a restart (JSON logs this time)', async () => {
    await start({ HOOKLINE_LOG_FORMAT: 'json' });
    const listed = await api('GET', `/fleets/${FLEET}/webhooks`);
    expect(listed.json.data.map((webhook: { id: string }) => webhook.id)).toEqual([webhookId]);
    const record = await api('GET', `/fleets/${FLEET}/deliveries/${failingDeliveryId}`);
    expect(record.json.attempts.length).toBeGreaterThanOrEqual(4);
    const log = await api('GET', `/fleets/${FLEET}/webhooks/${webhookId}/deliveries`);
    expect(log.json.data).toHaveLength(3);

    const before = receiver.received.length;
    await api('POST', `/fleets/${FLEET}/events`, { type: 'thread.completed', data: { thread: 't2' } });
    const delivery = await waitUntil('a delivery after the restart', () => receiver.received[before], DELIVERY_TIMEOUT_MS);
    // Signed with the secret issued before the restart: the secret survived too.
    expect(verifiesStandardWebhooks(secret, delivery)).toBe(true);
    expect(verifiesHexScheme(secret, delivery)).toBe(true);

    const attemptLine = await waitUntil(
      'a JSON attempt log line',
      () =>
        hookline!
          .output()
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .find((line) => line.deliveryId === header(delivery, 'webhook-id') && line.statusCode === 204),
      3_000,
    );
    expect(attemptLine.level).toBe('INFO');
  });

  it('stops on Ctrl-C (SIGINT to the whole group) with exit code 0 and leaves no process behind', async () => {
    await stopWith('SIGINT', 'group');
  });
});
