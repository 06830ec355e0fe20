import { BatchGetCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deliveryIdFor, isId } from '../../../lambdas/core/ids';
import type { EventRecord } from '../../../lambdas/core/records';
import { EVENTS_BY_EVENT_TIME_INDEX, EVENTS_BY_TIME_INDEX } from '../../../lambdas/core/table-schema';
import { encodeCursor } from '../../../lambdas/shared/cursor';
import { createHarness, FLEET, NOW, QUEUES, subscription, TABLES, type Harness } from './harness';

let h: Harness;
beforeEach(() => {
  h = createHarness();
});
afterEach(() => h.restore());

const conditionalFailure = () => Object.assign(new Error('conditional'), { name: 'ConditionalCheckFailedException' });
const publish = (body: unknown, headers: Record<string, string> = {}) => h.call('POST', `/fleets/${FLEET}/events`, { body, headers });

describe('POST /fleets/{fleetId}/events', () => {
  it('stores the event and sends one PublishedEventMessage to the events queue', async () => {
    h.ddb.on(PutCommand, { TableName: TABLES.events }).resolves({});
    const response = await publish({ type: 'thread.completed', data: { threadId: 't1' } });
    expect(response.status).toBe(202);
    expect(isId('evt', response.body.id)).toBe(true);
    const item = h.ddb.commandCalls(PutCommand)[0]!.args[0].input.Item as EventRecord;
    expect(item).toEqual({
      fleetId: FLEET,
      id: response.body.id,
      type: 'thread.completed',
      timestamp: NOW.toISOString(),
      // Stored as JSON text: a DynamoDB map cannot hold every JSON document (see EventsStore).
      dataJson: JSON.stringify({ threadId: 't1' }),
      eventTime: `${NOW.toISOString()}#${response.body.id}`,
      source: 'api',
      expiresAt: Math.floor(NOW.getTime() / 1000) + 30 * 86_400,
    });
    expect(h.sent(QUEUES.eventsUrl)).toEqual([
      { v: 1, kind: 'event', fleetId: FLEET, event: { id: response.body.id, type: 'thread.completed', timestamp: NOW.toISOString(), data: { threadId: 't1' } } },
    ]);
    expect(h.sent(QUEUES.deliveriesUrl)).toEqual([]);
  });

  it('binds an idempotency-key for 24 h and answers a repeat with the first id and no second fan-out', async () => {
    const first = 'evt_01HX0000000000000000000000';
    h.ddb.on(PutCommand, { TableName: TABLES.events }).rejects(conditionalFailure());
    h.ddb.on(GetCommand, { TableName: TABLES.events, Key: { fleetId: FLEET, id: 'idem#order-42' } }).resolves({
      Item: { fleetId: FLEET, id: 'idem#order-42', eventId: first, expiresAt: 2e9 },
    });
    h.ddb.on(GetCommand, { TableName: TABLES.events, Key: { fleetId: FLEET, id: first } }).resolves({
      Item: { fleetId: FLEET, id: first, type: 'thread.completed', timestamp: NOW.toISOString(), data: {}, fannedOutAt: NOW.toISOString() },
    });
    const response = await publish({ type: 'thread.completed', data: {} }, { 'Idempotency-Key': 'order-42' });
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ id: first, duplicate: true });
    expect(h.sent(QUEUES.eventsUrl)).toEqual([]);
    const claim = h.ddb.commandCalls(PutCommand)[0]!.args[0].input;
    expect(claim.Item).toMatchObject({ id: 'idem#order-42', expiresAt: Math.floor(NOW.getTime() / 1000) + 86_400 });
  });

  it('re-sends the message when the stored event never finished its fan-out', async () => {
    h.ddb.on(PutCommand, { TableName: TABLES.events }).rejects(conditionalFailure());
    h.ddb.on(GetCommand, { TableName: TABLES.events, Key: { fleetId: FLEET, id: 'order-42' } }).resolves({
      Item: { fleetId: FLEET, id: 'order-42', type: 'thread.completed', timestamp: '2024-05-10T11:00:00.000Z', data: { v: 1 } },
    });
    const response = await publish({ type: 'thread.completed', data: { v: 2 }, id: 'order-42' });
    // A repeat with other data is refused, naming the field, so the client knows it was not published…
    expect(response.status).toBe(409);
    expect(response.body.error.details).toEqual([{ field: 'data', reason: expect.stringMatching(/differs from the event first published with this id/) }]);
    // …and the stored copy still finishes its fan-out: a retry cannot change what was published.
    expect(h.sent(QUEUES.eventsUrl)).toEqual([
      { v: 1, kind: 'event', fleetId: FLEET, event: { id: 'order-42', type: 'thread.completed', timestamp: '2024-05-10T11:00:00.000Z', data: { v: 1 } } },
    ]);
  });

  it('answers an identical repeat (keys in another order) with duplicate: true, and a changed type or data with 409', async () => {
    h.ddb.on(PutCommand, { TableName: TABLES.events }).rejects(conditionalFailure());
    h.ddb.on(GetCommand, { TableName: TABLES.events, Key: { fleetId: FLEET, id: 'order-43' } }).resolves({
      Item: { fleetId: FLEET, id: 'order-43', type: 'thread.completed', timestamp: NOW.toISOString(), dataJson: '{"a":1,"b":[1,{"c":2,"d":3}]}', fannedOutAt: NOW.toISOString() },
    });
    const same = await publish({ type: 'thread.completed', data: { b: [1, { d: 3, c: 2 }], a: 1 }, id: 'order-43' });
    expect(same.status).toBe(202);
    expect(same.body).toEqual({ id: 'order-43', duplicate: true });
    const changed = await publish({ type: 'thread.failed', data: { a: 2 }, id: 'order-43' });
    expect(changed.status).toBe(409);
    expect(changed.body.error.details.map((detail: { field: string }) => detail.field)).toEqual(['type', 'data']);
    expect(h.sent(QUEUES.eventsUrl)).toEqual([]);
  });

  it.each([
    [{ type: 'nope.nope', data: {} }, 'type', /not an event type/],
    [{ type: 'webhook.test', data: {} }, 'type', /reserved/],
    [{ type: 'thread.completed' }, 'data', /required/],
    [{ data: {} }, 'type', /required/],
    [{ type: 'thread.completed', data: [1, 2] }, 'data', /JSON object/],
    [{ type: 'thread.completed', data: {}, id: 'idem#x' }, 'id', /letters/],
    [{ type: 'thread.completed', data: {}, fleetId: 'x' }, 'fleetId', /not a known field/],
  ])('refuses %o naming %s', async (body, field, reason) => {
    const response = await publish(body);
    expect(response.status).toBe(400);
    expect(response.body.error.details).toContainEqual({ field, reason: expect.stringMatching(reason) });
    expect(h.sent(QUEUES.eventsUrl)).toEqual([]);
  });

  it('refuses a bad idempotency-key naming the header', async () => {
    const response = await publish({ type: 'thread.completed', data: {} }, { 'idempotency-key': 'has space' });
    expect(response.status).toBe(400);
    expect(response.body.error.details).toEqual([{ field: 'idempotency-key', reason: expect.any(String) }]);
  });

  it('413 naming data when data exceeds maxPayloadBytes', async () => {
    const small = createHarness({ settings: { maxPayloadBytes: 1_024 } });
    try {
      const response = await small.call('POST', `/fleets/${FLEET}/events`, { body: { type: 'thread.completed', data: { blob: 'x'.repeat(1_100) } } });
      expect(response.status).toBe(413);
      expect(response.body.error.details).toEqual([{ field: 'data', reason: 'must be at most 1024 bytes' }]);
      expect(small.sent(QUEUES.eventsUrl)).toEqual([]);
    } finally {
      small.restore();
    }
  });
});

