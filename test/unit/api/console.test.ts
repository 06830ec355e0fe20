import { BatchGetCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONSOLE_FILES, CONSOLE_HTML } from '../../../lambdas/api/console-assets.generated';
import { buildEnvelope } from '../../../lambdas/core/envelope';
import { deliveryIdFor, newEventId } from '../../../lambdas/core/ids';
import type { DeliveryRecord, EventRecord } from '../../../lambdas/core/records';
import { hashTokenSecret } from '../../../lambdas/core/secrets';
import { DELIVERIES_BY_FLEET_INDEX, EVENTS_BY_EVENT_TIME_INDEX, EVENTS_BY_TIME_INDEX } from '../../../lambdas/core/table-schema';
import { encodeCursor } from '../../../lambdas/shared/cursor';
import { createHarness, FLEET, makeToken, NOW, OTHER_FLEET, subscription, TABLES, type Harness } from './harness';

let h: Harness;
beforeEach(() => {
  h = createHarness();
});
afterEach(() => h.restore());

function storedEvent(overrides: Partial<EventRecord> = {}): EventRecord {
  const id = overrides.id ?? newEventId(NOW.getTime());
  return {
    fleetId: FLEET,
    id,
    type: 'thread.completed',
    timestamp: NOW.toISOString(),
    data: { note: '<script>alert(1)</script>' },
    timeKey: `${NOW.toISOString()}#${id}`,
    source: 'api',
    expiresAt: Math.floor(NOW.getTime() / 1000) + 86_400,
    ...overrides,
  };
}

/** The events table item: data kept as JSON text, as the events store writes it. */
function eventItem(event: EventRecord) {
  const { data, ...rest } = event;
  return { ...rest, dataJson: JSON.stringify(data) };
}

function deliveryRecord(event: EventRecord, subscriptionId: string): DeliveryRecord {
  const id = deliveryIdFor(event.fleetId, event.id, subscriptionId, event.timestamp);
  return {
    id,
    fleetId: event.fleetId,
    subscriptionId,
    eventId: event.id,
    eventType: event.type,
    webhookUrl: 'https://example.com/hook',
    status: 'succeeded',
    attemptCount: 1,
    lastAttemptAt: NOW.toISOString(),
    httpStatusCode: 204,
    latencyMs: 9,
    createdAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
    attempts: [{ round: 1, attempt: 1, at: NOW.toISOString(), statusCode: 204, latencyMs: 9 }],
    createdKey: `${NOW.toISOString()}#${id}`,
    subscriptionStatus: `${subscriptionId}#succeeded`,
    expiresAt: 1,
  };
}

/** Registers a portal session (a token record with kind, expiry and read-only flag) and returns its bearer token. */
function portalToken(options: { fleet?: string; readOnly?: boolean; expiresAt?: number } = {}): string {
  const { token, record } = makeToken([options.fleet ?? FLEET]);
  h.ddb.on(GetCommand, { TableName: TABLES.tokens, Key: { id: record.id } }).resolves({
    Item: {
      ...record,
      kind: 'portal',
      readOnly: options.readOnly ?? false,
      expiresAt: options.expiresAt ?? Math.floor(NOW.getTime() / 1000) + 600,
    },
  });
  return token;
}

describe('GET /health', () => {
  it('answers without a token and without a table read', async () => {
    const response = await h.call('GET', '/health', { token: null });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok', version: expect.any(String) });
    expect(h.ddb.calls()).toHaveLength(0);
  });
});

