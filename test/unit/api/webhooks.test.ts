import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isId } from '../../../lambdas/core/ids';
import type { SubscriptionRecord } from '../../../lambdas/core/records';
import { addKeyVersion, formatKeyRing, openSigningSecrets } from '../../../lambdas/core/sealed-secrets';
import { encodeCursor } from '../../../lambdas/shared/cursor';
import { sealedSecrets, TEST_KEY_RING, TEST_SIGNING_SECRET } from '../../support/sealing-key';
import { createHarness, FLEET, NOW, QUEUES, SECRET_ARN, subscription, TABLES, type Harness } from './harness';

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

  it('seals the secret on the record (no secret of its own) and returns it this once', async () => {
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
    for (const hidden of ['sealedSecret', 'sealedPreviousSecret', 'previousSecretExpiresAt']) expect(Object.keys(body)).not.toContain(hidden);
    expect(response.headers.location).toBe(`/fleets/${FLEET}/webhooks/${body.id}`);

    // The one Secrets Manager call reads the key ring; nothing is created per subscription.
    expect(h.sm.calls().map((call) => call.args[0].constructor.name)).toEqual(['GetSecretValueCommand']);
    expect(h.sm.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: SECRET_ARN });

    const item = h.ddb.commandCalls(PutCommand)[0]!.args[0].input.Item as SubscriptionRecord;
    expect(item).toMatchObject({ fleetId: FLEET, id: body.id, enabled: true, sealedSecret: expect.stringMatching(/^v1\.1\./) });
    expect(JSON.stringify(item)).not.toContain(body.secret);
    expect(openSigningSecrets(TEST_KEY_RING, item)).toEqual({ current: body.secret });
  });

  it('reads the key ring once per container, however many subscriptions it creates', async () => {
    for (let index = 0; index < 5; index += 1) {
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

  it('leaves nothing behind when the subscription cannot be stored, and no internals in the 500', async () => {
    h.ddb.on(PutCommand, { TableName: TABLES.subscriptions }).rejects(new Error('throttled'));
    const response = await h.call('POST', `/fleets/${FLEET}/webhooks`, { body: { url: 'https://example.com/hook' } });
    expect(response.status).toBe(500);
    expect(response.body).toEqual({ error: { code: 'internal', message: 'Internal error', requestId: 'req-test-1' } });
    expect(response.raw).not.toContain('throttled');
    expect(h.sm.calls().every((call) => call.args[0] instanceof GetSecretValueCommand)).toBe(true);
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
    expect(h.sm.calls()).toHaveLength(0);
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
    expect(first.raw).not.toContain(records[0]!.sealedSecret);
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
      tlsVerify: true,
      disabledReason: 'endpoint answered 410',
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
      health: { state: 'closed', consecutiveFailures: 0, slow: false },
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
  it('deletes the record, its sealed secret with it, and ends pending deliveries as disabled', async () => {
    const record = subscription();
    h.ddb.on(DeleteCommand).resolves({ Attributes: record });
    h.ddb.on(QueryCommand, { TableName: TABLES.deliveries }).resolves({ Items: [{ id: 'dlv_1' }] });
    h.ddb.on(UpdateCommand, { TableName: TABLES.deliveries }).resolves({});
    const response = await h.call('DELETE', `/fleets/${FLEET}/webhooks/${record.id}`);
    expect(response.status).toBe(204);
    expect(response.raw).toBe('');
    // Nothing of the secret lives anywhere but on the deleted item: no Secrets Manager call at all.
    expect(h.sm.calls()).toHaveLength(0);
    expect(h.ddb.commandCalls(DeleteCommand)[0]!.args[0].input.Key).toEqual({ fleetId: FLEET, id: record.id });
    const ended = h.ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(ended).toMatchObject({ Key: { id: 'dlv_1' }, ExpressionAttributeValues: { ':disabled': 'disabled' } });
  });

  it('is 404 when the webhook does not exist (a retried delete) or the id is not a webhook id', async () => {
    h.ddb.on(DeleteCommand).resolves({});
    expect((await h.call('DELETE', `/fleets/${FLEET}/webhooks/${subscription().id}`)).status).toBe(404);
    expect((await h.call('DELETE', `/fleets/${FLEET}/webhooks/not-an-id`)).status).toBe(404);
    expect(h.ddb.commandCalls(DeleteCommand)).toHaveLength(1);
  });
});

describe('POST /fleets/{fleetId}/webhooks/{id}/rotate', () => {
  const OLD = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;

  /** Answers the conditional replace like DynamoDB: only while the stored sealed secret is the expected one. */
  function storeRotations(initial: SubscriptionRecord) {
    let stored = initial;
    h.ddb.on(GetCommand, { TableName: TABLES.subscriptions }).callsFake(() => ({ Item: stored }));
    h.ddb.on(UpdateCommand, { TableName: TABLES.subscriptions }).callsFake((input: { ExpressionAttributeValues: Record<string, string> }) => {
      const values = input.ExpressionAttributeValues;
      if (values[':expected'] !== stored.sealedSecret) {
        throw Object.assign(new Error('conditional'), { name: 'ConditionalCheckFailedException' });
      }
      const { sealedPreviousSecret: _p, previousSecretExpiresAt: _e, ...rest } = stored;
      stored = {
        ...rest,
        sealedSecret: values[':secret']!,
        ...(values[':previous'] === undefined ? {} : { sealedPreviousSecret: values[':previous'], previousSecretExpiresAt: values[':previousExpiresAt']! }),
        updatedAt: values[':now']!,
      };
      return { Attributes: stored };
    });
    return { current: () => stored, replace: (next: SubscriptionRecord) => (stored = next) };
  }

  it('seals the new secret with the old one kept for the grace period, and returns only the new one', async () => {
    const record = subscription({ ...sealedSecrets(FLEET, 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CD', { current: OLD }), id: 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CD' });
    const store = storeRotations(record);
    const response = await h.call('POST', `/fleets/${FLEET}/webhooks/${record.id}/rotate`);
    expect(response.status).toBe(200);
    expect(response.body.secret).toMatch(/^whsec_/);
    expect(response.body.secret).not.toBe(OLD);
    for (const hidden of ['sealedSecret', 'sealedPreviousSecret', 'previousSecretExpiresAt']) expect(response.body).not.toHaveProperty(hidden);
    expect(response.raw).not.toContain(OLD);
    expect(openSigningSecrets(TEST_KEY_RING, store.current())).toEqual({
      current: response.body.secret,
      previous: OLD,
      previousExpiresAt: new Date(NOW.getTime() + 24 * 3_600_000).toISOString(),
    });
    const update = h.ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(update.ConditionExpression).toBe('sealedSecret = :expected');
    expect(update.ExpressionAttributeValues).toMatchObject({ ':expected': record.sealedSecret });
    // The secret stays out of every log line.
    expect(JSON.stringify(h.logs)).not.toContain(response.body.secret);
  });

  it('rotates on top of a rotation that landed meanwhile, so the secret that one showed keeps its grace', async () => {
    const id = 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CE';
    const record = subscription({ ...sealedSecrets(FLEET, id, { current: OLD }), id });
    const store = storeRotations(record);
    // Another request rotated to TEST_SIGNING_SECRET between this one's read and its write.
    let raced = false;
    h.ddb.on(GetCommand, { TableName: TABLES.subscriptions }).callsFake(() => {
      const item = store.current();
      if (!raced) {
        raced = true;
        store.replace(subscription({ ...sealedSecrets(FLEET, id, { current: TEST_SIGNING_SECRET, previous: OLD, previousExpiresAt: '2024-05-11T12:00:00.000Z' }), id }));
      }
      return { Item: item };
    });
    const response = await h.call('POST', `/fleets/${FLEET}/webhooks/${id}/rotate`);
    expect(response.status).toBe(200);
    const opened = openSigningSecrets(TEST_KEY_RING, store.current());
    expect(opened.current).toBe(response.body.secret);
    expect(opened.previous).toBe(TEST_SIGNING_SECRET);
    expect(h.ddb.commandCalls(UpdateCommand)).toHaveLength(2);
  });

  it('is 409 naming secret when other rotations keep landing first, and 404 when the webhook is gone', async () => {
    const id = 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CF';
    const record = subscription({ ...sealedSecrets(FLEET, id, { current: OLD }), id });
    h.ddb.on(GetCommand, { TableName: TABLES.subscriptions }).callsFake(() => ({ Item: subscription({ ...sealedSecrets(FLEET, id, { current: OLD }), id }) }));
    h.ddb.on(UpdateCommand, { TableName: TABLES.subscriptions }).rejects(Object.assign(new Error('c'), { name: 'ConditionalCheckFailedException' }));
    const busy = await h.call('POST', `/fleets/${FLEET}/webhooks/${record.id}/rotate`);
    expect(busy.status).toBe(409);
    expect(busy.body.error.details).toEqual([{ field: 'secret', reason: 'changed by a concurrent rotation' }]);
    expect(h.ddb.commandCalls(UpdateCommand)).toHaveLength(3);

    h.ddb.on(GetCommand, { TableName: TABLES.subscriptions }).resolvesOnce({ Item: record }).resolves({});
    expect((await h.call('POST', `/fleets/${FLEET}/webhooks/${record.id}/rotate`)).status).toBe(404);
  });

  it('replaces a stored secret that cannot be opened, with no grace period, naming no secret in the log', async () => {
    const id = 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CG';
    // Sealed for another subscription: it authenticates for nobody here.
    const record = subscription({ ...sealedSecrets(FLEET, 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CH', { current: OLD }), id });
    const store = storeRotations(record);
    const response = await h.call('POST', `/fleets/${FLEET}/webhooks/${id}/rotate`);
    expect(response.status).toBe(200);
    expect(openSigningSecrets(TEST_KEY_RING, store.current())).toEqual({ current: response.body.secret });
    const line = h.logs.find((entry) => entry.level === 'error');
    expect(line?.message).toMatch(/could not be opened/);
    expect(JSON.stringify(h.logs)).not.toContain(OLD);
  });

  it('gives a subscription stored without a sealed secret one on rotation (no grace: there is nothing to keep)', async () => {
    const id = 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CK';
    const { sealedSecret: _s, ...legacy } = subscription({ id });
    h.ddb.on(GetCommand, { TableName: TABLES.subscriptions }).resolves({ Item: legacy });
    h.ddb.on(UpdateCommand, { TableName: TABLES.subscriptions }).callsFake((input: { ExpressionAttributeValues: Record<string, string> }) => ({
      Attributes: { ...legacy, sealedSecret: input.ExpressionAttributeValues[':secret'] },
    }));
    const response = await h.call('POST', `/fleets/${FLEET}/webhooks/${id}/rotate`);
    expect(response.status).toBe(200);
    const update = h.ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(update.ConditionExpression).toBe('attribute_exists(id) AND attribute_not_exists(sealedSecret)');
    expect(update.ExpressionAttributeValues).not.toHaveProperty(':expected');
    expect(openSigningSecrets(TEST_KEY_RING, { ...legacy, sealedSecret: update.ExpressionAttributeValues![':secret'] as string })).toEqual({ current: response.body.secret });
  });

  it('re-seals under the newest key version after a key rotation', async () => {
    const ring = addKeyVersion(TEST_KEY_RING);
    h.sm.on(GetSecretValueCommand).resolves({ SecretString: formatKeyRing(ring) });
    const id = 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CJ';
    const store = storeRotations(subscription({ ...sealedSecrets(FLEET, id, { current: OLD }), id }));
    expect((await h.call('POST', `/fleets/${FLEET}/webhooks/${id}/rotate`)).status).toBe(200);
    expect(store.current().sealedSecret).toMatch(/^v1\.2\./);
    expect(openSigningSecrets(ring, store.current()).previous).toBe(OLD);
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
    expect(event).toMatchObject({ fleetId: FLEET, id: response.body.eventId, type: 'webhook.test', fannedOutAt: NOW.toISOString() });
    expect(h.sent(QUEUES.eventsUrl)).toEqual([]);
    expect(h.sent(QUEUES.deliveriesUrl)).toEqual([
      {
        v: 1,
        deliveryId: response.body.deliveryId,
        fleetId: FLEET,
        subscriptionId: record.id,
        event: { id: response.body.eventId, type: 'webhook.test', timestamp: NOW.toISOString(), data: expect.any(Object) },
        reason: 'test',
        nonce: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/),
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
