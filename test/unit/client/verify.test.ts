import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { verify, verifyOrThrow, WebhookVerificationError } from '../../../client';
import { generateSigningSecret } from '../../../lambdas/core/secrets';
import { buildDeliveryHeaders, signStandardWebhooks } from '../../../lambdas/core/signing';

const BODY = JSON.stringify({ id: 'evt_1', type: 'thread.completed', timestamp: '2026-01-01T00:00:00.000Z', fleetId: 'demo', data: { a: 1 } });
const NOW = 1_800_000_000;
const DELIVERY = 'dlv_01M858DDWEFE1TE91EZ0FA8JB3';

/** Headers exactly as the dispatcher builds them (lambdas/core/signing.ts). */
function signed(secrets: string[], options: { body?: string; timestamp?: number; prefix?: string } = {}): Record<string, string> {
  return buildDeliveryHeaders({
    deliveryId: DELIVERY,
    timestamp: options.timestamp ?? NOW,
    body: options.body ?? BODY,
    secrets,
    headerPrefix: options.prefix ?? 'X-Webhook',
    userAgent: 'Hookline/test',
  });
}

function only(headers: Record<string, string>, scheme: 'standard' | 'hex'): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => (scheme === 'standard' ? !name.startsWith('x-') : !name.startsWith('webhook-'))),
  );
}

describe('verify: deliveries signed by Hookline', () => {
  const secret = generateSigningSecret();

  it('accepts a genuine delivery, by either scheme alone', () => {
    expect(verify(signed([secret]), BODY, secret, { nowSeconds: NOW })).toMatchObject({
      ok: true,
      scheme: 'standard-webhooks',
      secretIndex: 0,
      deliveryId: DELIVERY,
      timestamp: NOW,
    });
    expect(verify(only(signed([secret]), 'standard'), BODY, [secret], { nowSeconds: NOW })).toMatchObject({ ok: true, scheme: 'standard-webhooks' });
    expect(verify(only(signed([secret]), 'hex'), BODY, [secret], { nowSeconds: NOW })).toMatchObject({
      ok: true,
      scheme: 'hex',
      deliveryId: DELIVERY,
    });
  });

  it('accepts raw bytes, fetch Headers and array-valued Node headers', () => {
    const headers = signed([secret]);
    expect(verify(new Headers(headers), Buffer.from(BODY), [secret], { nowSeconds: NOW }).ok).toBe(true);
    const arrays = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toUpperCase(), [value]]));
    expect(verify(arrays, new TextEncoder().encode(BODY), [secret], { nowSeconds: NOW }).ok).toBe(true);
  });

  it('honours a deployment header prefix for the hex X-Webhook-Signature scheme', () => {
    const headers = only(signed([secret], { prefix: 'X-Agent' }), 'hex');
    expect(verify(headers, BODY, [secret], { nowSeconds: NOW }).ok).toBe(false);
    expect(verify(headers, BODY, [secret], { nowSeconds: NOW, headerPrefix: 'X-Agent' })).toMatchObject({ ok: true, scheme: 'hex' });
  });

  it('during a rotation accepts either secret, and says which one verified', () => {
    const next = generateSigningSecret();
    const headers = signed([next, secret]);
    // The old secret verifies the Standard Webhooks header (it carries both signatures)…
    expect(verify(headers, BODY, [secret], { nowSeconds: NOW })).toMatchObject({ ok: true, scheme: 'standard-webhooks', secretIndex: 0 });
    // …and a receiver already holding both accepts with either.
    expect(verify(headers, BODY, [generateSigningSecret(), next], { nowSeconds: NOW })).toMatchObject({ ok: true, secretIndex: 1 });
    // The hex scheme carries the current secret only.
    expect(verify(only(headers, 'hex'), BODY, [secret], { nowSeconds: NOW })).toMatchObject({ ok: false, reason: 'signature_mismatch' });
    expect(verify(only(headers, 'hex'), BODY, [secret, next], { nowSeconds: NOW })).toMatchObject({ ok: true, secretIndex: 1 });
  });

  it('says why it failed: tampered or re-serialised body, wrong secret', () => {
    const headers = signed([secret]);
    const tampered = verify(headers, BODY.replace('"a":1', '"a":2'), [secret], { nowSeconds: NOW });
    expect(tampered).toMatchObject({ ok: false, reason: 'signature_mismatch' });
    expect(!tampered.ok && tampered.message).toMatch(/changed or re-serialised/);
    const reserialised = JSON.stringify(JSON.parse(BODY), null, 2);
    expect(verify(headers, reserialised, [secret], { nowSeconds: NOW })).toMatchObject({ ok: false, reason: 'signature_mismatch' });
    expect(verify(headers, BODY, [generateSigningSecret()], { nowSeconds: NOW })).toMatchObject({ ok: false, reason: 'signature_mismatch' });
  });

  it('says why it failed: timestamp outside the tolerance either way, or not a number', () => {
    const old = signed([secret], { timestamp: NOW - 301 });
    expect(verify(old, BODY, [secret], { nowSeconds: NOW })).toMatchObject({ ok: false, reason: 'timestamp_outside_tolerance' });
    expect(verify(old, BODY, [secret], { nowSeconds: NOW, toleranceSeconds: 600 }).ok).toBe(true);
    const future = signed([secret], { timestamp: NOW + 301 });
    const result = verify(future, BODY, [secret], { nowSeconds: NOW });
    expect(result).toMatchObject({ ok: false, reason: 'timestamp_outside_tolerance' });
    expect(!result.ok && result.message).toMatch(/in the future/);
    const garbled = { ...signed([secret]), 'webhook-timestamp': 'soon', 'x-webhook-timestamp': 'soon' };
    expect(verify(garbled, BODY, [secret], { nowSeconds: NOW })).toMatchObject({ ok: false, reason: 'timestamp_invalid' });
  });

  it('says why it failed: no signature header, secret not whsec_', () => {
    expect(verify({ 'content-type': 'application/json' }, BODY, [secret], { nowSeconds: NOW })).toMatchObject({
      ok: false,
      reason: 'no_signature_header',
    });
    const { 'webhook-id': _id, ...withoutId } = only(signed([secret]), 'standard');
    expect(verify(withoutId, BODY, [secret], { nowSeconds: NOW })).toMatchObject({ ok: false, reason: 'no_signature_header' });
    const bare = secret.slice('whsec_'.length);
    expect(verify(signed([secret]), BODY, [bare], { nowSeconds: NOW })).toMatchObject({ ok: false, reason: 'secret_not_whsec' });
    // A good secret beside a malformed one still verifies.
    expect(verify(signed([secret]), BODY, [bare, secret], { nowSeconds: NOW })).toMatchObject({ ok: true, secretIndex: 1 });
  });

  it('verifyOrThrow throws a typed error', () => {
    expect(() => verifyOrThrow(signed([secret]), `${BODY} `, secret, { nowSeconds: NOW })).toThrow(WebhookVerificationError);
    try {
      verifyOrThrow({}, BODY, secret);
    } catch (error) {
      expect((error as WebhookVerificationError).reason).toBe('no_signature_header');
    }
    expect(() => verify({}, BODY, [])).toThrow(TypeError);
  });
});

