import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deliveryIdFor, newEventId } from '../../../lambdas/core/ids';
import type { DeliveryRecord } from '../../../lambdas/core/records';
import { DELIVERIES_BY_STATUS_INDEX, DELIVERIES_BY_SUBSCRIPTION_INDEX } from '../../../lambdas/core/table-schema';
import { createHarness, FLEET, NOW, OTHER_FLEET, QUEUES, subscription, TABLES, type Harness } from './harness';

let h: Harness;
beforeEach(() => {
  h = createHarness();
});
afterEach(() => h.restore());

function delivery(overrides: Partial<DeliveryRecord> = {}): DeliveryRecord {
  const sub = overrides.subscriptionId ?? subscription().id;
  const eventId = newEventId(NOW.getTime());
  const id = deliveryIdFor(overrides.fleetId ?? FLEET, eventId, sub, NOW.toISOString());
  return {
    id,
    fleetId: FLEET,
    subscriptionId: sub,
    eventId,
    eventType: 'thread.completed',
    webhookUrl: 'https://example.com/hook',
    status: 'failed',
    attemptCount: 2,
    lastAttemptAt: NOW.toISOString(),
    httpStatusCode: 500,
    latencyMs: 12,
    responseHeaders: { 'content-type': 'text/plain' },
    createdAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
    attempts: [
      { key: 'msg-1:1', attempt: 1, at: NOW.toISOString(), statusCode: 500, latencyMs: 10, responseBodyExcerpt: 'oops', errorKind: 'http', retryInSeconds: 5 },
      { key: 'msg-1:2', attempt: 2, at: NOW.toISOString(), statusCode: 500, latencyMs: 12, errorKind: 'http' },
    ],
    createdKey: `${NOW.toISOString()}#${id}`,
    subscriptionStatus: `${sub}#failed`,
    expiresAt: 1,
    ...overrides,
  };
}

function stub(record: DeliveryRecord) {
  h.ddb.on(GetCommand, { TableName: TABLES.deliveries, Key: { id: record.id } }).resolves({ Item: { ...record, attemptKeys: new Set(['msg-1:1']) } });
}

describe('GET /fleets/{fleetId}/webhooks/{id}/deliveries', () => {
  it('queries newest first by subscription, with filters mapped to the index', async () => {
    const sub = subscription();
    h.ddb.on(GetCommand, { TableName: TABLES.subscriptions }).resolves({ Item: sub });
    const record = delivery({ subscriptionId: sub.id });
    const { attempts: _a, createdKey: _c, subscriptionStatus: _s, expiresAt: _e, responseHeaders: _r, ...summary } = record;
    h.ddb.on(QueryCommand, { TableName: TABLES.deliveries }).resolves({ Items: [summary] });

    const response = await h.call('GET', `/fleets/${FLEET}/webhooks/${sub.id}/deliveries`, {
      query: { status: 'failed', eventType: 'thread.completed', since: '2024-05-10T13:00:00+02:00', until: '2024-05-10T12:30:00Z', limit: '10' },
    });
    expect(response.status).toBe(200);
    expect(response.body.nextCursor).toBeNull();
    expect(response.body.data).toEqual([
      {
        id: record.id,
        fleetId: FLEET,
        webhookId: sub.id,
        eventId: record.eventId,
        eventType: 'thread.completed',
        webhookUrl: record.webhookUrl,
        status: 'failed',
        attemptCount: 2,
        lastAttemptAt: NOW.toISOString(),
        httpStatusCode: 500,
        latencyMs: 12,
        createdAt: NOW.toISOString(),
        updatedAt: NOW.toISOString(),
      },
    ]);
    const input = h.ddb.commandCalls(QueryCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      IndexName: DELIVERIES_BY_STATUS_INDEX,
      ScanIndexForward: false,
      Limit: 10,
      FilterExpression: 'eventType = :eventType',
      ExpressionAttributeValues: {
        ':pk': `${sub.id}#failed`,
        ':since': '2024-05-10T11:00:00.000Z',
        ':until': '2024-05-10T12:30:00.000Z#~',
      },
    });
  });

  it('uses the by-subscription index without a status filter', async () => {
    const sub = subscription();
    h.ddb.on(GetCommand, { TableName: TABLES.subscriptions }).resolves({ Item: sub });
    h.ddb.on(QueryCommand).resolves({ Items: [] });
    await h.call('GET', `/fleets/${FLEET}/webhooks/${sub.id}/deliveries`);
    expect(h.ddb.commandCalls(QueryCommand)[0]!.args[0].input).toMatchObject({ IndexName: DELIVERIES_BY_SUBSCRIPTION_INDEX, Limit: 50 });
  });

  it.each([
    [{ status: 'bogus' }, 'status'],
    [{ eventType: 'nope.nope' }, 'eventType'],
    [{ since: 'yesterday' }, 'since'],
    [{ since: '2024-05-10T12:00:00Z', until: '2024-05-09T12:00:00Z' }, 'until'],
    [{ limit: '500' }, 'limit'],
  ])('refuses %o naming %s', async (query, field) => {
    const response = await h.call('GET', `/fleets/${FLEET}/webhooks/${subscription().id}/deliveries`, { query });
    expect(response.status).toBe(400);
    expect(response.body.error.details.map((d: { field: string }) => d.field)).toEqual([field]);
  });

  it('404 when the webhook is not in this fleet', async () => {
    h.ddb.on(GetCommand, { TableName: TABLES.subscriptions }).resolves({});
    const response = await h.call('GET', `/fleets/${FLEET}/webhooks/${subscription().id}/deliveries`);
    expect(response.status).toBe(404);
    expect(h.ddb.commandCalls(QueryCommand)).toHaveLength(0);
  });
});

