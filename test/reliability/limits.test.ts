import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CUSTOM_HEADERS, MAX_HEADERS_TOTAL_BYTES } from '../../lambdas/api/schemas';
import { MAX_EVENT_DATA_DEPTH } from '../../lambdas/core/event-data';
import { MAX_STORED_ATTEMPTS } from '../../lambdas/shared/deliveries-store';
import { DEFAULT_MAX_EXCERPT_BYTES, DEFAULT_MAX_HEADER_BYTES } from '../../lambdas/shared/http-delivery';
import { startPipeline, type Pipeline } from '../../local/pipeline';
import { startApiStack, type ApiStack, type IssuedToken } from './support/api-stack';
import { FaultReceiver, type Received } from './support/fault-receiver';
import { tableResolver } from './support/resolver';
import { waitFor } from './support/subscriptions';
import { seedDeliveryAttempt } from '../support/seed-delivery';

/**
 * Limits, end to end (API → fan-out → dispatcher → receiver on 127.0.0.1): the largest allowed
 * payload and the most custom headers deliver intact, one byte or one header more is refused, and
 * JSON that DynamoDB could not hold as a map (found by the fuzz) is stored and delivered as sent.
 */

let stack: ApiStack;
let pipeline: Pipeline;
let receiver: FaultReceiver;
let token: IssuedToken;
let maxPayloadBytes: number;

beforeAll(async () => {
  receiver = new FaultReceiver();
  await receiver.start();
  const resolver = tableResolver({ localhost: ['127.0.0.1'] });
  stack = await startApiStack({ settings: { allowPrivateTargets: ['127.0.0.0/8'] }, resolve: resolver, logLevel: 'WARN' });
  maxPayloadBytes = stack.runtime.settings.maxPayloadBytes;
  pipeline = startPipeline(stack.runtime, { resolver, waitTimeSeconds: 1 });
  token = await stack.issueToken(['*']);
}, 60_000);

afterAll(async () => {
  await pipeline?.stop();
  await stack?.stop();
  await receiver?.stop();
});

/** A webhook of its own fleet on its own path; returns what the receiver got there. */
async function webhook(fleet: string, extra: Record<string, unknown> = {}): Promise<{ id: string; received: () => Received[] }> {
  const path = `/${fleet}`;
  const created = await stack.call('POST', `/fleets/${fleet}/webhooks`, {
    token: token.token,
    body: { url: receiver.endpoint(path, () => ({ status: 204 })), ...extra },
  });
  expect(created.status).toBe(201);
  return { id: created.body.id, received: () => receiver.at(path) };
}

async function publishAndReceive(fleet: string, data: unknown, received: () => Received[]): Promise<Received> {
  const published = await stack.call('POST', `/fleets/${fleet}/events`, { token: token.token, body: { type: 'thread.completed', data } });
  expect(published.status, JSON.stringify(published.body)).toBe(202);
  const [post] = await waitFor(`delivery to ${fleet}`, () => (received().length > 0 ? received() : undefined));
  return post as Received;
}

/** `data` whose JSON is exactly `bytes` long, with multi-byte characters in it. */
function dataOfBytes(bytes: number): Record<string, string> {
  const skeleton = Buffer.byteLength(JSON.stringify({ text: 'é✓', blob: '' }));
  const data = { text: 'é✓', blob: 'x'.repeat(bytes - skeleton) };
  expect(Buffer.byteLength(JSON.stringify(data))).toBe(bytes);
  return data;
}