describe('GET /console', () => {
  it('serves the page with a strict CSP and its hashed assets from this origin', async () => {
    const page = await h.call('GET', '/console', { token: null });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.raw).toBe(CONSOLE_HTML);
    const csp = page.headers['content-security-policy'] as string;
    for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'"]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(page.headers['x-frame-options']).toBe('DENY');
    // No inline script: every script is a file of this origin.
    expect(page.raw).not.toMatch(/<script(?![^>]*\bsrc=)/);
    const referenced = [...page.raw.matchAll(/(?:src|href)="console\/([^"]+)"/g)].map((match) => match[1] as string);
    expect(referenced.sort()).toEqual(Object.keys(CONSOLE_FILES).sort());
    for (const name of referenced) {
      const asset = await h.call('GET', `/console/${name}`, { token: null });
      expect(asset.status).toBe(200);
      expect(asset.headers['content-type']).toMatch(name.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
      expect(asset.headers['cache-control']).toContain('immutable');
    }
  });

  it('redirects /console/ so relative asset URLs resolve, and 404s unknown assets', async () => {
    const slash = await h.call('GET', '/console/', { token: null });
    expect(slash.status).toBe(308);
    expect(slash.headers.location).toBe('../console');
    for (const name of ['nope.js', '__proto__', 'constructor', 'toString']) {
      expect((await h.call('GET', `/console/${name}`, { token: null })).status).toBe(404);
    }
  });

  it('lets only the configured origins frame it', async () => {
    const framed = createHarness({ settings: { consoleFrameAncestors: ['https://app.example.com', 'https://*.example.org'] } });
    try {
      const page = await framed.call('GET', '/console', { token: null });
      expect(page.headers['content-security-policy']).toContain('frame-ancestors https://app.example.com https://*.example.org');
      expect(page.headers['x-frame-options']).toBeUndefined();
    } finally {
      framed.restore();
    }
    expect(() => createHarness({ settings: { consoleFrameAncestors: ["https://a.com; script-src 'unsafe-inline'"] } })).toThrow(/consoleFrameAncestors/);
  });
});

describe('GET /fleets/{fleetId}/events', () => {
  it('lists newest first from the by-time index, without data, with filters as key conditions', async () => {
    const event = storedEvent();
    const { dataJson: _d, ...withoutData } = eventItem(event);
    const { fleetId, id, type, source, timeKey } = withoutData;
    h.ddb.on(QueryCommand, { TableName: TABLES.events, IndexName: EVENTS_BY_EVENT_TIME_INDEX }).resolves({ Items: [{ fleetId, id, type, source, eventTime: timeKey }] });
    h.ddb.on(QueryCommand, { TableName: TABLES.events, IndexName: EVENTS_BY_TIME_INDEX }).resolves({ Items: [] });
    // The fan-out time comes from the event's marker item, read by key.
    h.ddb.on(BatchGetCommand).resolves({ Responses: { [TABLES.events]: [{ fleetId, id: `fan#${id}`, fannedOutAt: '2024-05-10T12:00:01.000Z' }] } });
    const response = await h.call('GET', `/fleets/${FLEET}/events`, {
      query: { type: 'github.push', since: '2024-05-10T13:00:00+02:00', until: '2024-05-10T12:30:00Z', limit: '5' },
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      data: [{ id: event.id, fleetId: FLEET, type: event.type, timestamp: event.timestamp, source: 'api', fannedOutAt: '2024-05-10T12:00:01.000Z' }],
      nextCursor: null,
    });
    const input = h.ddb.commandCalls(QueryCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      IndexName: EVENTS_BY_EVENT_TIME_INDEX,
      ScanIndexForward: false,
      Limit: 5,
      KeyConditionExpression: 'fleetId = :fleetId AND #sk BETWEEN :since AND :until',
      FilterExpression: '#type = :type',
      ExpressionAttributeValues: { ':fleetId': FLEET, ':since': '2024-05-10T11:00:00.000Z', ':until': '2024-05-10T12:30:00.000Z#~', ':type': 'github.push' },
    });
    // The narrow index holds no data; the full, older index is read without it.
    const legacy = h.ddb.commandCalls(QueryCommand)[1]!.args[0].input;
    expect(legacy.IndexName).toBe(EVENTS_BY_TIME_INDEX);
    expect(legacy.ProjectionExpression).toBeDefined();
    expect(Object.values(legacy.ExpressionAttributeNames ?? {})).not.toContain('dataJson');
    expect(Object.values(legacy.ExpressionAttributeNames ?? {})).not.toContain('data');
  });

  it.each([
    [{ type: 'not a type' }, 'type'],
    [{ since: 'yesterday' }, 'since'],
    [{ since: '2024-05-10T12:00:00Z', until: '2024-05-09T12:00:00Z' }, 'until'],
    [{ limit: '0' }, 'limit'],
    [{ bogus: '1' }, 'bogus'],
  ])('refuses %o naming %s', async (query, field) => {
    const response = await h.call('GET', `/fleets/${FLEET}/events`, { query });
    expect(response.status).toBe(400);
    expect(response.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
  });

  it("refuses another fleet's cursor and is 404 for an ungranted fleet", async () => {
    const foreign = encodeCursor({ fleetId: OTHER_FLEET, id: 'evt_x', timeKey: 't' });
    const cursor = await h.call('GET', `/fleets/${FLEET}/events`, { query: { cursor: foreign as string } });
    expect(cursor.status).toBe(400);
    expect(cursor.body.error.details).toEqual([{ field: 'cursor', reason: expect.any(String) }]);
    expect((await h.call('GET', `/fleets/${OTHER_FLEET}/events`)).status).toBe(404);
  });
});

