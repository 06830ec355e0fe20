import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryIdFor } from '../../lambdas/core/ids';
import { isQueueSafe } from '../../lambdas/core/queue-encoding';
import { createSqsClient } from '../../lambdas/shared/clients';
import { encodeCursor } from '../../lambdas/shared/cursor';
import { eventTimeKey } from '../../lambdas/shared/events-store';
import { startApiStack, type ApiStack } from './support/api-stack';
import { PUBLIC_V4, tableResolver } from './support/resolver';

/**
 * Input from outside the generators' reach, one case per class of hostile request: each one once
 * answered 500 or was silently honoured. Every answer here is a 2xx or a 4xx naming the field.
 */

const FLEET = 'fleet-hostile';
let stack: ApiStack;
let token: string;
let webhookId: string;
let sqs: SQSClient;

/** Strings SQS or a stand-in refuses, or that JSON.stringify escapes itself. */
const HOSTILE_TEXT = {
  nonCharacters: '\ufffe\uffff',
  emoji: '🙂 and 𝄞',
  loneHigh: 'a\ud800b',
  loneLow: '\udfff',
  controls: '\u0000\u0001\u001f\u007f\u0085',
  lineSeparators: '\u2028\u2029',
  bom: '\ufeff',
  privateUse: '\ue000\uf8ff\u{10ffff}',
};

beforeAll(async () => {
  stack = await startApiStack({ resolve: tableResolver({ 'example.com': [PUBLIC_V4] }) });
  token = (await stack.issueToken([FLEET])).token;
  sqs = createSqsClient();
  const created = await stack.call('POST', `/fleets/${FLEET}/webhooks`, { token, body: { url: 'https://example.com/hook' } });
  expect(created.status).toBe(201);
  webhookId = created.body.id;
}, 60_000);

afterAll(async () => {
  sqs?.destroy();
  await stack?.stop();
});

async function drain(queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (let round = 0; round < 20; round += 1) {
    const result = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    const messages = result.Messages ?? [];
    if (messages.length === 0) break;
    bodies.push(...messages.map((message) => message.Body ?? ''));
  }
  return bodies;
}

function expectNamed(answer: { status: number; body: any }, status: number, field: string): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.body.error.details.map((detail: { field: string }) => detail.field)).toContain(field);
}

describe('event data with characters SQS refuses', () => {
  it('is accepted, stored once and enqueued with every such character escaped; JSON.parse restores it exactly', async () => {
    await drain(stack.runtime.queues.eventsUrl);
    const data = { ...HOSTILE_TEXT, [HOSTILE_TEXT.emoji]: HOSTILE_TEXT.nonCharacters, nested: [HOSTILE_TEXT.loneHigh, { k: HOSTILE_TEXT.emoji }] };
    const answer = await stack.call('POST', `/fleets/${FLEET}/events`, { token, body: { type: 'thread.completed', data, id: 'evt-unicode' } });
    expect(answer.status, answer.raw).toBe(202);

    const [body, ...others] = await drain(stack.runtime.queues.eventsUrl);
    expect(others).toEqual([]);
    if (body === undefined) throw new Error('no message on the events queue');
    // The bytes the consumer receives: only characters every SQS accepts, U+FFFE/U+FFFF and astral ones as escapes.
    expect(isQueueSafe(body)).toBe(true);
    expect(body).toContain('\\ufffe\\uffff');
    expect(body).toContain('\\ud83d\\ude42');
    expect(body).toContain('a\\ud800b');
    const message = JSON.parse(body) as { event: { data: unknown } };
    expect(message.event.data).toEqual(data);
    // The envelope a dispatcher builds from it is the one built from the producer's data.
    expect(JSON.stringify(message.event.data)).toBe(JSON.stringify(data));

    const stored = await stack.events.get(FLEET, 'evt-unicode');
    expect(stored?.data).toEqual(data);
  });

  it('a replay over a range holding such an event enqueues it instead of failing the range', async () => {
    const timestamp = new Date(Date.now() - 120_000).toISOString();
    for (const [index, text] of Object.values(HOSTILE_TEXT).entries()) {
      const id = `evt-replay-${index}`;
      await stack.events.putIfAbsent({
        fleetId: FLEET,
        id,
        type: 'thread.completed',
        timestamp,
        data: { text },
        timeKey: eventTimeKey(timestamp, id),
        source: 'api',
        fannedOutAt: timestamp,
        expiresAt: 2_000_000_000,
      });
    }
    await drain(stack.runtime.queues.deliveriesUrl);
    const answer = await stack.call('POST', `/fleets/${FLEET}/webhooks/${webhookId}/replay`, {
      token,
      body: { since: new Date(Date.now() - 3_600_000).toISOString(), until: new Date().toISOString() },
    });
    expect(answer.status, answer.raw).toBe(202);
    expect(answer.body.enqueued).toBeGreaterThanOrEqual(Object.keys(HOSTILE_TEXT).length);
    const bodies = await drain(stack.runtime.queues.deliveriesUrl);
    const texts = bodies.map((body) => (JSON.parse(body) as { event: { data: { text?: string } } }).event.data.text);
    for (const text of Object.values(HOSTILE_TEXT)) expect(texts).toContain(text);
    const ids = bodies.map((body) => (JSON.parse(body) as { deliveryId: string }).deliveryId);
    expect(ids).toContain(deliveryIdFor(FLEET, 'evt-replay-0', webhookId, timestamp));
  });
});