describe('GET /fleets/{fleetId}/deliveries/{id}', () => {
  it('returns the delivery with its attempts and no internal keys', async () => {
    const record = delivery();
    stub(record);
    const response = await h.call('GET', `/fleets/${FLEET}/deliveries/${record.id}`);
    expect(response.status).toBe(200);
    expect(response.body.attempts).toEqual([
      { attempt: 1, at: NOW.toISOString(), statusCode: 500, latencyMs: 10, responseBodyExcerpt: 'oops', errorKind: 'http', retryInSeconds: 5 },
      { attempt: 2, at: NOW.toISOString(), statusCode: 500, latencyMs: 12, errorKind: 'http' },
    ]);
    expect(response.body.responseHeaders).toEqual({ 'content-type': 'text/plain' });
    for (const hidden of ['attemptKeys', 'createdKey', 'subscriptionStatus', 'expiresAt', 'subscriptionId']) {
      expect(response.body).not.toHaveProperty(hidden);
    }
    expect(response.raw).not.toContain('msg-1');
  });

  it('is 404 when the delivery belongs to another fleet, identical to a missing one', async () => {
    const foreign = delivery({ fleetId: OTHER_FLEET });
    stub(foreign);
    h.ddb.on(GetCommand, { TableName: TABLES.deliveries, Key: { id: 'dlv_01HZZZZZZZZZZZZZZZZZZZZZZZ' } }).resolves({});
    const crossFleet = await h.call('GET', `/fleets/${FLEET}/deliveries/${foreign.id}`);
    const missing = await h.call('GET', `/fleets/${FLEET}/deliveries/dlv_01HZZZZZZZZZZZZZZZZZZZZZZZ`);
    expect(crossFleet.status).toBe(404);
    expect(crossFleet.raw).toBe(missing.raw);
  });
});

describe('POST /fleets/{fleetId}/deliveries/{id}/retry', () => {
  it('marks the delivery pending and enqueues the stored event with the same delivery id', async () => {
    const sub = subscription();
    const record = delivery({ subscriptionId: sub.id });
    stub(record);
    h.ddb.on(GetCommand, { TableName: TABLES.subscriptions }).resolves({ Item: sub });
    const event = { fleetId: FLEET, id: record.eventId, type: 'thread.completed', timestamp: NOW.toISOString(), data: { a: 1 } };
    // The events table's item shape (events-store.ts): short attribute names, data as JSON text.
    h.ddb.on(GetCommand, { TableName: TABLES.events }).resolves({
      Item: { fleetId: FLEET, id: event.id, t: event.type, ts: event.timestamp, d: JSON.stringify(event.data), src: 'api', exp: 2e9 },
    });
    h.ddb.on(UpdateCommand).resolves({});

    const response = await h.call('POST', `/fleets/${FLEET}/deliveries/${record.id}/retry`);
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ deliveryId: record.id });
    expect(h.ddb.commandCalls(UpdateCommand)[0]!.args[0].input).toMatchObject({
      Key: { id: record.id },
      ExpressionAttributeValues: { ':pending': 'pending', ':ss': `${sub.id}#pending` },
    });
    expect(h.sent(QUEUES.deliveriesUrl)).toEqual([
      {
        v: 1,
        deliveryId: record.id,
        fleetId: FLEET,
        subscriptionId: sub.id,
        event: { id: event.id, type: event.type, timestamp: event.timestamp, data: { a: 1 } },
        reason: 'retry',
      },
    ]);
  });

  it('is 410 naming the retention when the event is gone', async () => {
    const sub = subscription();
    const record = delivery({ subscriptionId: sub.id });
    stub(record);
    h.ddb.on(GetCommand, { TableName: TABLES.subscriptions }).resolves({ Item: sub });
    h.ddb.on(GetCommand, { TableName: TABLES.events }).resolves({});
    const response = await h.call('POST', `/fleets/${FLEET}/deliveries/${record.id}/retry`);
    expect(response.status).toBe(410);
    expect(response.body.error.details).toEqual([{ field: 'eventId', reason: expect.stringContaining('30-day') }]);
    expect(h.sent(QUEUES.deliveriesUrl)).toEqual([]);
    expect(h.ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it('is 409 when the webhook was deleted or disabled', async () => {
    const sub = subscription({ enabled: false });
    const record = delivery({ subscriptionId: sub.id });
    stub(record);
    h.ddb.on(GetCommand, { TableName: TABLES.subscriptions }).resolves({});
    const deleted = await h.call('POST', `/fleets/${FLEET}/deliveries/${record.id}/retry`);
    expect(deleted.status).toBe(409);
    expect(deleted.body.error.details[0].field).toBe('webhookId');
    h.ddb.on(GetCommand, { TableName: TABLES.subscriptions }).resolves({ Item: sub });
    const disabled = await h.call('POST', `/fleets/${FLEET}/deliveries/${record.id}/retry`);
    expect(disabled.status).toBe(409);
    expect(disabled.body.error.details[0].field).toBe('enabled');
  });

  it('is 404 for a delivery of another fleet', async () => {
    const record = delivery({ fleetId: OTHER_FLEET });
    stub(record);
    expect((await h.call('POST', `/fleets/${FLEET}/deliveries/${record.id}/retry`)).status).toBe(404);
    expect(h.sent(QUEUES.deliveriesUrl)).toEqual([]);
  });
});
