import { createHmac } from 'node:crypto';
import { Webhook as StandardWebhook, WebhookVerificationError } from 'standardwebhooks';
import { Webhook as SvixWebhook, WebhookVerificationError as SvixVerificationError } from 'svix';
import { describe, expect, it } from 'vitest';
import { MalformedSecretError } from '../../../lambdas/core/errors';
import { generateSigningSecret } from '../../../lambdas/core/secrets';
import {
  buildDeliveryHeaders,
  isReservedHeaderName,
  reservedHeaderReason,
  isValidHeaderName,
  isValidHeaderValue,
  signHexScheme,
  signStandardWebhooks,
} from '../../../lambdas/core/signing';

const nowSeconds = (): number => Math.floor(Date.now() / 1000);
const body = JSON.stringify({
  id: 'evt_1',
  type: 'thread.completed',
  timestamp: '2025-01-01T00:00:00.000Z',
  fleetId: 'fleet-1',
  data: { text: 'héllo ✓ 🚀', n: 1 },
});

function headersFor(secrets: string[], extra: Partial<Parameters<typeof buildDeliveryHeaders>[0]> = {}) {
  return buildDeliveryHeaders({
    deliveryId: 'dlv_01JNKV3Y0RZ8W5T2P4M6Q9B7CD',
    timestamp: nowSeconds(),
    body,
    secrets,
    headerPrefix: 'X-Webhook',
    userAgent: 'Hookline/0.1.0',
    ...extra,
  });
}

// svix bundles its own copy of standardwebhooks, hence its own error class.
const verifiers = [
  ['standardwebhooks', (secret: string) => new StandardWebhook(secret), WebhookVerificationError],
  ['svix', (secret: string) => new SvixWebhook(secret), SvixVerificationError],
] as const;