describe('numbers JavaScript cannot hold exactly', () => {
  it.each([
    ['{"type":"thread.completed","data":{"amount":123456789012345678901234567890}}', 'data.amount'],
    ['{"type":"thread.completed","data":{"big":1e400}}', 'data.big'],
    ['{"type":"thread.completed","data":{"tiny":1e-400}}', 'data.tiny'],
    ['{"type":"thread.completed","data":{"ids":[1,9007199254740993]}}', 'data.ids[1]'],
    ['{"type":"thread.completed","data":{"p":0.10000000000000000001}}', 'data.p'],
  ])('%s is refused with a 400 naming %s, and nothing is stored', async (rawBody, field) => {
    const before = await stack.events.listByTime(FLEET, { since: '2000-01-01T00:00:00.000Z', until: '2100-01-01T00:00:00.000Z' }, { limit: 100 });
    const answer = await stack.call('POST', `/fleets/${FLEET}/events`, { token, rawBody });
    expectNamed(answer, 400, field);
    const after = await stack.events.listByTime(FLEET, { since: '2000-01-01T00:00:00.000Z', until: '2100-01-01T00:00:00.000Z' }, { limit: 100 });
    expect(after.items.length).toBe(before.items.length);
  });

  it('numbers that survive JSON.parse unchanged are accepted', async () => {
    const answer = await stack.call('POST', `/fleets/${FLEET}/events`, {
      token,
      rawBody: '{"type":"thread.completed","data":{"a":1.0,"b":1e2,"c":0.1,"d":9007199254740992,"e":-0,"f":1.7976931348623157e308,"g":"123456789012345678901234567890"}}',
    });
    expect(answer.status, answer.raw).toBe(202);
  });
});

