import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isId } from '../../../lambdas/core/ids';
import { openSigningSecrets } from '../../../lambdas/core/sealed-secrets';
import { encodeCursor } from '../../../lambdas/shared/cursor';
import { sealedSecrets, TEST_KEY_RING, TEST_SIGNING_SECRET } from '../../support/signing-key';
import { createHarness, FLEET, NOW, QUEUES, subscription, TABLES, type Harness } from './harness';

let h: Harness;
beforeEach(() => {
  h = createHarness();
});
afterEach(() => h.restore());

function stubSubscription(record = subscription()) {
  h.ddb.on(GetCommand, { TableName: TABLES.subscriptions, Key: { fleetId: record.fleetId, id: record.id } }).resolves({ Item: record });
  return record;
}

describe('POST /fleets/{fleetId}/webhooks', () => {
  beforeEach(() => {
    h.ddb.on(PutCommand, { TableName: TABLES.subscriptions }).resolves({});
  });

  it('seals the secret on the record and returns it once, with no Secrets Manager write', async () => {
    const response = await h.call('POST', `/fleets/${FLEET}/webhooks`, {
      body: { url: 'https://example.com/hook', events: ['thread.completed'], name: 'prod', headers: { 'X-Customer': 'acme' } },
    });
    expect(response.status).toBe(201);
    const body = response.body;
    expect(isId('wh', body.id)).toBe(true);
    expect(body).toMatchObject({
      fleetId: FLEET,
      url: 'https://example.com/hook',
      events: ['thread.completed'],
      enabled: true,
      name: 'prod',
      headers: { 'X-Customer': 'acme' },
      createdAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
    });
    expect(body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Object.keys(body)).not.toContain('secretArn');
    expect(Object.keys(body)).not.toContain('secretVersion');
    expect(response.headers.location).toBe(`/fleets/${FLEET}/webhooks/${body.id}`);

    const item = h.ddb.commandCalls(PutCommand)[0]!.args[0].input.Item as Record<string, unknown>;
    expect(item).toMatchObject({ fleetId: FLEET, id: body.id, enabled: true, sealedSecret: expect.stringMatching(/^v1\.1\./) });
    expect(JSON.stringify(item)).not.toContain(body.secret);
    expect(JSON.stringify(item)).not.toContain(body.secret.slice('whsec_'.length));
    expect(openSigningSecrets(TEST_KEY_RING, item as never)).toEqual({ current: body.secret });
    expect(Object.keys(body)).not.toContain('sealedSecret');
    // The only Secrets Manager call is the key ring's first load.
    expect(h.sm.calls().map((call) => call.args[0].constructor.name)).toEqual(['GetSecretValueCommand']);
  });

  it('reads the key ring once per container, however many subscriptions it creates', async () => {
    for (let index = 0; index < 3; index += 1) {
      expect((await h.call('POST', `/fleets/${FLEET}/webhooks`, { body: { url: 'https://example.com/hook' } })).status).toBe(201);
    }
    expect(h.sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('answers events: [] when every type is subscribed and keeps optional fields out when unset', async () => {
    const response = await h.call('POST', `/fleets/${FLEET}/webhooks`, { body: { url: 'https://example.com/hook' } });
    expect(response.status).toBe(201);
    expect(response.body.events).toEqual([]);
    for (const field of ['name', 'description', 'headers', 'timeoutSeconds', 'maxAttempts', 'disabledReason']) {
      expect(response.body).not.toHaveProperty(field);
    }
  });

  it('answers a bare 500 when the subscription cannot be stored, leaving nothing behind', async () => {
    h.ddb.on(PutCommand, { TableName: TABLES.subscriptions }).rejects(new Error('throttled'));
    const response = await h.call('POST', `/fleets/${FLEET}/webhooks`, { body: { url: 'https://example.com/hook' } });
    expect(response.status).toBe(500);
    expect(response.body).toEqual({ error: { code: 'internal', message: 'Internal error', requestId: 'req-test-1' } });
    expect(response.raw).not.toContain('throttled');
    expect(h.logs.some((line) => line.level === 'error' && String((line.attributes.error as Error).message) === 'throttled')).toBe(true);
  });

  it.each([
    ['http://example.com/hook', /https/],
    ['https://10.0.0.1/hook', /private/],
    ['https://127.0.0.1/hook', /loopback/],
    ['https://169.254.169.254/latest/meta-data', /link-local|metadata/],
    ['https://[::1]/hook', /loopback/],
    ['https://internal.example.com/hook', /resolves to 10\.0\.0\.5/],
    ['https://mixed.example.com/hook', /127\.0\.0\.1/],
    ['https://metadata.example.com/hook', /169\.254\.169\.254/],
    ['https://nowhere.example.com/hook', /does not resolve/],
    ['https://user:pw@example.com/hook', /credentials/],
    ['not a url', /URL|spaces/],
    [`https://example.com/${'a'.repeat(2050)}`, /2048/],
  ])('refuses %s naming url', async (url, reason) => {
    const response = await h.call('POST', `/fleets/${FLEET}/webhooks`, { body: { url } });
    expect(response.status).toBe(400);
    expect(response.body.error.details).toEqual([{ field: 'url', reason: expect.stringMatching(reason) }]);
    expect(h.ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('accepts plain http only for an allowed private target', async () => {
    const local = createHarness({ settings: { allowPrivateTargets: ['10.0.0.0/8'] } });
    try {
      local.ddb.on(PutCommand).resolves({});
      expect((await local.call('POST', `/fleets/${FLEET}/webhooks`, { body: { url: 'http://internal.example.com/h' } })).status).toBe(201);
      const publicHttp = await local.call('POST', `/fleets/${FLEET}/webhooks`, { body: { url: 'http://example.com/h' } });
      expect(publicHttp.status).toBe(400);
      expect(publicHttp.body.error.details[0]).toEqual({ field: 'url', reason: expect.stringMatching(/https/) });
      const loopback = await local.call('POST', `/fleets/${FLEET}/webhooks`, { body: { url: 'http://127.0.0.1:9/h' } });
      expect(loopback.status).toBe(400);
    } finally {
      local.restore();
    }
  });
});

describe('GET /fleets/{fleetId}/webhooks', () => {
  it('pages with limit and an opaque cursor', async () => {
    const records = [subscription(), subscription()];
    const lastKey = { fleetId: FLEET, id: records[1]!.id };
    h.ddb.on(QueryCommand, { TableName: TABLES.subscriptions }).resolves({ Items: records, LastEvaluatedKey: lastKey });
    const first = await h.call('GET', `/fleets/${FLEET}/webhooks`, { query: { limit: '2' } });
    expect(first.status).toBe(200);
    expect(first.body.data.map((item: { id: string }) => item.id)).toEqual(records.map((r) => r.id));
    expect(first.body.nextCursor).toBe(encodeCursor(lastKey));
    expect(first.body.data[0]).not.toHaveProperty('sealedSecret');
    expect(h.ddb.commandCalls(QueryCommand)[0]!.args[0].input).toMatchObject({ Limit: 2, ExpressionAttributeValues: { ':fleetId': FLEET } });

    h.ddb.on(QueryCommand, { TableName: TABLES.subscriptions }).resolves({ Items: [] });
    const second = await h.call('GET', `/fleets/${FLEET}/webhooks`, { query: { cursor: first.body.nextCursor } });
    expect(second.body).toEqual({ data: [], nextCursor: null });
    expect(h.ddb.commandCalls(QueryCommand)[1]!.args[0].input.ExclusiveStartKey).toEqual(lastKey);
  });

  it('refuses a cursor of another fleet, naming cursor', async () => {
    const foreign = encodeCursor({ fleetId: 'fleet-b', id: 'wh_x' });
    const response = await h.call('GET', `/fleets/${FLEET}/webhooks`, { query: { cursor: foreign as string } });
    expect(response.status).toBe(400);
    expect(response.body.error.details).toEqual([{ field: 'cursor', reason: expect.any(String) }]);
    expect(h.ddb.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it.each([['0'], ['101'], ['abc'], ['1.5']])('refuses limit=%s', async (limit) => {
    const response = await h.call('GET', `/fleets/${FLEET}/webhooks`, { query: { limit } });
    expect(response.status).toBe(400);
    expect(response.body.error.details[0].field).toBe('limit');
  });
});

describe('GET /fleets/{fleetId}/webhooks/{id}', () => {
  it('returns the record without secret fields', async () => {
    const record = stubSubscription(subscription({ failingSince: NOW.toISOString(), disabledReason: 'endpoint answered 410', enabled: false }));
    const response = await h.call('GET', `/fleets/${FLEET}/webhooks/${record.id}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      id: record.id,
      fleetId: FLEET,
      url: record.url,
      events: [],
      enabled: false,
      disabledReason: 'endpoint answered 410',
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
    });
    const get = h.ddb.commandCalls(GetCommand).find((c) => c.args[0].input.TableName === TABLES.subscriptions)!;
    expect(get.args[0].input.ConsistentRead).toBe(true);
  });

  it('is 404 for an unknown id and for an id that is not a webhook id, without a read for the latter', async () => {
    h.ddb.on(GetCommand, { TableName: TABLES.subscriptions }).resolves({});
    const missing = await h.call('GET', `/fleets/${FLEET}/webhooks/wh_01HZZZZZZZZZZZZZZZZZZZZZZZ`);
    expect(missing.status).toBe(404);
    const reads = h.ddb.commandCalls(GetCommand).length;
    const bogus = await h.call('GET', `/fleets/${FLEET}/webhooks/not-an-id`);
    expect(bogus.status).toBe(404);
    expect(bogus.body).toEqual(missing.body);
    expect(h.ddb.commandCalls(GetCommand).length).toBe(reads);
  });
});

describe('PATCH /fleets/{fleetId}/webhooks/{id}', () => {
  it('updates given fields, removes null ones and returns the new record', async () => {
    const record = subscription({ name: 'old', timeoutSeconds: 5 });
    const updated = { ...record, url: 'https://hooks.example.com/v2', timeoutSeconds: undefined, enabled: false, updatedAt: NOW.toISOString() };
    h.ddb.on(UpdateCommand, { TableName: TABLES.subscriptions }).resolves({ Attributes: updated });
    const response = await h.call('PATCH', `/fleets/${FLEET}/webhooks/${record.id}`, {
      body: { url: 'https://hooks.example.com/v2', timeoutSeconds: null, enabled: false },
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ url: 'https://hooks.example.com/v2', enabled: false });
    expect(response.body).not.toHaveProperty('timeoutSeconds');
    const input = h.ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input.Key).toEqual({ fleetId: FLEET, id: record.id });
    expect(input.UpdateExpression).toContain('REMOVE #timeoutSeconds');
    expect(input.ExpressionAttributeValues).toMatchObject({ ':url': 'https://hooks.example.com/v2', ':enabled': false });
  });

  it('checks a new url like create does', async () => {
    const response = await h.call('PATCH', `/fleets/${FLEET}/webhooks/${subscription().id}`, { body: { url: 'https://10.1.2.3/' } });
    expect(response.status).toBe(400);
    expect(response.body.error.details[0].field).toBe('url');
    expect(h.ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it('refuses an empty patch naming body, and is 404 when the record does not exist', async () => {
    const empty = await h.call('PATCH', `/fleets/${FLEET}/webhooks/${subscription().id}`, { body: {} });
    expect(empty.status).toBe(400);
    expect(empty.body.error.details).toEqual([{ field: 'body', reason: 'must change at least one field' }]);

    const conditional = Object.assign(new Error('conditional'), { name: 'ConditionalCheckFailedException' });
    h.ddb.on(UpdateCommand).rejects(conditional);
    const missing = await h.call('PATCH', `/fleets/${FLEET}/webhooks/${subscription().id}`, { body: { name: 'x' } });
    expect(missing.status).toBe(404);
  });
});

describe('DELETE /fleets/{fleetId}/webhooks/{id}', () => {
  it('deletes the record, and its sealed secret with it, then ends pending deliveries as disabled', async () => {
    const record = stubSubscription();
    h.ddb.on(DeleteCommand).resolves({ Attributes: record });
    h.ddb.on(QueryCommand, { TableName: TABLES.deliveries }).resolves({ Items: [{ id: 'dlv_1' }] });
    h.ddb.on(UpdateCommand, { TableName: TABLES.deliveries }).resolves({});
    const response = await h.call('DELETE', `/fleets/${FLEET}/webhooks/${record.id}`);
    expect(response.status).toBe(204);
    expect(response.raw).toBe('');
    expect(h.sm.calls()).toHaveLength(0);
    expect(h.ddb.commandCalls(DeleteCommand)[0]!.args[0].input.Key).toEqual({ fleetId: FLEET, id: record.id });
    const ended = h.ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(ended).toMatchObject({ Key: { id: 'dlv_1' }, ExpressionAttributeValues: { ':disabled': 'disabled' } });
  });

  it('is 404 when the webhook does not exist (a retried delete)', async () => {
    h.ddb.on(DeleteCommand).resolves({});
    expect((await h.call('DELETE', `/fleets/${FLEET}/webhooks/${subscription().id}`)).status).toBe(404);
  });
});

describe('POST /fleets/{fleetId}/webhooks/{id}/rotate', () => {
  const OLD = 'whsec_b2xkLXNlY3JldC1vbGQtc2VjcmV0LW9sZC1zZWNyZXQ=';

  function stubRotation(record: ReturnType<typeof subscription>) {
    h.ddb.on(UpdateCommand).callsFake((input: { ExpressionAttributeValues: Record<string, unknown> }) => ({
      Attributes: {
        ...record,
        sealedSecret: input.ExpressionAttributeValues[':secret'],
        sealedPreviousSecret: input.ExpressionAttributeValues[':previous'],
        previousSecretExpiresAt: input.ExpressionAttributeValues[':previousExpiresAt'],
        updatedAt: NOW.toISOString(),
      },
    }));
  }

  it('seals the new secret with the old one kept for the grace period, conditional on the old one', async () => {
    const record = stubSubscription(subscription({ ...sealedSecrets(FLEET, 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CD', { current: OLD }), id: 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CD' }));
    stubRotation(record);
    const response = await h.call('POST', `/fleets/${FLEET}/webhooks/${record.id}/rotate`);
    expect(response.status).toBe(200);
    expect(response.body.secret).toMatch(/^whsec_/);
    expect(response.body).not.toHaveProperty('sealedSecret');
    expect(response.body).not.toHaveProperty('sealedPreviousSecret');

    const update = h.ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(update.ConditionExpression).toBe('sealedSecret = :expected');
    expect(update.ExpressionAttributeValues?.[':expected']).toBe(record.sealedSecret);
    const values = update.ExpressionAttributeValues as Record<string, string>;
    const stored = { fleetId: FLEET, id: record.id, sealedSecret: values[':secret']!, sealedPreviousSecret: values[':previous'], previousSecretExpiresAt: values[':previousExpiresAt'] };
    expect(openSigningSecrets(TEST_KEY_RING, stored)).toEqual({
      current: response.body.secret,
      previous: OLD,
      previousExpiresAt: new Date(NOW.getTime() + 24 * 3_600_000).toISOString(),
    });
    expect(JSON.stringify(update)).not.toContain(response.body.secret);
  });

  it('is 409 naming secret when another rotation changed it meanwhile', async () => {
    const record = stubSubscription();
    h.ddb.on(UpdateCommand).rejects(Object.assign(new Error('conditional'), { name: 'ConditionalCheckFailedException' }));
    const response = await h.call('POST', `/fleets/${FLEET}/webhooks/${record.id}/rotate`);
    expect(response.status).toBe(409);
    expect(response.body.error.details).toEqual([{ field: 'secret', reason: expect.stringMatching(/concurrent/) }]);
  });

  it('replaces a stored secret that cannot be opened, with no grace period', async () => {
    const record = stubSubscription(subscription({ sealedSecret: sealedSecrets(FLEET, 'wh_other').sealedSecret }));
    stubRotation(record);
    const response = await h.call('POST', `/fleets/${FLEET}/webhooks/${record.id}/rotate`);
    expect(response.status).toBe(200);
    const values = h.ddb.commandCalls(UpdateCommand)[0]!.args[0].input.ExpressionAttributeValues as Record<string, string>;
    expect(values[':previous']).toBeUndefined();
    expect(openSigningSecrets(TEST_KEY_RING, { fleetId: FLEET, id: record.id, sealedSecret: values[':secret']! })).toEqual({ current: response.body.secret });
    expect(h.logs.some((line) => line.level === 'error' && /could not be opened/.test(line.message))).toBe(true);
    expect(TEST_SIGNING_SECRET).not.toBe(response.body.secret);
  });
});

describe('POST /fleets/{fleetId}/webhooks/{id}/test', () => {
  it('stores a webhook.test event and sends one delivery message straight to the deliveries queue', async () => {
    const record = stubSubscription();
    h.ddb.on(PutCommand, { TableName: TABLES.events }).resolves({});
    const response = await h.call('POST', `/fleets/${FLEET}/webhooks/${record.id}/test`);
    expect(response.status).toBe(202);
    expect(isId('dlv', response.body.deliveryId)).toBe(true);
    const event = h.ddb.commandCalls(PutCommand)[0]!.args[0].input.Item as Record<string, unknown>;
    expect(event).toMatchObject({ fleetId: FLEET, id: response.body.eventId, t: 'webhook.test', ts: NOW.toISOString() });
    expect(h.sent(QUEUES.eventsUrl)).toEqual([]);
    expect(h.sent(QUEUES.deliveriesUrl)).toEqual([
      {
        v: 1,
        deliveryId: response.body.deliveryId,
        fleetId: FLEET,
        subscriptionId: record.id,
        event: { id: response.body.eventId, type: 'webhook.test', timestamp: NOW.toISOString(), data: expect.any(Object) },
        reason: 'test',
      },
    ]);
  });

  it('is 409 naming enabled for a disabled webhook', async () => {
    const record = stubSubscription(subscription({ enabled: false }));
    const response = await h.call('POST', `/fleets/${FLEET}/webhooks/${record.id}/test`);
    expect(response.status).toBe(409);
    expect(response.body.error.details[0].field).toBe('enabled');
    expect(h.sent(QUEUES.deliveriesUrl)).toEqual([]);
  });
});