describe('GET /fleets/{fleetId}/events/{id}', () => {
  it('returns the data and the deliveries found under the event-time prefix of its fleet', async () => {
    const event = storedEvent();
    const sub = subscription();
    const record = deliveryRecord(event, sub.id);
    h.ddb.on(GetCommand, { TableName: TABLES.events, Key: { fleetId: FLEET, id: event.id } }).resolves({ Item: eventItem(event) });
    const { attempts: _a, createdKey: _c, subscriptionStatus: _s, expiresAt: _e, ...summary } = record;
    h.ddb.on(QueryCommand, { TableName: TABLES.deliveries }).resolves({ Items: [summary] });
    const response = await h.call('GET', `/fleets/${FLEET}/events/${event.id}`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: event.id, type: event.type, data: event.data, source: 'api' });
    expect(response.body.deliveries).toEqual([expect.objectContaining({ id: record.id, webhookId: sub.id, status: 'succeeded' })]);
    const input = h.ddb.commandCalls(QueryCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      IndexName: DELIVERIES_BY_FLEET_INDEX,
      KeyConditionExpression: 'fleetId = :fleetId AND begins_with(id, :prefix)',
      FilterExpression: 'eventId = :eventId',
      ExpressionAttributeValues: { ':fleetId': FLEET, ':prefix': record.id.slice(0, 14), ':eventId': event.id },
    });
  });

  it('is one identical 404 for a missing event, an idempotency record and an ungranted fleet', async () => {
    h.ddb.on(GetCommand, { TableName: TABLES.events }).resolves({});
    const missing = await h.call('GET', `/fleets/${FLEET}/events/evt_nothing`);
    const idem = await h.call('GET', `/fleets/${FLEET}/events/${encodeURIComponent('idem#key')}`);
    expect(missing.status).toBe(404);
    expect(idem.raw).toBe(missing.raw);
    const ungranted = await h.call('GET', `/fleets/${OTHER_FLEET}/events/evt_nothing`);
    expect(ungranted.status).toBe(404);
  });
});

