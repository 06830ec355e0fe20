import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { generateSigningSecret } from '../../../lambdas/core/secrets';
import { buildDeliveryHeaders } from '../../../lambdas/core/signing';
import { readSecrets, startReceiver, verifyDelivery } from '../../../local/receiver';

const BODY = JSON.stringify({ id: 'evt_1', type: 'thread.completed', timestamp: '2026-01-01T00:00:00.000Z', fleetId: 'demo', data: {} });
const NOW = Math.floor(Date.now() / 1000);

function signed(secrets: string[], body = BODY, timestamp = NOW): Record<string, string> {
  return buildDeliveryHeaders({
    deliveryId: 'dlv_01M858DDWEFE1TE91EZ0FA8JB3',
    timestamp,
    body,
    secrets,
    headerPrefix: 'X-Webhook',
    userAgent: 'Hookline/test',
  });
}

describe('example receiver: verifyDelivery', () => {
  const secret = generateSigningSecret();

  it('accepts a genuine delivery', () => {
    expect(verifyDelivery([secret], signed([secret]), BODY, 'X-Webhook', NOW)).toMatchObject({ ok: true, scheme: 'standard-webhooks' });
  });

  it('rejects a tampered body, a wrong secret and a stale timestamp, saying why', () => {
    expect(verifyDelivery([secret], signed([secret]), BODY.replace('demo', 'evil'), 'X-Webhook', NOW)).toMatchObject({
      ok: false,
      reason: 'signature_mismatch',
    });
    expect(verifyDelivery([generateSigningSecret()], signed([secret]), BODY, 'X-Webhook', NOW)).toMatchObject({ ok: false });
    const stale = NOW - 3_600;
    expect(verifyDelivery([secret], signed([secret], BODY, stale), BODY, 'X-Webhook')).toMatchObject({
      ok: false,
      reason: 'timestamp_outside_tolerance',
    });
  });

  it('during a rotation accepts a delivery with the old secret alone (either scheme verifying is enough)', () => {
    const next = generateSigningSecret();
    const headers = signed([next, secret]);
    expect(verifyDelivery([secret], headers, BODY, 'X-Webhook', NOW)).toMatchObject({ ok: true, scheme: 'standard-webhooks' });
    expect(verifyDelivery([next], headers, BODY, 'X-Webhook', NOW)).toMatchObject({ ok: true });
  });

  it('reads several secrets from WEBHOOK_SECRET (comma or space separated) and WEBHOOK_SECRETS', () => {
    expect(readSecrets({ WEBHOOK_SECRET: 'whsec_a,whsec_b  whsec_c', WEBHOOK_SECRETS: 'whsec_d' })).toEqual([
      'whsec_a',
      'whsec_b',
      'whsec_c',
      'whsec_d',
    ]);
  });
});

describe('example receiver: server', () => {
  const secret = generateSigningSecret();
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function start(failStatus?: number): Promise<{ url: string; lines: string[] }> {
    const lines: string[] = [];
    server = await startReceiver({ port: 0, secrets: [secret], failStatus, headerPrefix: 'X-Webhook', print: (line) => lines.push(line) });
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`, lines };
  }

  it('answers 204 to a verified delivery and prints it', async () => {
    const { url, lines } = await start();
    const response = await fetch(url, { method: 'POST', headers: signed([secret]), body: BODY });
    expect(response.status).toBe(204);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/thread\.completed event=evt_1 fleet=demo webhook-id=dlv_\S+ verified=true .*→ 204$/);
  });

  it('answers RECEIVER_FAIL_STATUS to verified deliveries and 401 to unverified ones', async () => {
    const { url, lines } = await start(500);
    expect((await fetch(url, { method: 'POST', headers: signed([secret]), body: BODY })).status).toBe(500);
    const forged = signed([generateSigningSecret()]);
    expect((await fetch(url, { method: 'POST', headers: forged, body: BODY })).status).toBe(401);
    expect(lines[1]).toMatch(/verified=false \(signature_mismatch: .*\) → 401$/);
    expect((await fetch(url)).status).toBe(405);
  });

  it('answers 204 (not 401) to a delivery signed during a rotation when it holds only the old secret', async () => {
    const { url, lines } = await start();
    const response = await fetch(url, { method: 'POST', headers: signed([generateSigningSecret(), secret]), body: BODY });
    expect(response.status).toBe(204);
    expect(lines[0]).toMatch(/verified=true \(standard-webhooks, secret 1\) → 204$/);
  });
});
