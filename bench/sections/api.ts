import { performance } from 'node:perf_hooks';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Pool } from 'undici';
import { deliveryIdFor, newTokenId } from '../../lambdas/core/ids';
import { formatApiToken, generateApiTokenSecret } from '../../lambdas/core/secrets';
import { DeliveriesStore } from '../../lambdas/shared/deliveries-store';
import { TokensStore } from '../../lambdas/shared/tokens-store';
import { startApiServer } from '../../local/api-server';
import { registerDevToken } from '../../local/dev-token';
import type { LocalLogger } from '../../local/logger';
import { startLocalRuntime } from '../../local/runtime';
import type { SectionRequest } from '../child';
import { figure } from '../results';
import { deadline, type SectionOutcome } from '../section';
import { summarize } from '../stats';

/**
 * Section 5: the API Lambda's entry module (lambdas/api/handler.ts) behind the local API Gateway stand-in, against
 * dynalite and the Secrets Manager stand-in, one request at a time — divided by a raw DynamoDB
 * GetItem against the same dynalite, interleaved with them in the same loop.
 */

const FLEET = 'bench-fleet';
const PREFILLED_DELIVERIES = 25;
const WARMUP = 20;
const quiet: LocalLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message) => process.stderr.write(`${message}\n`),
  error: (message) => process.stderr.write(`${message}\n`),
};

export async function runApiSection({ options }: SectionRequest): Promise<SectionOutcome> {
  const runtime = await startLocalRuntime({ settings: { allowPrivateTargets: ['127.0.0.0/8'] }, logger: quiet });
  const cleanup: (() => Promise<unknown>)[] = [() => runtime.stop()];
  try {
    runtime.applyEnv();
    process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
    const { handler } = await import('../../lambdas/api/handler');
    const server = await startApiServer({ handler, port: 0 });
    cleanup.unshift(() => server.close());
    const dynamo = new DynamoDBClient({ region: runtime.region, endpoint: runtime.endpoints.dynamodb, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
    cleanup.unshift(async () => dynamo.destroy());
    const doc = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
    const token = formatApiToken(newTokenId(), generateApiTokenSecret());
    await registerDevToken(new TokensStore(doc, runtime.tables.tokens), token);
    const pool = new Pool(server.url, { connections: 1 });
    cleanup.unshift(() => pool.close());

    const call = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
      const response = await pool.request({
        method,
        path,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.statusCode, json: (await response.body.json()) as Record<string, unknown> };
    };
    let created = 0;
    const create = async () => {
      created += 1;
      const answer = await call('POST', `/fleets/${FLEET}/webhooks`, { url: `http://127.0.0.1:9/hooks/${created}`, events: ['thread.completed'] });
      if (answer.status !== 201 || typeof answer.json.secret !== 'string') throw new Error(`create-subscription answered ${answer.status}: ${JSON.stringify(answer.json).slice(0, 200)}`);
      return answer.json.id as string;
    };

    const subscriptionId = await create();
    const deliveries = new DeliveriesStore(doc, runtime.tables.deliveries);
    for (let index = 0; index < PREFILLED_DELIVERIES; index += 1) {
      const at = new Date(Date.now() - index * 1_000).toISOString();
      const eventId = `evt_prefill_${index}`;
      const id = deliveryIdFor(FLEET, eventId, subscriptionId, at);
      const expiresAt = Math.floor(Date.now() / 1000) + 86_400;
      await deliveries.claim({ id, round: '0', attempt: 1, holder: `prefill-${index}`, leaseUntil: Date.now() + 60_000, now: Date.now(), newRound: true, expiresAt });
      await deliveries.recordAttempt({
        identity: { id, fleetId: FLEET, subscriptionId, eventId, eventType: 'thread.completed', webhookUrl: 'http://127.0.0.1:9/hooks/1' },
        round: '0',
        holder: `prefill-${index}`,
        attempt: { round: 1, attempt: 1, at, statusCode: 200, latencyMs: 12, responseContentLength: 2 },
        status: 'succeeded',
        now: at,
        expiresAt: Math.floor(Date.now() / 1000) + 86_400,
      });
    }
    const list = async () => {
      const answer = await call('GET', `/fleets/${FLEET}/webhooks/${subscriptionId}/deliveries`);
      const items = answer.json.data;
      if (answer.status !== 200 || !Array.isArray(items) || items.length === 0) throw new Error(`list-deliveries answered ${answer.status}: ${JSON.stringify(answer.json).slice(0, 200)}`);
    };
    const getItem = async () => {
      const result = await dynamo.send(new GetItemCommand({ TableName: runtime.tables.subscriptions, Key: { fleetId: { S: FLEET }, id: { S: subscriptionId } } }));
      if (result.Item === undefined) throw new Error('GetItem found no subscription');
    };

    for (let index = 0; index < WARMUP; index += 1) {
      await create();
      await list();
      await getItem();
    }
    const samples = { create: [] as number[], list: [] as number[], getItem: [] as number[] };
    const timed = async (into: number[], run: () => Promise<unknown>) => {
      const started = performance.now();
      await run();
      into.push(performance.now() - started);
    };
    const limit = deadline(options.loopTimeLimitMs);
    // Interleaved, so the three see the same machine at the same moments.
    for (let index = 0; index < options.apiRequests && !limit.expired(); index += 1) {
      await timed(samples.create, create);
      await timed(samples.list, list);
      await timed(samples.getItem, getItem);
    }
    const createStats = summarize(samples.create);
    const listStats = summarize(samples.list);
    const getStats = summarize(samples.getItem);
    const base = 'raw GetItem';
    return {
      title: 'API latency (the API handler behind the local API Gateway front, dynalite)',
      figures: [
        figure({ id: 'api.create.p50', label: 'create-subscription p50', value: createStats.p50, unit: 'ms', baselineLabel: base, baselineValue: getStats.p50 }),
        figure({ id: 'api.create.p99', label: 'create-subscription p99', value: createStats.p99, unit: 'ms', baselineLabel: base, baselineValue: getStats.p99 }),
        figure({ id: 'api.list.p50', label: 'list-deliveries p50', value: listStats.p50, unit: 'ms', baselineLabel: base, baselineValue: getStats.p50 }),
        figure({ id: 'api.list.p99', label: 'list-deliveries p99', value: listStats.p99, unit: 'ms', baselineLabel: base, baselineValue: getStats.p99 }),
      ],
      notes: [
        `${samples.create.length} requests of each, one at a time over a keep-alive connection, interleaved with the GetItems; ${WARMUP} of each first as warm-up`,
        'create-subscription = HTTP front → auth → validation → URL check → CreateSecret + PutItem; list-deliveries = a Query of the bySubscription index',
        `list-deliveries reads a page of ${PREFILLED_DELIVERIES} prefilled deliveries; the GetItem reads one subscription item with the SDK's low-level client`,
      ],
      details: { create: createStats, list: listStats, getItem: getStats },
    };
  } finally {
    for (const close of cleanup) await close().catch(() => undefined);
  }
}