describe('verify: interoperability with the standardwebhooks package', () => {
  it('verifies what the package signs, and the package verifies what Hookline signs', () => {
    const secret = generateSigningSecret();
    const now = Math.floor(Date.now() / 1000);
    const webhook = new Webhook(secret);
    const signature = webhook.sign('msg_1', new Date(now * 1000), BODY);
    const packageSigned = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(now), 'webhook-signature': signature };
    expect(verify(packageSigned, BODY, secret)).toMatchObject({ ok: true, scheme: 'standard-webhooks', deliveryId: 'msg_1' });
    expect(verify(packageSigned, `${BODY}x`, secret).ok).toBe(false);

    const ours = signed([secret], { timestamp: now });
    expect(() => webhook.verify(BODY, ours)).not.toThrow();
    expect(() => webhook.verify(`${BODY}x`, ours)).toThrow();
  });

  it("matches the Standard Webhooks specification's published example", () => {
    // The example used by the specification and its reference libraries' tests.
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const headers = {
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    };
    const payload = '{"test": 2432232314}';
    expect(
      signStandardWebhooks({ msgId: headers['webhook-id'], timestamp: 1614265330, body: payload, secrets: [secret] }),
    ).toBe(headers['webhook-signature']);
    expect(verify(headers, payload, secret, { nowSeconds: 1614265330 })).toMatchObject({ ok: true });
    expect(() => new Webhook(secret).verify(payload, headers)).toThrow(/too old/);
    // Several signatures, only one of them good (the package's own multi-signature case).
    const several = { ...headers, 'webhook-signature': `v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,abc ${headers['webhook-signature']}` };
    expect(verify(several, payload, secret, { nowSeconds: 1614265330 })).toMatchObject({ ok: true });
    expect(verify(headers, payload, 'whsec_' + Buffer.alloc(24, 1).toString('base64'), { nowSeconds: 1614265330 })).toMatchObject({
      ok: false,
      reason: 'signature_mismatch',
    });
  });
});
