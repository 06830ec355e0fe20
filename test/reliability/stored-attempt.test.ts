import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { itemSize } from '../../bench/dynamo-capacity';
import { MAX_BODY_EXCERPT_BYTES, MAX_STORED_HEADER_BYTES } from '../../lambdas/core/attempt-excerpt';
import { startPipeline, type Pipeline } from '../../local/pipeline';
import { startApiStack, type ApiStack, type IssuedToken } from './support/api-stack';
import { FaultReceiver } from './support/fault-receiver';
import { tableResolver } from './support/resolver';
import { waitFor } from './support/subscriptions';
import { gatewayResponseHeaders } from '../support/gateway-headers';

/**
 * What a delivery stores of an endpoint's answer, end to end (API → fan-out → dispatcher → a real
 * endpoint on 127.0.0.1 → the API): a typical JSON answer with 16 headers keeps its delivery item
 * within one DynamoDB write unit, a large answer is cut to the excerpt caps, and the API still shows
 * each attempt's status, headers, body excerpt and latency.
 */

let stack: ApiStack;
let pipeline: Pipeline;
let receiver: FaultReceiver;
let token: IssuedToken;
let dynamo: DynamoDBClient;

beforeAll(async () => {
  receiver = new FaultReceiver();
  await receiver.start();
  const resolver = tableResolver({ localhost: ['127.0.0.1'] });
  stack = await startApiStack({ settings: { allowPrivateTargets: ['127.0.0.0/8'] }, resolve: resolver, logLevel: 'WARN' });
  pipeline = startPipeline(stack.runtime, { resolver, waitTimeSeconds: 1 });
  token = await stack.issueToken(['*']);
  dynamo = new DynamoDBClient({});
}, 60_000);

afterAll(async () => {
  dynamo?.destroy();
  await pipeline?.stop();
  await stack?.stop();
  await receiver?.stop();
});


/** Creates a webhook answering `answer`, publishes one event, and waits for its delivery to end. */
async function deliverOnce(fleet: string, status: number, body: Buffer, extra: Record<string, unknown> = {}) {
  const path = `/${fleet}`;
  const created = await stack.call('POST', `/fleets/${fleet}/webhooks`, {
    token: token.token,
    body: { url: receiver.endpoint(path, () => ({ status, headers: gatewayResponseHeaders(body), body })), ...extra },
  });
  expect(created.status).toBe(201);
  const published = await stack.call('POST', `/fleets/${fleet}/events`, { token: token.token, body: { type: 'thread.completed', data: { n: 1 } } });
  expect(published.status).toBe(202);
  const listed = await waitFor(`the delivery of ${fleet}`, async () => {
    const page = await stack.call('GET', `/fleets/${fleet}/webhooks/${created.body.id}/deliveries`, { token: token.token });
    const [item] = page.body.data ?? [];
    return item !== undefined && item.status !== 'pending' ? item : undefined;
  });
  const shown = await stack.call('GET', `/fleets/${fleet}/deliveries/${listed.id}`, { token: token.token });
  expect(shown.status).toBe(200);
  const raw = await dynamo.send(new GetItemCommand({ TableName: stack.runtime.tables.deliveries, Key: { id: { S: listed.id } }, ConsistentRead: true }));
  if (raw.Item === undefined) throw new Error(`no item for ${listed.id}`);
  return { shown: shown.body, item: raw.Item };
}

describe('stored attempts', { timeout: 30_000 }, () => {
  it('a typical JSON answer with 16 headers keeps its delivery item within one write unit, and the API shows its excerpts', async () => {
    const body = Buffer.from(JSON.stringify({ received: true, id: 'req_1e84260ed5f140a9a8a6', processedAt: new Date().toISOString() }));
    const { shown, item } = await deliverOnce('stored-typical', 200, body);
    expect(itemSize(item)).toBeLessThanOrEqual(1_024);
    // The headers are stored once, in the attempt.
    expect(item.responseHeaders).toBeUndefined();
    expect(shown.status).toBe('succeeded');
    const [attempt] = shown.attempts;
    expect(attempt).toMatchObject({ round: 1, attempt: 1, statusCode: 200, responseContentLength: body.length, responseBodyExcerpt: body.toString() });
    expect(attempt.latencyMs).toBeGreaterThanOrEqual(0);
    expect(attempt.responseHeaders).toMatchObject({ 'content-type': 'application/json; charset=utf-8', 'x-request-id': '1e84260e-d5f1-40a9-a8a6-1c23a5e168be' });
    expect(attempt.responseHeaders).not.toHaveProperty('strict-transport-security');
    // The delivery shows its latest attempt's headers, as it did when they were stored twice.
    expect(shown.responseHeaders).toEqual(attempt.responseHeaders);
  });

  it('a large error answer is cut to the excerpt caps, and the API shows the excerpt and the error', async () => {
    const body = Buffer.from(`<html><body>${'<p>Service unavailable</p>'.repeat(2_000)}</body></html>`);
    const { shown, item } = await deliverOnce('stored-large', 500, body, { maxAttempts: 1 });
    expect(shown.status).toBe('failed');
    const [attempt] = shown.attempts;
    expect(attempt).toMatchObject({ statusCode: 500, errorKind: 'http', errorMessage: 'endpoint answered HTTP 500', responseContentLength: body.length });
    expect(attempt.responseBodyExcerpt).toBe(body.subarray(0, MAX_BODY_EXCERPT_BYTES).toString());
    const headerBytes = Object.entries(attempt.responseHeaders as Record<string, string>).reduce((sum, [name, value]) => sum + name.length + value.length, 0);
    expect(headerBytes).toBeLessThanOrEqual(MAX_STORED_HEADER_BYTES);
    expect(shown.errorMessage).toBe('endpoint answered HTTP 500');
    // Identity and summary (under 1 KB, as above) plus one attempt's excerpts at their caps: three write
    // units per later write of the item, not the six that a 4 KB body and 2 KB of headers took.
    expect(itemSize(item)).toBeLessThanOrEqual(1_024 + MAX_BODY_EXCERPT_BYTES + MAX_STORED_HEADER_BYTES);
  });
});