describe('POST /fleets/{fleetId}/webhooks/{id}/replay', () => {
  const event = (id: string, type: string, timestamp: string): EventRecord => ({
    fleetId: FLEET,
    id,
    type,
    timestamp,
    data: { id },
    timeKey: `${timestamp}#${id}`,
    source: 'api',
    expiresAt: 2e9,
  });

  it('enqueues matching events with their original delivery ids', async () => {
    const sub = subscription({ events: ['thread.completed'] });
    h.ddb.on(GetCommand, { TableName: TABLES.subscriptions }).resolves({ Item: sub });
    const events = [
      event('evt_a', 'thread.completed', '2024-05-10T10:00:00.000Z'),
      event('evt_b', 'thread.failed', '2024-05-10T10:01:00.000Z'),
      event('evt_c', 'thread.completed', '2024-05-10T10:02:00.000Z'),
    ];
    // The narrow time index names the events; they are then read by key.
    h.ddb.on(QueryCommand, { TableName: TABLES.events, IndexName: EVENTS_BY_TIME_INDEX }).resolves({ Items: [] });
    h.ddb
      .on(QueryCommand, { TableName: TABLES.events, IndexName: EVENTS_BY_EVENT_TIME_INDEX })
      .resolves({ Items: events.map(({ fleetId, id, type, source, timeKey }) => ({ fleetId, id, type, source, eventTime: timeKey })) });
    h.ddb.on(BatchGetCommand).resolves({ Responses: { [TABLES.events]: events } });
    const response = await h.call('POST', `/fleets/${FLEET}/webhooks/${sub.id}/replay`, {
      body: { since: '2024-05-10T09:00:00Z', until: '2024-05-10T11:00:00Z' },
    });
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ enqueued: 2, continued: false });
    const messages = h.sent(QUEUES.deliveriesUrl);
    expect(messages.map((m) => m.deliveryId)).toEqual([
      deliveryIdFor(FLEET, 'evt_a', sub.id, events[0]!.timestamp),
      deliveryIdFor(FLEET, 'evt_c', sub.id, events[2]!.timestamp),
    ]);
    expect(messages.every((m) => m.reason === 'replay')).toBe(true);
    expect(h.ddb.commandCalls(QueryCommand).map((call) => call.args[0].input.ExpressionAttributeValues)).toEqual([
      { ':fleetId': FLEET, ':since': '2024-05-10T09:00:00.000Z', ':until': '2024-05-10T11:00:00.000Z#~' },
      { ':fleetId': FLEET, ':since': '2024-05-10T09:00:00.000Z', ':until': '2024-05-10T11:00:00.000Z#~' },
    ]);
  });

  it('continues a range larger than its page budget through the events queue', async () => {
    const paged = createHarness({ deps: { replayMaxPages: 2, replayPageSize: 1 } });
    try {
      const sub = subscription();
      paged.ddb.on(GetCommand, { TableName: TABLES.subscriptions }).resolves({ Item: sub });
      let page = 0;
      paged.ddb.on(QueryCommand, { TableName: TABLES.events, IndexName: EVENTS_BY_TIME_INDEX }).resolves({ Items: [] });
      paged.ddb.on(QueryCommand, { TableName: TABLES.events, IndexName: EVENTS_BY_EVENT_TIME_INDEX }).callsFake(() => {
        page += 1;
        const e = event(`evt_${page}`, 'thread.completed', '2024-05-10T10:00:00.000Z');
        const key = { fleetId: FLEET, id: e.id, eventTime: e.timeKey };
        return { Items: [{ ...key, type: e.type, source: e.source }], LastEvaluatedKey: key };
      });
      paged.ddb.on(BatchGetCommand).callsFake((input: { RequestItems: Record<string, { Keys: { id: string }[] }> }) => ({
        Responses: {
          [TABLES.events]: (input.RequestItems[TABLES.events]?.Keys ?? [])
            .filter((key) => !key.id.startsWith('fan#'))
            .map((key) => event(key.id, 'thread.completed', '2024-05-10T10:00:00.000Z')),
        },
      }));
      const response = await paged.call('POST', `/fleets/${FLEET}/webhooks/${sub.id}/replay`, {
        body: { since: '2024-05-10T09:00:00Z', until: '2024-05-10T11:00:00Z' },
      });
      expect(response.body).toEqual({ enqueued: 2, continued: true });
      expect(paged.sent(QUEUES.eventsUrl)).toEqual([
        {
          v: 1,
          kind: 'replay',
          fleetId: FLEET,
          subscriptionId: sub.id,
          since: '2024-05-10T09:00:00.000Z',
          until: '2024-05-10T11:00:00.000Z',
          // `N`: a cursor into the narrow time index (the full, older one is read first and was empty).
          cursor: `N${encodeCursor({ fleetId: FLEET, id: 'evt_2', eventTime: '2024-05-10T10:00:00.000Z#evt_2' })}`,
        },
      ]);
    } finally {
      paged.restore();
    }
  });

  it.each([
    [{ since: '2024-05-10T09:00:00Z' }, 'until', /required/],
    [{ since: '2024-05-10T11:00:00Z', until: '2024-05-10T09:00:00Z' }, 'until', /after since/],
    [{ since: '2024-04-20T00:00:00Z', until: '2024-05-10T00:00:00Z' }, 'until', /14 days/],
    [{ since: '2024-05-10T11:00:00Z', until: '2024-05-10T13:00:00Z' }, 'until', /future/],
    [{ since: '2024-03-01T00:00:00Z', until: '2024-03-02T00:00:00Z' }, 'since', /retention/],
    [{ since: 'last week', until: '2024-05-10T09:00:00Z' }, 'since', /ISO-8601/],
  ])('refuses %o naming %s', async (body, field, reason) => {
    h.ddb.on(GetCommand, { TableName: TABLES.subscriptions }).resolves({ Item: subscription() });
    const response = await h.call('POST', `/fleets/${FLEET}/webhooks/${subscription().id}/replay`, { body });
    expect(response.status).toBe(400);
    expect(response.body.error.details).toContainEqual({ field, reason: expect.stringMatching(reason) });
    expect(h.ddb.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it('is 409 for a disabled webhook', async () => {
    const sub = subscription({ enabled: false });
    h.ddb.on(GetCommand, { TableName: TABLES.subscriptions }).resolves({ Item: sub });
    const response = await h.call('POST', `/fleets/${FLEET}/webhooks/${sub.id}/replay`, {
      body: { since: '2024-05-10T09:00:00Z', until: '2024-05-10T11:00:00Z' },
    });
    expect(response.status).toBe(409);
  });
});