describe('GET /fleets/{fleetId}/deliveries', () => {
  it('queries the by-fleet index newest first with status, type and HTTP status filters', async () => {
    h.ddb.on(QueryCommand, { TableName: TABLES.deliveries }).resolves({ Items: [], LastEvaluatedKey: { id: 'dlv_x', fleetId: FLEET } });
    const response = await h.call('GET', `/fleets/${FLEET}/deliveries`, {
      query: { status: 'failed', eventType: 'thread.completed', httpStatus: '503', since: '2024-05-10T00:00:00Z' },
    });
    expect(response.status).toBe(200);
    expect(response.body.nextCursor).toEqual(expect.any(String));
    const input = h.ddb.commandCalls(QueryCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      IndexName: DELIVERIES_BY_FLEET_INDEX,
      ScanIndexForward: false,
      KeyConditionExpression: 'fleetId = :fleetId AND id >= :since',
      FilterExpression: '#status = :status AND eventType = :eventType AND httpStatusCode = :httpStatus',
      ExpressionAttributeValues: { ':fleetId': FLEET, ':status': 'failed', ':eventType': 'thread.completed', ':httpStatus': 503 },
    });
    expect(input.ExpressionAttributeValues?.[':since']).toMatch(/^dlv_[0-9A-Z]{10}$/);
    // The next page continues from the cursor it was given, in this fleet only.
    await h.call('GET', `/fleets/${FLEET}/deliveries`, { query: { cursor: response.body.nextCursor } });
    expect(h.ddb.commandCalls(QueryCommand)[1]!.args[0].input.ExclusiveStartKey).toEqual({ id: 'dlv_x', fleetId: FLEET });
    expect((await h.call('GET', `/fleets/${OTHER_FLEET}/deliveries`, { query: { cursor: response.body.nextCursor } })).status).toBe(404);
  });

  it.each(['abc', '99', '600', '2.5'])('refuses httpStatus=%s naming httpStatus', async (httpStatus) => {
    const response = await h.call('GET', `/fleets/${FLEET}/deliveries`, { query: { httpStatus } });
    expect(response.status).toBe(400);
    expect(response.body.error.details).toEqual([{ field: 'httpStatus', reason: 'must be an HTTP status code between 100 and 599' }]);
  });

  it('accepts time bounds outside the id time range without a 5xx', async () => {
    h.ddb.on(QueryCommand, { TableName: TABLES.deliveries }).resolves({ Items: [] });
    const response = await h.call('GET', `/fleets/${FLEET}/deliveries`, { query: { since: '1900-01-01T00:00:00Z', until: '9999-12-31T23:59:59Z' } });
    expect(response.status).toBe(200);
  });
});

describe('GET /fleets/{fleetId}/deliveries/{id} payload', () => {
  it('rebuilds the exact envelope and the headers sent, signatures truncated, no secret read', async () => {
    const event = storedEvent();
    const sub = subscription({ headers: { 'X-Customer': 'acme' } });
    const record = deliveryRecord(event, sub.id);
    h.ddb.on(GetCommand, { TableName: TABLES.deliveries, Key: { id: record.id } }).resolves({ Item: record });
    h.ddb.on(GetCommand, { TableName: TABLES.events, Key: { fleetId: FLEET, id: event.id } }).resolves({ Item: eventItem(event) });
    h.ddb.on(GetCommand, { TableName: TABLES.subscriptions, Key: { fleetId: FLEET, id: sub.id } }).resolves({ Item: sub });
    const response = await h.call('GET', `/fleets/${FLEET}/deliveries/${record.id}`);
    expect(response.status).toBe(200);
    expect(response.body.payload.body).toBe(buildEnvelope(FLEET, event));
    expect(response.body.payload.headers).toMatchObject({
      'content-type': 'application/json',
      'webhook-id': record.id,
      'webhook-timestamp': String(Math.floor(NOW.getTime() / 1000)),
      'webhook-signature': 'v1,…',
      'x-webhook-signature': 'sha256=…',
      'x-customer': 'acme',
    });
    expect(h.sm.calls()).toHaveLength(0);
  });
});