describe('forged cursors', () => {
  const keysOf = {
    webhooks: (value: string) => ({ fleetId: FLEET, id: value }),
    deliveries: (value: string) => ({ id: value, subscriptionId: webhookId, createdKey: value }),
  };

  it.each([
    ['a key longer than DynamoDB allows', 'k'.repeat(1_100)],
    ['a key of multibyte characters over 1024 bytes', 'é'.repeat(600)],
    ['a lone surrogate', '\ud800'],
  ])('%s → 400 naming cursor on both lists', async (_what, value) => {
    const webhooks = await stack.call('GET', `/fleets/${FLEET}/webhooks`, { token, query: { cursor: encodeCursor(keysOf.webhooks(value)) as string } });
    expectNamed(webhooks, 400, 'cursor');
    const deliveries = await stack.call('GET', `/fleets/${FLEET}/webhooks/${webhookId}/deliveries`, {
      token,
      query: { cursor: encodeCursor(keysOf.deliveries(value)) as string },
    });
    expectNamed(deliveries, 400, 'cursor');
  });

  it('a cursor outside the query range, padded or re-encoded → 400 naming cursor', async () => {
    const key = { id: 'dlv_01JNKV3Y0RZ8W5T2P4M6Q9B7CD', subscriptionId: webhookId, createdKey: '2001-01-01T00:00:00.000Z#dlv_x' };
    const outside = await stack.call('GET', `/fleets/${FLEET}/webhooks/${webhookId}/deliveries`, {
      token,
      query: { cursor: encodeCursor(key) as string, since: '2020-01-01T00:00:00Z', until: '2030-01-01T00:00:00Z' },
    });
    expectNamed(outside, 400, 'cursor');
    const spaced = Buffer.from(JSON.stringify(key, null, 1)).toString('base64url');
    expectNamed(await stack.call('GET', `/fleets/${FLEET}/webhooks/${webhookId}/deliveries`, { token, query: { cursor: spaced } }), 400, 'cursor');
  });
});

describe('routes that take no body', () => {
  const routes = () => [
    ['POST', `/fleets/${FLEET}/webhooks/${webhookId}/rotate`],
    ['POST', `/fleets/${FLEET}/webhooks/${webhookId}/test`],
    ['POST', `/fleets/${FLEET}/deliveries/dlv_01JNKV3Y0RZ8W5T2P4M6Q9B7CD/retry`],
    ['DELETE', `/fleets/${FLEET}/webhooks/wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CD`],
    ['GET', `/fleets/${FLEET}/webhooks/${webhookId}`],
  ] as const;

  it('refuse unknown fields with a 400 naming each, before acting', async () => {
    const before = await stack.subscriptions.get(FLEET, webhookId, true);
    for (const [method, path] of routes()) {
      const answer = await stack.call(method, path, { token, body: { graceHours: 0 } });
      expectNamed(answer, 400, 'graceHours');
    }
    const after = await stack.subscriptions.get(FLEET, webhookId, true);
    expect(after?.sealedSecret).toBe(before?.sealedSecret);
  });

  it('refuse malformed JSON and non-object bodies naming body', async () => {
    for (const [method, path] of routes()) {
      for (const rawBody of ['{', 'null', '[]', '"x"', '0']) {
        expectNamed(await stack.call(method, path, { token, rawBody }), 400, 'body');
      }
    }
  });

  it('accept no body and an empty object', async () => {
    const rotated = await stack.call('POST', `/fleets/${FLEET}/webhooks/${webhookId}/rotate`, { token, rawBody: '{}' });
    expect(rotated.status, rotated.raw).toBe(200);
    const again = await stack.call('POST', `/fleets/${FLEET}/webhooks/${webhookId}/rotate`, { token });
    expect(again.status, again.raw).toBe(200);
    const read = await stack.call('GET', `/fleets/${FLEET}/webhooks/${webhookId}`, { token, rawBody: ' \n' });
    expect(read.status, read.raw).toBe(200);
  });
});

describe('endpoint URLs and custom headers', () => {
  it('refuses port 0', async () => {
    expectNamed(await stack.call('POST', `/fleets/${FLEET}/webhooks`, { token, body: { url: 'https://example.com:0/hook' } }), 400, 'url');
  });

  it.each(['content-encoding', 'Content-Encoding', 'transfer-encoding', 'TE', 'content-length', 'proxy-authorization', 'keep-alive', 'x-http-method-override'])(
    'refuses the custom header %s naming headers.<name>',
    async (name) => {
      const answer = await stack.call('POST', `/fleets/${FLEET}/webhooks`, { token, body: { url: 'https://example.com/hook', headers: { [name]: 'gzip' } } });
      expectNamed(answer, 400, `headers.${name}`);
    },
  );
});