describe('limits', () => {
  it('an event payload of exactly maxPayloadBytes is delivered intact', { timeout: 20_000 }, async () => {
    const { received } = await webhook('limit-max');
    const data = dataOfBytes(maxPayloadBytes);
    const post = await publishAndReceive('limit-max', data, received);
    expect(JSON.parse(post.body).data).toEqual(data);
  });

  it('one byte over maxPayloadBytes is refused with 413 naming data, and nothing is delivered', async () => {
    const { received } = await webhook('limit-over');
    const refused = await stack.call('POST', '/fleets/limit-over/events', { token: token.token, body: { type: 'thread.completed', data: dataOfBytes(maxPayloadBytes + 1) } });
    expect(refused.status).toBe(413);
    expect(refused.body.error.details).toEqual([{ field: 'data', reason: `must be at most ${maxPayloadBytes} bytes` }]);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(received()).toHaveLength(0);
  });

  it(`a subscription with ${MAX_CUSTOM_HEADERS} custom headers (${MAX_HEADERS_TOTAL_BYTES} bytes in all) delivers every one of them`, { timeout: 20_000 }, async () => {
    const headers: Record<string, string> = {};
    const nameLength = 20;
    const valueLength = Math.floor(MAX_HEADERS_TOTAL_BYTES / MAX_CUSTOM_HEADERS) - nameLength;
    for (let index = 0; index < MAX_CUSTOM_HEADERS; index += 1) {
      // The last value takes the remainder, so names and values add up to exactly the limit.
      const length = index === MAX_CUSTOM_HEADERS - 1 ? MAX_HEADERS_TOTAL_BYTES - (MAX_CUSTOM_HEADERS - 1) * (nameLength + valueLength) - nameLength : valueLength;
      headers[`X-Custom-${String(index).padStart(nameLength - 9, '0')}`] = `${index}-`.padEnd(length, 'v');
    }
    expect(Object.entries(headers).reduce((sum, [name, value]) => sum + name.length + value.length, 0)).toBe(MAX_HEADERS_TOTAL_BYTES);
    const { received } = await webhook('limit-headers', { headers });
    const post = await publishAndReceive('limit-headers', { ok: true }, received);
    for (const [name, value] of Object.entries(headers)) expect(post.headers[name.toLowerCase()], name).toBe(value);
    expect(post.headers['webhook-signature']).toMatch(/^v1,/);

    const tooMany = await stack.call('POST', '/fleets/limit-headers/webhooks', {
      token: token.token,
      body: { url: receiver.endpoint('/never', () => ({ status: 204 })), headers: { ...headers, 'X-One-More': 'v' } },
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.details.map((detail: { field: string }) => detail.field)).toContain('headers');
  });

  it('JSON a DynamoDB map cannot hold (numbers past 2^53 or outside 1e±126, empty keys, deep nesting) is stored and delivered as parsed', { timeout: 20_000 }, async () => {
    const { received } = await webhook('limit-json');
    let nested: unknown = 'bottom';
    for (let level = 1; level < MAX_EVENT_DATA_DEPTH; level += 1) nested = { level, nested };
    const data = { big: 12345678901234567890, huge: 1.5e300, tiny: 5e-324, negative: -9.99e200, '': 'empty key', nested };
    const post = await publishAndReceive('limit-json', data, received);
    expect(JSON.parse(post.body).data).toEqual(data);
  });

  it('a fleet id of 128 characters using every character fleet ids allow works end to end', { timeout: 20_000 }, async () => {
    // ':' is allowed in fleet ids but not in Secrets Manager names (found by the fuzz: create was a 500).
    const fleet = 'Az09._:-'.repeat(16);
    expect(fleet).toHaveLength(128);
    const { received } = await webhook(fleet);
    const post = await publishAndReceive(fleet, { wide: true }, received);
    expect(JSON.parse(post.body)).toMatchObject({ fleetId: fleet, data: { wide: true } });
    const colons = ':'.repeat(128);
    const { id } = await webhook(colons);
    expect((await stack.call('GET', `/fleets/${colons}/webhooks/${id}`, { token: token.token })).status).toBe(200);
  });

  it('a delivery record with the longest history of worst-case attempts stays under DynamoDB\'s 400 KB item limit', { timeout: 20_000 }, async () => {
    // Each attempt as large as the dispatcher can make it: excerpt and headers at their byte caps in
    // multi-byte characters, the longest error message; more attempts than the history keeps.
    const excerpt = '€'.repeat(Math.floor(DEFAULT_MAX_EXCERPT_BYTES / 3));
    const responseHeaders: Record<string, string> = {};
    for (let index = 0; index < 16; index += 1) responseHeaders[`x-header-${String(index).padStart(2, '0')}`] = 'ÿ'.repeat(Math.floor((DEFAULT_MAX_HEADER_BYTES / 16 - 12) / 2));
    const identity = { id: 'dlv_01JNKV3Y0RZ8W5T2P4M6Q9B7CD', fleetId: 'limit-record', subscriptionId: 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CD', eventId: 'evt-1', eventType: 'thread.completed', webhookUrl: `https://example.com/${'p'.repeat(2000)}` };
    const attempts = MAX_STORED_ATTEMPTS + 10;
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      const at = new Date().toISOString();
      const written = await seedDeliveryAttempt(stack.deliveries, {
        identity,
        attempt: {
          attempt,
          at,
          statusCode: 503,
          latencyMs: 29_999,
          responseContentLength: 52_428_800,
          responseHeaders,
          responseBodyExcerpt: excerpt,
          errorKind: 'http',
          errorMessage: 'é'.repeat(300),
          retryInSeconds: 43_200,
        },
        status: attempt < attempts ? 'pending' : 'failed',
        nextAttemptAt: at,
        now: at,
        expiresAt: 2_000_000_000,
      });
      expect(written, `attempt ${attempt}`).toBe('recorded');
    }
    const record = await stack.deliveries.get(identity.id);
    expect(record).toMatchObject({ status: 'failed', attemptCount: attempts });
    expect(record?.attempts).toHaveLength(MAX_STORED_ATTEMPTS);
  });

  it(`event data nested deeper than ${MAX_EVENT_DATA_DEPTH} levels is refused with 400 naming data, not a 5xx`, async () => {
    // Objects just past the limit, and arrays 30,000 deep (60 KB: inside the body limit, far past any stack).
    for (const [depth, open, close] of [
      [MAX_EVENT_DATA_DEPTH + 1, '{"a":', '}'],
      [30_000, '[', ']'],
    ] as const) {
      const raw = `{"type":"thread.completed","data":{"a":${open.repeat(depth - 1)}1${close.repeat(depth - 1)}}}`;
      const refused = await stack.call('POST', '/fleets/limit-json/events', { token: token.token, rawBody: raw });
      expect(refused.status, `depth ${depth}`).toBe(400);
      expect(refused.body.error.details[0].field).toBe('data');
    }
  });
});