describe('POST /fleets/{fleetId}/portal-sessions', () => {
  it('stores only a hash with an expiry and returns a link whose token is in the fragment', async () => {
    h.ddb.on(PutCommand, { TableName: TABLES.tokens }).resolves({});
    const response = await h.call('POST', `/fleets/${FLEET}/portal-sessions`, {
      body: { ttlSeconds: 900, readOnly: true },
      headers: { host: 'abc.execute-api.us-east-1.amazonaws.com' },
    });
    expect(response.status).toBe(201);
    expect(response.body.expiresAt).toBe(new Date(NOW.getTime() + 900_000).toISOString());
    const url = new URL(response.body.url);
    expect(`${url.origin}${url.pathname}`).toBe('https://abc.execute-api.us-east-1.amazonaws.com/console');
    expect(url.search).toBe('');
    const fragment = new URLSearchParams(url.hash.slice(1));
    expect(fragment.get('fleet')).toBe(FLEET);
    expect(fragment.get('readOnly')).toBe('1');
    const token = fragment.get('portal') as string;
    const item = h.ddb.commandCalls(PutCommand)[0]!.args[0].input.Item as Record<string, unknown>;
    expect(item).toMatchObject({ fleets: [FLEET], kind: 'portal', readOnly: true, expiresAt: Math.floor(NOW.getTime() / 1000) + 900 });
    expect(item.secretHash).toBe(hashTokenSecret(token.slice(token.lastIndexOf('_', token.length - 44) + 1)));
    expect(JSON.stringify(item)).not.toContain(token.slice(-43));
  });

  it.each([
    [{ ttlSeconds: 10 }, 'ttlSeconds'],
    [{ ttlSeconds: 86_401 }, 'ttlSeconds'],
    [{ readOnly: 'yes' }, 'readOnly'],
    [{ fleet: 'x' }, 'fleet'],
  ])('refuses %o naming %s', async (body, field) => {
    const response = await h.call('POST', `/fleets/${FLEET}/portal-sessions`, { body });
    expect(response.status).toBe(400);
    expect(response.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
  });

  it('is 404 for a fleet the token does not grant', async () => {
    expect((await h.call('POST', `/fleets/${OTHER_FLEET}/portal-sessions`, { body: {} })).status).toBe(404);
  });
});

describe('a portal session', () => {
  it("reaches its fleet's routes and nothing else", async () => {
    const token = portalToken();
    h.ddb.on(QueryCommand, { TableName: TABLES.subscriptions }).resolves({ Items: [] });
    expect((await h.call('GET', `/fleets/${FLEET}/webhooks`, { token })).status).toBe(200);
    const otherFleet = await h.call('GET', `/fleets/${OTHER_FLEET}/webhooks`, { token });
    const unknownFleet = await h.call('GET', `/fleets/never-granted/webhooks`);
    expect(otherFleet.status).toBe(404);
    expect(otherFleet.raw).toBe(unknownFleet.raw);
    // It cannot mint sessions (which would outlive it).
    expect((await h.call('POST', `/fleets/${FLEET}/portal-sessions`, { token, body: {} })).status).toBe(404);
    expect(h.ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('read-only: reads, and every write is 403 before any work', async () => {
    const token = portalToken({ readOnly: true });
    h.ddb.on(QueryCommand, { TableName: TABLES.subscriptions }).resolves({ Items: [] });
    expect((await h.call('GET', `/fleets/${FLEET}/webhooks`, { token })).status).toBe(200);
    const write = await h.call('POST', `/fleets/${FLEET}/webhooks`, { token, body: { url: 'https://example.com/hook' } });
    expect(write.status).toBe(403);
    expect(write.body.error.details).toEqual([{ field: 'authorization', reason: 'is a read-only portal session' }]);
    expect((await h.call('POST', `/fleets/${FLEET}/events`, { token, body: { type: 'thread.completed', data: {} } })).status).toBe(403);
    expect(h.sqs.calls()).toHaveLength(0);
  });

  it('stops working at its expiry, even while DynamoDB TTL has not deleted it yet', async () => {
    const token = portalToken({ expiresAt: Math.floor(NOW.getTime() / 1000) });
    const response = await h.call('GET', `/fleets/${FLEET}/webhooks`, { token });
    expect(response.status).toBe(401);
  });
});
