import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BODY_OVERHEAD_BYTES } from '../../../lambdas/api/api';
import { MAX_CUSTOM_HEADERS } from '../../../lambdas/api/schemas';
import { createHarness, FLEET, subscription, type Harness } from './harness';

let h: Harness;
beforeEach(() => {
  h = createHarness();
  h.ddb.on(PutCommand).resolves({});
});
afterEach(() => h.restore());

const create = (body: unknown) => h.call('POST', `/fleets/${FLEET}/webhooks`, { body });
const url = 'https://example.com/hook';
const manyHeaders = Object.fromEntries(Array.from({ length: MAX_CUSTOM_HEADERS + 1 }, (_, i) => [`X-H${i}`, 'v']));

describe('create body: each problem names its field', () => {
  it.each([
    ['missing url', {}, 'url', /required/],
    ['url not a string', { url: 42 }, 'url', /string/],
    ['unknown event type', { url, events: ['thread.completed', 'nope.nope'] }, 'events[1]', /unknown event type/],
    ['duplicate event type', { url, events: ['thread.completed', 'thread.completed'] }, 'events[1]', /duplicate/],
    ['webhook.test', { url, events: ['webhook.test'] }, 'events[0]', /webhook\.test/],
    ['events not an array', { url, events: 'thread.completed' }, 'events', /array/],
    ['name too long', { url, name: 'n'.repeat(201) }, 'name', /200/],
    ['empty name', { url, name: '' }, 'name', /at least 1/],
    ['description too long', { url, description: 'd'.repeat(1001) }, 'description', /1000/],
    ['enabled not boolean', { url, enabled: 'yes' }, 'enabled', /boolean/],
    ['timeoutSeconds 0', { url, timeoutSeconds: 0 }, 'timeoutSeconds', /at least 1/],
    ['timeoutSeconds 31', { url, timeoutSeconds: 31 }, 'timeoutSeconds', /at most 30/],
    ['timeoutSeconds fractional', { url, timeoutSeconds: 1.5 }, 'timeoutSeconds', /integer/],
    ['maxAttempts above the deployment', { url, maxAttempts: 10 }, 'maxAttempts', /at most 9/],
    ['maxAttempts 0', { url, maxAttempts: 0 }, 'maxAttempts', /at least 1/],
    ['reserved header content-type', { url, headers: { 'Content-Type': 'text/plain' } }, 'headers.Content-Type', /cannot be overridden/],
    ['reserved header host', { url, headers: { host: 'evil' } }, 'headers.host', /routed and cannot be set/],
    ['header that changes the body encoding', { url, headers: { 'Content-Encoding': 'gzip' } }, 'headers.Content-Encoding', /decoded or routed and cannot be set/],
    ['proxy-* header', { url, headers: { 'Proxy-Authorization': 'Basic x' } }, 'headers.Proxy-Authorization', /cannot be set/],
    ['reserved webhook-* header', { url, headers: { 'webhook-signature': 'x' } }, 'headers.webhook-signature', /cannot be overridden/],
    ['reserved seed-scheme header', { url, headers: { 'X-Webhook-Signature': 'x' } }, 'headers.X-Webhook-Signature', /cannot be overridden/],
    ['header name syntax', { url, headers: { 'Bad Name': 'v' } }, 'headers.Bad Name', /header name/],
    ['header value with a newline', { url, headers: { 'X-A': 'v\r\nInjected: 1' } }, 'headers.X-A', /line breaks/],
    ['header value too long', { url, headers: { 'X-A': 'v'.repeat(1025) } }, 'headers.X-A', /1024/],
    ['too many headers', { url, headers: manyHeaders }, 'headers', /at most 20/],
    ['case-insensitive duplicate header', { url, headers: { 'X-A': '1', 'x-a': '2' } }, 'headers.x-a', /repeats/],
    ['__proto__ header', { url, headers: JSON.parse('{"__proto__": "x"}') }, 'headers.__proto__', /not allowed/],
    ['__proto__ deep in a body', { url, headers: { 'X-A': 'v' }, name: 'n', nested: JSON.parse('[{"a": {"__proto__": {"polluted": 1}}}]') }, 'nested[0].a.__proto__', /not allowed/],
    ['unknown field', { url, secret: 'whsec_mine' }, 'secret', /not a known field/],
    ['__proto__ field', JSON.parse(`{"url": "${url}", "__proto__": {"enabled": false}}`), '__proto__', /not allowed/],
    ['constructor field', { url, constructor: { prototype: { polluted: true } } }, 'constructor', /not a known field/],
    ['body not an object', [url], 'body', /object/],
  ])('%s → %s', async (_, body, field, reason) => {
    const response = await create(body);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_request');
    expect(response.body.error.details).toContainEqual({ field, reason: expect.stringMatching(reason) });
    expect(h.ddb.commandCalls(PutCommand)).toHaveLength(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).enabled).toBeUndefined();
  });

  it('reports every problem at once', async () => {
    const response = await create({ url: 5, timeoutSeconds: 99, extra: true });
    expect(response.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['extra', 'timeoutSeconds', 'url']);
  });
});

