import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiStack, type ApiStack } from './api-harness';

let stack: ApiStack;
let webhook: string;
beforeAll(async () => {
  stack = await startApiStack({ maxAttempts: 6 });
  webhook = (await stack.request('POST', '/fleets/v/webhooks', { body: { url: 'https://example.com/v' } })).body.id;
});
afterAll(async () => {
  await stack?.stop();
});

const url = 'https://example.com/hook';

describe('every validation error names its field', () => {
  const cases: [string, string, unknown, string][] = [
    ['POST', '/fleets/v/webhooks', { url: 'http://example.com/x' }, 'url'],
    ['POST', '/fleets/v/webhooks', { url: 'https://internal.example.com/x' }, 'url'],
    ['POST', '/fleets/v/webhooks', { url: 'https://169.254.169.254/latest' }, 'url'],
    ['POST', '/fleets/v/webhooks', { url: `https://example.com/${'p'.repeat(2048)}` }, 'url'],
    ['POST', '/fleets/v/webhooks', { url, events: ['no.such'] }, 'events[0]'],
    ['POST', '/fleets/v/webhooks', { url, events: ['thread.completed', 'thread.completed'] }, 'events[1]'],
    ['POST', '/fleets/v/webhooks', { url, events: ['webhook.test'] }, 'events[0]'],
    ['POST', '/fleets/v/webhooks', { url, headers: { 'webhook-id': 'x' } }, 'headers.webhook-id'],
    ['POST', '/fleets/v/webhooks', { url, headers: { 'X-A': 'line\nbreak' } }, 'headers.X-A'],
    ['POST', '/fleets/v/webhooks', { url, timeoutSeconds: 31 }, 'timeoutSeconds'],
    ['POST', '/fleets/v/webhooks', { url, maxAttempts: 7 }, 'maxAttempts'],
    ['POST', '/fleets/v/webhooks', { url, name: 'n'.repeat(201) }, 'name'],
    ['POST', '/fleets/v/webhooks', { url, description: 'd'.repeat(1001) }, 'description'],
    ['POST', '/fleets/v/webhooks', { url, enabled: 1 }, 'enabled'],
    ['POST', '/fleets/v/webhooks', { url, colour: 'blue' }, 'colour'],
    ['PATCH', '/fleets/v/webhooks/WEBHOOK', { url: 'https://127.0.0.1/' }, 'url'],
    ['PATCH', '/fleets/v/webhooks/WEBHOOK', {}, 'body'],
    ['POST', '/fleets/v/webhooks/WEBHOOK/replay', { since: '2024-01-01T00:00:00Z' }, 'until'],
    ['POST', '/fleets/v/webhooks/WEBHOOK/replay', { since: 'soon', until: new Date().toISOString() }, 'since'],
    ['POST', '/fleets/v/events', { type: 'no.such', data: {} }, 'type'],
    ['POST', '/fleets/v/events', { type: 'thread.completed', data: 'text' }, 'data'],
    ['POST', '/fleets/bad%20fleet/events', { type: 'thread.completed', data: {} }, 'fleetId'],
  ];

  it.each(cases)('%s %s %j → 400 naming %s', async (method, template, body, field) => {
    const response = await stack.request(method, template.replace('WEBHOOK', webhook), { body });
    expect(response.status).toBe(400);
    expect(response.body.error.details.map((detail: { field: string }) => detail.field)).toContain(field);
    for (const detail of response.body.error.details) expect(detail.reason.length).toBeGreaterThan(3);
  });

  it.each([
    ['/fleets/v/webhooks?limit=0', 'limit'],
    ['/fleets/v/webhooks?cursor=%21%21', 'cursor'],
    ['/fleets/v/webhooks?order=asc', 'order'],
    ['/fleets/v/webhooks/WEBHOOK/deliveries?status=lost', 'status'],
    ['/fleets/v/webhooks/WEBHOOK/deliveries?since=2024-13-01T00:00:00Z', 'since'],
  ])('GET %s → 400 naming %s', async (path, field) => {
    const response = await stack.request('GET', path.replace('WEBHOOK', webhook));
    expect(response.status).toBe(400);
    expect(response.body.error.details.map((detail: { field: string }) => detail.field)).toEqual([field]);
  });

  it('malformed JSON → 400 naming body', async () => {
    const response = await stack.request('POST', '/fleets/v/webhooks', { rawBody: '{"url": "https://example.com",', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(400);
    expect(response.body.error.details).toEqual([{ field: 'body', reason: 'must be valid JSON' }]);
  });

  it('too-large body → 413 naming body; too-large data → 413 naming data', async () => {
    const big = await stack.request('POST', '/fleets/v/events', { rawBody: JSON.stringify({ type: 'thread.completed', data: { x: 'x'.repeat(200_000) } }) });
    expect(big.status).toBe(413);
    expect(big.body.error.details[0].field).toBe('body');
    const data = await stack.request('POST', '/fleets/v/events', { body: { type: 'thread.completed', data: { x: 'x'.repeat(70_000) } } });
    expect(data.status).toBe(413);
    expect(data.body.error.details[0].field).toBe('data');
  });

  it('wrong method → 405 with Allow; unknown route → 404; no token → 401 with WWW-Authenticate', async () => {
    const wrong = await stack.request('PUT', '/fleets/v/webhooks');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST, GET');
    const unknown = await stack.request('GET', '/fleets/v/nothing');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.details[0].field).toBe('path');
    const anonymous = await stack.request('GET', '/fleets/v/webhooks', { token: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="hookline"');
  });
});

describe('GET /openapi.json through the local front', () => {
  it('validates with swagger-parser and lists every route', async () => {
    const response = await stack.request('GET', '/openapi.json', { token: null });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    const api = await SwaggerParser.validate(structuredClone(response.body));
    const operations = Object.entries(api.paths ?? {}).flatMap(([path, item]) =>
      ['get', 'post', 'patch', 'delete', 'put'].filter((method) => method in (item as object)).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        'POST /fleets/{fleetId}/webhooks',
        'GET /fleets/{fleetId}/webhooks',
        'GET /fleets/{fleetId}/webhooks/{id}',
        'PATCH /fleets/{fleetId}/webhooks/{id}',
        'DELETE /fleets/{fleetId}/webhooks/{id}',
        'POST /fleets/{fleetId}/webhooks/{id}/rotate',
        'POST /fleets/{fleetId}/webhooks/{id}/test',
        'GET /fleets/{fleetId}/webhooks/{id}/deliveries',
        'GET /fleets/{fleetId}/deliveries/{id}',
        'POST /fleets/{fleetId}/deliveries/{id}/retry',
        'POST /fleets/{fleetId}/webhooks/{id}/replay',
        'POST /fleets/{fleetId}/events',
        'GET /openapi.json',
        'GET /event-types',
        'POST /fleets/{fleetId}/inbound-sources',
        'GET /fleets/{fleetId}/inbound-sources',
        'GET /fleets/{fleetId}/inbound-sources/{id}',
        'PATCH /fleets/{fleetId}/inbound-sources/{id}',
        'DELETE /fleets/{fleetId}/inbound-sources/{id}',
        'POST /fleets/{fleetId}/inbound-sources/{id}/rotate',
        'POST /inbound/{sourceId}',
        'GET /inbound/{sourceId}',
        'GET /fleets/{fleetId}/events',
        'GET /fleets/{fleetId}/events/{id}',
        'GET /fleets/{fleetId}/deliveries',
        'POST /fleets/{fleetId}/portal-sessions',
        'GET /health',
        'GET /console',
      ].sort(),
    );
    expect((response.body.components.schemas.CreateWebhookRequest.properties.maxAttempts as { maximum: number }).maximum).toBe(6);
  });
});
