import { BatchGetCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deliveryIdFor, isId } from '../../../lambdas/core/ids';
import type { EventRecord } from '../../../lambdas/core/records';
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
  it('sends one PublishedEventMessage to the events queue and stores nothing itself (the fan-out stores it)', async () => {
    const response = await publish({ type: 'thread.completed', data: { threadId: 't1' } });
    expect(response.status).toBe(202);
    expect(isId('evt', response.body.id)).toBe(true);
    expect(h.ddb.commandCalls(PutCommand)).toHaveLength(0);
    // A fresh id cannot be stored yet: no read either.
    expect(h.ddb.commandCalls(GetCommand, { TableName: TABLES.events })).toHaveLength(0);
    expect(h.sent(QUEUES.eventsUrl)).toEqual([
      { v: 1, kind: 'event', fleetId: FLEET, event: { id: response.body.id, type: 'thread.completed', timestamp: NOW.toISOString(), data: { threadId: 't1' } } },
    ]);
    expect(h.sent(QUEUES.deliveriesUrl)).toEqual([]);
  });

  it('binds an idempotency-key for 24 h and answers a repeat with the first id and no second fan-out', async () => {
    const first = 'evt_01HX0000000000000000000000';
    h.ddb.on(PutCommand, { TableName: TABLES.events }).rejects(conditionalFailure());
    h.ddb.on(GetCommand, { TableName: TABLES.events, Key: { fleetId: FLEET, id: 'idem#order-42' } }).resolves({
      Item: { fleetId: FLEET, id: 'idem#order-42', eventId: first, at: '2024-05-10T11:00:00.000Z', exp: 2e9 },
    });
    h.ddb.on(GetCommand, { TableName: TABLES.events, Key: { fleetId: FLEET, id: first } }).resolves({
      Item: { fleetId: FLEET, id: first, t: 'thread.completed', ts: '2024-05-10T11:00:00.000Z', d: '{}', src: 'api', exp: 2e9 },
    });
    const response = await publish({ type: 'thread.completed', data: {} }, { 'Idempotency-Key': 'order-42' });
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ id: first });
    expect(h.sent(QUEUES.eventsUrl)).toEqual([]);
    const claim = h.ddb.commandCalls(PutCommand)[0]!.args[0].input;
    expect(claim.Item).toMatchObject({ id: 'idem#order-42', at: NOW.toISOString(), exp: Math.floor(NOW.getTime() / 1000) + 86_400 });
    expect(claim.Item).not.toHaveProperty('ts');
  });

  it('sends a repeat whose first fan-out has not stored the event yet, with the first id and time', async () => {
    const first = 'evt_01HX0000000000000000000000';
    h.ddb.on(PutCommand, { TableName: TABLES.events }).rejects(conditionalFailure());
    h.ddb.on(GetCommand, { TableName: TABLES.events, Key: { fleetId: FLEET, id: 'idem#order-42' } }).resolves({
      Item: { fleetId: FLEET, id: 'idem#order-42', eventId: first, at: '2024-05-10T11:00:00.000Z', exp: 2e9 },
    });
    h.ddb.on(GetCommand, { TableName: TABLES.events, Key: { fleetId: FLEET, id: first } }).resolves({});
    await publish({ type: 'thread.completed', data: { v: 2 } }, { 'Idempotency-Key': 'order-42' });
    // Same id and time: the fan-out derives the same delivery ids, so the receiver sees one delivery.
    expect(h.sent(QUEUES.eventsUrl)).toEqual([
      { v: 1, kind: 'event', fleetId: FLEET, event: { id: first, type: 'thread.completed', timestamp: '2024-05-10T11:00:00.000Z', data: { v: 2 } } },
    ]);
  });

  it('is a no-op for a producer id already stored', async () => {
    h.ddb.on(GetCommand, { TableName: TABLES.events, Key: { fleetId: FLEET, id: 'order-42' } }).resolves({
      Item: { fleetId: FLEET, id: 'order-42', t: 'thread.completed', ts: '2024-05-10T11:00:00.000Z', d: '{"v":1}', src: 'api', exp: 2e9 },
    });
    const response = await publish({ type: 'thread.completed', data: { v: 2 }, id: 'order-42' });
    expect(response.body).toEqual({ id: 'order-42' });
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
    source: 'api',
    expiresAt: 2e9,
  });
  const item = (e: EventRecord) => ({ fleetId: e.fleetId, id: e.id, t: e.type, ts: e.timestamp, d: JSON.stringify(e.data), src: e.source, exp: e.expiresAt });
  /** The keys-only time index answers keys; BatchGetItem answers the events. */
  function stubEvents(target: Harness, events: EventRecord[]) {
    target.ddb.on(BatchGetCommand).callsFake((input: { RequestItems: Record<string, { Keys: { id: string }[] }> }) => ({
      Responses: { [TABLES.events]: events.filter((e) => input.RequestItems[TABLES.events]!.Keys.some((key) => key.id === e.id)).map(item) },
    }));
  }

  it('enqueues matching events with their original delivery ids', async () => {
    const sub = subscription({ events: ['thread.completed'] });
    h.ddb.on(GetCommand, { TableName: TABLES.subscriptions }).resolves({ Item: sub });
    const events = [
      event('evt_a', 'thread.completed', '2024-05-10T10:00:00.000Z'),
      event('evt_b', 'thread.failed', '2024-05-10T10:01:00.000Z'),
      event('evt_c', 'thread.completed', '2024-05-10T10:02:00.000Z'),
    ];
    h.ddb.on(QueryCommand, { TableName: TABLES.events }).resolves({ Items: events.map((e) => ({ fleetId: e.fleetId, id: e.id, ts: e.timestamp })) });
    stubEvents(h, events);
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
    expect(h.ddb.commandCalls(QueryCommand)[0]!.args[0].input.ExpressionAttributeValues).toMatchObject({
      ':from': '2024-05-10T09:00:00.000Z',
      ':to': '2024-05-10T11:00:00.000Z',
    });
  });

  it('continues a range larger than its page budget through the events queue', async () => {
    const paged = createHarness({ deps: { replayMaxPages: 2, replayPageSize: 1 } });
    try {
      const sub = subscription();
      paged.ddb.on(GetCommand, { TableName: TABLES.subscriptions }).resolves({ Item: sub });
      let page = 0;
      stubEvents(paged, [1, 2, 3].map((n) => event(`evt_${n}`, 'thread.completed', '2024-05-10T10:00:00.000Z')));
      paged.ddb.on(QueryCommand, { TableName: TABLES.events }).callsFake(() => {
        page += 1;
        const e = event(`evt_${page}`, 'thread.completed', '2024-05-10T10:00:00.000Z');
        return { Items: [{ fleetId: FLEET, id: e.id, ts: e.timestamp }], LastEvaluatedKey: { fleetId: FLEET, id: e.id, ts: e.timestamp } };
      });
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
          cursor: encodeCursor({ fleetId: FLEET, id: 'evt_2', ts: '2024-05-10T10:00:00.000Z' }),
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