describe('request framing', () => {
  it('malformed JSON is 400 naming body, without echoing the parser error', async () => {
    const response = await h.call('POST', `/fleets/${FLEET}/webhooks`, { rawBody: '{"url": ' });
    expect(response.status).toBe(400);
    expect(response.body.error).toEqual({
      code: 'malformed_json',
      message: 'The request body is not valid JSON.',
      details: [{ field: 'body', reason: 'must be valid JSON' }],
    });
  });

  it('an empty body on a create is a missing body, reported by field', async () => {
    const response = await h.call('POST', `/fleets/${FLEET}/webhooks`, { rawBody: '' });
    expect(response.status).toBe(400);
    expect(response.body.error.details).toEqual([{ field: 'body', reason: 'is required' }]);
  });

  it('a body over maxPayloadBytes + overhead is 413 before parsing', async () => {
    const limit = h.settings.maxPayloadBytes + BODY_OVERHEAD_BYTES;
    const response = await h.call('POST', `/fleets/${FLEET}/webhooks`, { rawBody: `{"url": "${'a'.repeat(limit)}"}` });
    expect(response.status).toBe(413);
    expect(response.body.error.details).toEqual([{ field: 'body', reason: `must be at most ${limit} bytes` }]);
  });

  it('base64 bodies are decoded', async () => {
    const result = await h.api({
      httpMethod: 'POST',
      path: `/fleets/${FLEET}/webhooks`,
      headers: { authorization: `Bearer ${h.token}` },
      body: Buffer.from(JSON.stringify({ url })).toString('base64'),
      isBase64Encoded: true,
      requestContext: { requestId: 'r' },
    } as never);
    expect(result.statusCode).toBe(201);
  });

  it('unknown routes are 404 naming path; wrong methods are 405 with Allow', async () => {
    const unknown = await h.call('GET', '/fleets/a/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.details).toEqual([{ field: 'path', reason: expect.any(String) }]);
    const wrong = await h.call('PUT', `/fleets/${FLEET}/webhooks/${subscription().id}`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('GET, PATCH, DELETE');
    expect(wrong.body.error.details).toEqual([{ field: 'method', reason: expect.stringContaining('PATCH') }]);
  });

  it('route checks come before the token check, the token before the body', async () => {
    expect((await h.call('GET', '/nope', { token: null })).status).toBe(404);
    expect((await h.call('POST', `/fleets/${FLEET}/webhooks`, { token: null, rawBody: '{bad' })).status).toBe(401);
  });

  it('refuses unknown and repeated query parameters by name', async () => {
    const unknown = await h.call('GET', `/fleets/${FLEET}/webhooks`, { query: { sort: 'desc' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details).toEqual([{ field: 'sort', reason: 'is not a known field' }]);
    const repeated = await h.call('GET', `/fleets/${FLEET}/webhooks`, { query: { limit: ['1', '2'] } });
    expect(repeated.status).toBe(400);
    expect(repeated.body.error.details).toEqual([{ field: 'limit', reason: 'must be given at most once' }]);
    const onBodyRoute = await h.call('POST', `/fleets/${FLEET}/webhooks`, { body: { url }, query: { x: '1' } });
    expect(onBodyRoute.body.error.details).toEqual([{ field: 'x', reason: 'is not a known query parameter' }]);
  });

  it('JSON answers carry content-type and no-store', async () => {
    const response = await h.call('GET', '/nope');
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers['cache-control']).toBe('no-store');
  });
});