describe.each(verifiers)('Standard Webhooks signatures verified by the %s package', (_name, verifier, VerificationError) => {
  it('verify with the one secret', () => {
    const secret = generateSigningSecret();
    const headers = headersFor([secret]);
    expect(verifier(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('verify during rotation with either the new or only the old secret', () => {
    const [current, previous] = [generateSigningSecret(), generateSigningSecret()];
    const headers = headersFor([current, previous]);
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verifier(current).verify(body, headers)).toEqual(JSON.parse(body));
    expect(verifier(previous).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('fail with a wrong secret, a changed body, id or timestamp', () => {
    const secret = generateSigningSecret();
    const headers = headersFor([secret]);
    expect(() => verifier(generateSigningSecret()).verify(body, headers)).toThrow(VerificationError);
    expect(() => verifier(secret).verify(body.replace('héllo', 'hello'), headers)).toThrow(VerificationError);
    expect(() => verifier(secret).verify(body, { ...headers, 'webhook-id': 'dlv_other' })).toThrow(
      VerificationError,
    );
    const shifted = String(Number(headers['webhook-timestamp']) - 1);
    expect(() => verifier(secret).verify(body, { ...headers, 'webhook-timestamp': shifted })).toThrow(
      VerificationError,
    );
  });
});

describe('signStandardWebhooks', () => {
  it('is v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}"> per secret, in order', () => {
    const keys = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)];
    const secrets = keys.map((key) => `whsec_${key.toString('base64')}`);
    const expected = keys
      .map((key) => `v1,${createHmac('sha256', key).update(`msg_1.1700000000.${body}`).digest('base64')}`)
      .join(' ');
    expect(signStandardWebhooks({ msgId: 'msg_1', timestamp: 1_700_000_000, body, secrets })).toBe(expected);
  });

  it('refuses no secrets, malformed secrets and non-integer timestamps', () => {
    expect(() => signStandardWebhooks({ msgId: 'm', timestamp: 1, body, secrets: [] })).toThrow(TypeError);
    expect(() => signStandardWebhooks({ msgId: 'm', timestamp: 1, body, secrets: ['secret'] })).toThrow(
      MalformedSecretError,
    );
    const secrets = [generateSigningSecret()];
    for (const timestamp of [1.5, -1, Number.NaN, Date.now() * 1e6]) {
      expect(() => signStandardWebhooks({ msgId: 'm', timestamp, body, secrets })).toThrow(TypeError);
    }
  });
});

describe('signHexScheme', () => {
  it('is sha256=<hex HMAC-SHA256 of "{timestamp}.{body}"> keyed with the whole secret string', () => {
    const secret = generateSigningSecret();
    const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`1700000000.${body}`, 'utf8').digest('hex');
    expect(signHexScheme({ timestamp: 1_700_000_000, body, secret })).toBe(`sha256=${expected}`);
  });

  it('changes with the body, the timestamp and the secret', () => {
    const base = signHexScheme({ timestamp: 1, body: 'a', secret: 's' });
    expect(signHexScheme({ timestamp: 1, body: 'b', secret: 's' })).not.toBe(base);
    expect(signHexScheme({ timestamp: 2, body: 'a', secret: 's' })).not.toBe(base);
    expect(signHexScheme({ timestamp: 1, body: 'a', secret: 't' })).not.toBe(base);
  });
});

describe('buildDeliveryHeaders', () => {
  it('sends both schemes, content type and user agent, the seed one keyed with the current secret', () => {
    const [current, previous] = [generateSigningSecret(), generateSigningSecret()];
    const timestamp = 1_700_000_000;
    const headers = headersFor([current, previous], { timestamp });
    expect(headers).toEqual({
      'content-type': 'application/json',
      'user-agent': 'Hookline/0.1.0',
      'webhook-id': 'dlv_01JNKV3Y0RZ8W5T2P4M6Q9B7CD',
      'webhook-timestamp': '1700000000',
      'webhook-signature': signStandardWebhooks({
        msgId: 'dlv_01JNKV3Y0RZ8W5T2P4M6Q9B7CD',
        timestamp,
        body,
        secrets: [current, previous],
      }),
      'x-webhook-delivery-id': 'dlv_01JNKV3Y0RZ8W5T2P4M6Q9B7CD',
      'x-webhook-timestamp': '1700000000',
      'x-webhook-signature': signHexScheme({ timestamp, body, secret: current }),
    });
  });

  it('uses the configured header prefix', () => {
    const headers = headersFor([generateSigningSecret()], { headerPrefix: 'X-Agent' });
    expect(Object.keys(headers).filter((name) => name.startsWith('x-agent-'))).toEqual([
      'x-agent-delivery-id',
      'x-agent-timestamp',
      'x-agent-signature',
    ]);
    expect(Object.keys(headers).some((name) => name.startsWith('x-webhook-'))).toBe(false);
  });

  it('puts custom headers first, lower-cased, and never lets them replace or add a reserved one', () => {
    const secret = generateSigningSecret();
    const headers = headersFor([secret], {
      customHeaders: {
        'X-Tenant': 'acme',
        Authorization: 'Bearer abc',
        'Content-Type': 'text/plain',
        'USER-AGENT': 'evil',
        'Webhook-Signature': 'v1,forged',
        'webhook-extra': 'x',
        'X-WEBHOOK-Signature': 'sha256=forged',
        Host: 'internal.example',
        'Content-Length': '0',
        'Transfer-Encoding': 'chunked',
      },
    });
    expect(Object.keys(headers).slice(0, 2)).toEqual(['x-tenant', 'authorization']);
    expect(headers['x-tenant']).toBe('acme');
    expect(headers['content-type']).toBe('application/json');
    expect(headers['user-agent']).toBe('Hookline/0.1.0');
    expect(headers['x-webhook-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    for (const name of ['host', 'content-length', 'transfer-encoding', 'webhook-extra']) expect(headers).not.toHaveProperty(name);
    for (const name of Object.keys(headers)) expect(name).toBe(name.toLowerCase());
    expect(new StandardWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('refuses to build headers without a secret', () => {
    expect(() => headersFor([])).toThrow(TypeError);
  });
});

describe('isReservedHeaderName', () => {
  it.each([
    'content-type',
    'Content-Type',
    'USER-AGENT',
    'host',
    'Content-Length',
    'transfer-encoding',
    'Connection',
    'keep-alive',
    'upgrade',
    'expect',
    'te',
    'trailer',
    'webhook-id',
    'Webhook-Anything',
    'x-webhook-signature',
    'X-Webhook-Custom',
    ' Host ',
    'content-encoding',
    'Content-Range',
    'proxy-authorization',
    'Proxy-Connection',
    'x-http-method-override',
    'http2-settings',
  ])('%j is reserved', (name) => {
    expect(isReservedHeaderName(name, 'X-Webhook')).toBe(true);
  });

  it.each(['authorization', 'x-tenant', 'x-webhooks', 'webhook', 'x-agent-signature', 'content-language', 'hostname', 'proxy', 'x-proxy-id'])(
    '%j is not reserved with prefix X-Webhook',
    (name) => {
      expect(isReservedHeaderName(name, 'X-Webhook')).toBe(false);
    },
  );

  it('says why: set by Hookline, or changes how the request is read', () => {
    expect(reservedHeaderReason('Webhook-Id', 'X-Webhook')).toBe('Webhook-Id is set by Hookline and cannot be overridden');
    expect(reservedHeaderReason('Content-Encoding', 'X-Webhook')).toMatch(/^Content-Encoding changes how the request is framed, decoded or routed/);
    expect(reservedHeaderReason('x-tenant', 'X-Webhook')).toBeUndefined();
  });

  it('follows the configured prefix', () => {
    expect(isReservedHeaderName('x-agent-signature', 'X-Agent')).toBe(true);
    expect(isReservedHeaderName('x-webhook-signature', 'X-Agent')).toBe(false);
  });
});

describe('header syntax', () => {
  it.each([
    ['X-Tenant', true],
    ["a!#$%&'*+-.^_`|~9", true],
    ['', false],
    ['X Tenant', false],
    ['X-Tenant:', false],
    ['Ä', false],
    ['x\r\ny', false],
  ])('name %j valid: %s', (name, valid) => {
    expect(isValidHeaderName(name)).toBe(valid);
  });

  it.each([
    ['acme', true],
    ['', true],
    ['a b\tc', true],
    ['Bearer abc=', true],
    [' leading', false],
    ['trailing ', false],
    ['line\r\nInjected: 1', false],
    ['nul\0', false],
    ['ünicode', false],
  ])('value %j valid: %s', (value, valid) => {
    expect(isValidHeaderValue(value)).toBe(valid);
  });
});
