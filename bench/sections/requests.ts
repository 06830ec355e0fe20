import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { FUNCTION_MEMORY_MB } from '../../lib/functions';
import { newSubscriptionId } from '../../lambdas/core/ids';
import { generateSigningSecret } from '../../lambdas/core/secrets';
import { DELIVERIES_TABLE, EVENTS_TABLE, SUBSCRIPTIONS_TABLE, TOKENS_TABLE, type TableSchema } from '../../lambdas/core/table-schema';
import { ENV } from '../../lambdas/shared/environment';
import { SealingKeys } from '../../lambdas/shared/sealing-keys';
import { SigningSecrets } from '../../lambdas/shared/signing-secrets';
import { SubscriptionsStore } from '../../lambdas/shared/subscriptions-store';
import { createLambdaContext } from '../../local/lambda-context';
import type { LocalLogger } from '../../local/logger';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { startAwsMeter, type AwsMeter, type MeterCounts } from '../aws-meter';
import { itemSize } from '../dynamo-capacity';
import type { SectionRequest } from '../child';
import { addUsage, apiDestinationsCost, costOf, gbSeconds, monthlyCostTable, NO_USAGE, scaleUsage, type Usage } from '../cost';
import { PRICE_REGION, PRICES, PRICES_AS_OF } from '../prices';
import { figure, type Figure } from '../results';
import { deadline, type SectionOutcome } from '../section';
import { gatewayResponseHeaders } from '../../test/support/gateway-headers';
import { dataForEnvelopeSize } from '../workload';

/**
 * Section 4: what one event and one delivery cost in AWS requests, counted on the real pipeline —
 * EventBridge PutEvents → events queue → fan-out Lambda → deliveries queue → dispatcher Lambda →
 * endpoint — running on the local stand-ins behind a metering proxy, then priced at list prices
 * next to EventBridge API destinations doing the same deliveries.
 */

const SQS_CHUNK = PRICES.sqsChunkBytes;
const quiet: LocalLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message) => process.stderr.write(`${message}\n`),
  error: (message) => process.stderr.write(`${message}\n`),
};

interface StageRun {
  invocations: number;
  records: number;
  durationsMs: number[];
  /** ReceiveMessage calls that returned messages, in billed 64 KB chunks. */
  receiveRequests: number;
  deleteRequests: number;
}

interface Scenario {
  name: string;
  subscriptions: number;
  events: number;
  deliveries: number;
  attempts: number;
  putEventsCalls: number;
  perEvent: Usage;
  perDelivery: Usage;
  /** Per delivery, everything included: its share of the event plus its own dispatch. */
  total: Usage;
  fanoutCounts: MeterCounts;
  dispatchCounts: MeterCounts;
  /** Sizes of the scenario's delivery items once done, as DynamoDB bills them. */
  storedItem?: { count: number; meanBytes: number; maxBytes: number };
}

/** The delivery items of a fleet as stored (read past the meter): how large DynamoDB counts them. */
async function storedItemSizes(dynamo: DynamoDBClient, tableName: string, fleetId: string): Promise<Scenario['storedItem']> {
  const sizes: number[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamo.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'fleetId = :fleetId',
        ExpressionAttributeValues: { ':fleetId': { S: fleetId } },
        ExclusiveStartKey: startKey,
      }),
    );
    sizes.push(...(page.Items ?? []).map((item) => itemSize(item)));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  if (sizes.length === 0) return undefined;
  return { count: sizes.length, meanBytes: Math.round(sizes.reduce((sum, size) => sum + size, 0) / sizes.length), maxBytes: Math.max(...sizes) };
}

/** Secrets Manager secrets counted around the creation of this run's subscriptions. */
interface SecretStorage {
  subscriptions: number;
  secretsBefore: number;
  secretsAfter: number;
}

/** Deployment sizes the per-subscription storage cost is printed for. */
const SUBSCRIPTION_COUNTS = [1_000, 10_000, 100_000] as const;

/**
 * Secrets Manager storage per subscription-month at `count` subscriptions, from a layout of
 * `fixed` secrets per deployment plus `perSubscription` secrets for each subscription.
 */
function secretsPerSubscriptionMonth(fixed: number, perSubscription: number, count: number): number {
  return ((fixed + perSubscription * count) * PRICES.secretsManagerSecretMonth) / count;
}

async function countSecrets(client: SecretsManagerClient): Promise<number> {
  let count = 0;
  let token: string | undefined;
  do {
    const page = await client.send(new ListSecretsCommand({ MaxResults: 100, ...(token === undefined ? {} : { NextToken: token }) }));
    count += page.SecretList?.length ?? 0;
    token = page.NextToken;
  } while (token !== undefined);
  return count;
}

interface Harness {
  options: SectionRequest['options'];
  runtime: LocalRuntime;
  meter: AwsMeter;
  sqs: SQSClient;
  eventBridge: EventBridgeClient;
  receiver: TestEndpoint;
  fanout: (typeof import('../../lambdas/fanout/handler'))['handler'];
  dispatcher: (typeof import('../../lambdas/dispatcher/handler'))['handler'];
  data: object;
}

export async function runRequestsSection({ options }: SectionRequest): Promise<SectionOutcome> {
  const runtime = await startLocalRuntime({
    // The breaker off: this section counts what deliveries and their retries cost; the retried
    // scenario fails every first attempt, which would open the circuits and turn retries into waits.
    settings: { allowPrivateTargets: ['127.0.0.0/8'], retryDelaysSeconds: [0], retryJitter: 0, circuitBreakerThreshold: 0 },
    logger: quiet,
    queueVisibilitySeconds: { events: 60, deliveries: 60 },
  });
  const cleanup: (() => Promise<unknown>)[] = [() => runtime.stop()];
  try {
    const tables = new Map<string, TableSchema>([
      [runtime.tables.subscriptions, SUBSCRIPTIONS_TABLE],
      [runtime.tables.events, EVENTS_TABLE],
      [runtime.tables.deliveries, DELIVERIES_TABLE],
      [runtime.tables.tokens, TOKENS_TABLE],
    ]);
    const meter = await startAwsMeter(runtime.endpoints, tables, runtime.region);
    cleanup.unshift(() => meter.close());
    const metered = (url: string) => url.replace(runtime.endpoints.sqs, meter.endpoints.sqs);
    Object.assign(process.env, {
      ...runtime.env,
      AWS_ENDPOINT_URL_DYNAMODB: meter.endpoints.dynamodb,
      AWS_ENDPOINT_URL_SQS: meter.endpoints.sqs,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: meter.endpoints.secretsManager,
      [ENV.eventsQueueUrl]: metered(runtime.queues.eventsUrl),
      [ENV.deliveriesQueueUrl]: metered(runtime.queues.deliveriesUrl),
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
    const direct = { region: runtime.region, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
    const sqs = new SQSClient({ ...direct, endpoint: runtime.endpoints.sqs });
    const eventBridge = new EventBridgeClient({ ...direct, endpoint: runtime.endpoints.eventBridge });
    const dynamo = new DynamoDBClient({ ...direct, endpoint: runtime.endpoints.dynamodb });
    const secretsClient = new SecretsManagerClient({ ...direct, endpoint: runtime.endpoints.secretsManager });
    cleanup.unshift(async () => [sqs, eventBridge, dynamo, secretsClient].forEach((client) => client.destroy()));
    const receiver = await startTestEndpoint();
    cleanup.unshift(() => receiver.close());

    const store = new SubscriptionsStore(DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } }), runtime.tables.subscriptions);
    const signing = new SigningSecrets(new SealingKeys(secretsClient, runtime.env[ENV.sealingKeySecret] as string));
    const secretsBefore = await countSecrets(secretsClient);
    const fleets = [
      { name: 'fan-out 1', fleetId: 'cost-one', subscriptions: 1, path: 'ok' },
      { name: `fan-out ${options.costFanout}`, fleetId: 'cost-many', subscriptions: options.costFanout, path: 'ok' },
      { name: `fan-out ${options.costFanout}, each delivery retried once`, fleetId: 'cost-retry', subscriptions: options.costFanout, path: 'flaky' },
      { name: `fan-out ${options.costFanout}, realistic response`, fleetId: 'cost-real', subscriptions: options.costFanout, path: 'real' },
      {
        name: `fan-out ${options.costFanout}, realistic response, each delivery retried once`,
        fleetId: 'cost-real-retry',
        subscriptions: options.costFanout,
        path: 'flaky-real',
      },
    ];
    for (const fleet of fleets) {
      for (let index = 0; index < fleet.subscriptions; index += 1) {
        const id = newSubscriptionId();
        // As the API creates one: the secret sealed on the record, nothing created in Secrets Manager.
        const sealed = await signing.seal(fleet.fleetId, id, { current: generateSigningSecret() });
        const now = new Date().toISOString();
        await store.create({
          fleetId: fleet.fleetId,
          id,
          url: `${receiver.origin}/${fleet.path}`,
          enabled: true,
          ...sealed,
          createdAt: now,
          updatedAt: now,
        });
      }
    }

    const secretsAfter = await countSecrets(secretsClient);
    const storage: SecretStorage = {
      subscriptions: fleets.reduce((sum, fleet) => sum + fleet.subscriptions, 0),
      secretsBefore,
      secretsAfter,
    };

    // The Lambda entry modules themselves, imported once their environment points at the meter.
    const { handler: fanout } = await import('../../lambdas/fanout/handler');
    const { handler: dispatcher } = await import('../../lambdas/dispatcher/handler');
    const harness: Harness = { options, runtime, meter, sqs, eventBridge, receiver, fanout, dispatcher, data: dataForEnvelopeSize('cost-many', 1_024) };
    const scenarios: Scenario[] = [];
    for (const fleet of fleets) {
      const scenario = await runScenario(harness, fleet.name, fleet.fleetId, fleet.subscriptions, fleet.path.startsWith('flaky'));
      scenarios.push({ ...scenario, storedItem: await storedItemSizes(dynamo, runtime.tables.deliveries, fleet.fleetId) });
    }
    return report(scenarios, storage, options.endpointLatencyMs);
  } finally {
    for (const close of cleanup) await close().catch(() => undefined);
  }
}

async function runScenario(harness: Harness, name: string, fleetId: string, subscriptions: number, flaky: boolean): Promise<Scenario> {
  const { options, runtime, meter } = harness;
  const events = options.costEvents;
  const deliveries = events * subscriptions;
  harness.receiver.reset();

  // Producer side: PutEvents, 10 entries per call; each accepted entry reaches the events queue by the bus rule.
  let eventChunks = 0;
  let eventBytes = 0;
  let putEventsCalls = 0;
  for (let sent = 0; sent < events; sent += 10) {
    const entries = Array.from({ length: Math.min(10, events - sent) }, () => {
      const detail = JSON.stringify({ fleetId, data: harness.data });
      eventBytes += Buffer.byteLength(detail);
      eventChunks += Math.max(1, Math.ceil(Buffer.byteLength(detail) / PRICES.eventBridgeChunkBytes));
      return { Source: runtime.settings.eventSource, DetailType: 'thread.completed', Detail: detail, EventBusName: runtime.eventBus.name };
    });
    const result = await harness.eventBridge.send(new PutEventsCommand({ Entries: entries }));
    putEventsCalls += 1;
    if ((result.FailedEntryCount ?? 0) > 0) throw new Error(`PutEvents refused ${result.FailedEntryCount} entries`);
  }

  meter.reset();
  const fanoutRun = await drain(harness, runtime.queues.eventsUrl, runtime.queues.eventsArn, 'hookline-fanout', harness.fanout, (run) => run.records < events);
  const fanoutCounts = meter.snapshot();
  meter.reset();
  const dispatchRun = await drain(harness, runtime.queues.deliveriesUrl, runtime.queues.deliveriesArn, 'hookline-dispatcher', harness.dispatcher, () => harness.receiver.succeeded() < deliveries);
  const dispatchCounts = meter.snapshot();

  const attempts = harness.receiver.requests();
  const expectedAttempts = deliveries * (flaky ? 2 : 1);
  if (fanoutRun.records !== events) throw new Error(`${name}: the fan-out saw ${fanoutRun.records} of ${events} events`);
  if (harness.receiver.succeeded() !== deliveries || attempts !== expectedAttempts) {
    throw new Error(`${name}: ${harness.receiver.succeeded()} of ${deliveries} deliveries succeeded in ${attempts} attempts (expected ${expectedAttempts})`);
  }

  const memoryMb = FUNCTION_MEMORY_MB;
  const perEvent: Usage = {
    ...NO_USAGE,
    dynamoReadUnits: fanoutCounts.dynamoReadUnits / events,
    dynamoWriteUnits: fanoutCounts.dynamoWriteUnits / events,
    // EventBridge's SendMessage to the events queue, the fan-out's own sends, the mapping's receives and deletes.
    sqsRequests: (Math.ceil(eventBytes / events / SQS_CHUNK) * events + fanoutCounts.sqsBilledRequests + fanoutRun.receiveRequests + fanoutRun.deleteRequests) / events,
    eventBridgeEvents: eventChunks / events,
    lambdaInvocations: fanoutRun.invocations / events,
    lambdaGbSeconds: gbSeconds(fanoutRun.durationsMs, memoryMb) / events,
  };
  const perDelivery: Usage = {
    ...NO_USAGE,
    dynamoReadUnits: dispatchCounts.dynamoReadUnits / deliveries,
    dynamoWriteUnits: dispatchCounts.dynamoWriteUnits / deliveries,
    sqsRequests: (dispatchCounts.sqsBilledRequests + dispatchRun.receiveRequests + dispatchRun.deleteRequests) / deliveries,
    secretsCalls: dispatchCounts.secretsCalls / deliveries,
    lambdaInvocations: dispatchRun.invocations / deliveries,
    // The records of a batch wait for their endpoints together: one assumed endpoint latency per invocation.
    lambdaGbSeconds: gbSeconds(dispatchRun.durationsMs.map((ms) => ms + options.endpointLatencyMs), memoryMb) / deliveries,
  };
  return {
    name,
    subscriptions,
    events,
    deliveries,
    attempts,
    putEventsCalls,
    perEvent,
    perDelivery,
    total: addUsage(scaleUsage(perEvent, 1 / subscriptions), perDelivery),
    fanoutCounts,
    dispatchCounts,
  };
}

/**
 * What the Lambda event source mapping does, one invocation at a time: receive up to 10, invoke,
 * delete the records not reported as failed. Its own SQS calls go straight to the stand-in (not
 * through the meter) and are counted here.
 */
async function drain(
  harness: Harness,
  queueUrl: string,
  queueArn: string,
  functionName: string,
  handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>,
  more: (run: StageRun) => boolean,
): Promise<StageRun> {
  const run: StageRun = { invocations: 0, records: 0, durationsMs: [], receiveRequests: 0, deleteRequests: 0 };
  const limit = deadline(harness.options.loopTimeLimitMs);
  while (more(run)) {
    if (limit.expired()) throw new Error(`${functionName}: the queue was not drained within ${harness.options.loopTimeLimitMs} ms`);
    const received = await harness.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'], MessageAttributeNames: ['All'] }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) continue;
    const payload = messages.reduce((sum, message) => sum + Buffer.byteLength(message.Body ?? ''), 0);
    run.receiveRequests += Math.max(1, Math.ceil(payload / SQS_CHUNK));
    const records = messages.map((message) => toRecord(message, queueArn, harness.runtime.region));
    const started = performance.now();
    const response = await handler({ Records: records }, createLambdaContext(functionName, 60_000));
    run.durationsMs.push(performance.now() - started);
    run.invocations += 1;
    run.records += records.length;
    const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
    const done = messages.filter((message) => !failed.has(message.MessageId ?? ''));
    if (done.length > 0) {
      await harness.sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: done.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })) }),
      );
      run.deleteRequests += 1;
    }
  }
  return run;
}

function toRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'AIDABENCH',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

interface TestEndpoint {
  origin: string;
  requests(): number;
  succeeded(): number;
  reset(): void;
  close(): Promise<void>;
}

/**
 * `/ok` answers a bare 200 "ok"; `/real` answers as a typical API endpoint does (a JSON body and the
 * headers a gateway and framework add). `/flaky` and `/flaky-real` answer 503 to the first attempt
 * of each delivery (a bare "no", or a JSON error with the same headers) and as `/ok`, `/real` to the next.
 */
async function startTestEndpoint(): Promise<TestEndpoint> {
  let requests = 0;
  let succeeded = 0;
  const seen = new Set<string>();
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests += 1;
      const id = String(req.headers['webhook-id'] ?? '');
      const fail = req.url?.startsWith('/flaky') === true && !seen.has(id);
      seen.add(id);
      if (!fail) succeeded += 1;
      if (req.url?.endsWith('real') === true) {
        const body = fail
          ? JSON.stringify({ error: { code: 'service_unavailable', message: 'Upstream dependency timed out, please retry' }, requestId: randomUUID() })
          : JSON.stringify({ received: true, id, processedAt: new Date().toISOString() });
        res.writeHead(fail ? 503 : 200, realisticHeaders(body)).end(body);
        return;
      }
      res.writeHead(fail ? 503 : 200, { 'content-type': 'text/plain', 'content-length': '2' }).end(fail ? 'no' : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    succeeded: () => succeeded,
    reset: () => {
      requests = 0;
      succeeded = 0;
      seen.clear();
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A gateway-fronted JSON endpoint's headers, with fresh ids per answer as a real one sends. */
function realisticHeaders(body: string): Record<string, string> {
  const traceHex = randomUUID().replaceAll('-', '').slice(0, 24);
  return gatewayResponseHeaders(body, {
    requestId: randomUUID(),
    amznRequestId: randomUUID(),
    traceId: `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${traceHex}`,
  });
}

function describeUsage(usage: Usage): string {
  const parts = [
    `DynamoDB ${round(usage.dynamoReadUnits)} RRU + ${round(usage.dynamoWriteUnits)} WRU`,
    `SQS ${round(usage.sqsRequests)} requests`,
    `Secrets Manager ${round(usage.secretsCalls)} calls`,
    `EventBridge ${round(usage.eventBridgeEvents)} events`,
    `Lambda ${round(usage.lambdaInvocations)} invocations / ${usage.lambdaGbSeconds.toPrecision(3)} GB-s`,
  ];
  return parts.join(', ');
}

function round(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3).replace(/0+$/, '');
}

function dollars(value: number): string {
  return `$${value.toFixed(2)}`;
}

function report(scenarios: Scenario[], storage: SecretStorage, endpointLatencyMs: number): SectionOutcome {
  const figures: Figure[] = [];
  const perMillion = 1_000_000;
  // Measured: secrets the subscriptions of this run added (none when sealed on their records), and
  // what the deployment holds regardless (the key ring). The baseline is the one-secret-per-
  // subscription layout, priced the same way: one secret per subscription, none fixed.
  const perSubscription = (storage.secretsAfter - storage.secretsBefore) / storage.subscriptions;
  const fixed = storage.secretsAfter - perSubscription * storage.subscriptions;
  const [reference] = SUBSCRIPTION_COUNTS;
  figures.push(
    figure({
      id: 'cost.secrets-per-subscription-month',
      label: `Secrets Manager storage per subscription-month at ${reference.toLocaleString('en-US')} subscriptions`,
      value: secretsPerSubscriptionMonth(fixed, perSubscription, reference),
      unit: 'USD',
      baselineLabel: 'one secret per subscription',
      baselineValue: secretsPerSubscriptionMonth(0, 1, reference),
      target: { op: '<=', value: 0.0025 },
    }),
  );
  for (const scenario of scenarios) {
    const retried = scenario.attempts > scenario.deliveries;
    figures.push(
      figure({
        id: `cost.${scenario.name.replace(/[^a-z0-9]+/gi, '-').replace(/-+$/, '')}`,
        label: `${scenario.name}: per 1M deliveries`,
        value: costOf(scenario.total).total * perMillion,
        unit: 'USD',
        baselineLabel: 'EventBridge API destinations',
        baselineValue: apiDestinationsCost(scenario.total.eventBridgeEvents, retried ? scenario.attempts / scenario.deliveries : 1) * perMillion,
      }),
    );
  }
  const many = scenarios[1];
  if (many !== undefined) {
    // Every invocation a cold start: each batch of 10 reads the key ring once (0.1 call per delivery).
    const cold = addUsage(many.total, { ...NO_USAGE, secretsCalls: Math.max(0, 0.1 - many.perDelivery.secretsCalls) });
    figures.push(
      figure({
        id: 'cost.cold-caches',
        label: `${many.name}, every dispatcher invocation a cold start (derived): per 1M deliveries`,
        value: costOf(cold).total * perMillion,
        unit: 'USD',
        baselineLabel: 'EventBridge API destinations',
        baselineValue: apiDestinationsCost(many.total.eventBridgeEvents, 1) * perMillion,
      }),
    );
  }
  const warm = scenarios.slice(1);
  const warmCalls = warm.reduce((sum, scenario) => sum + scenario.dispatchCounts.secretsCalls, 0);
  const warmDeliveries = warm.reduce((sum, scenario) => sum + scenario.deliveries, 0);
  const notes: string[] = [
    `secrets: ${storage.subscriptions} subscriptions created; Secrets Manager held ${storage.secretsBefore} secret(s) before and ${storage.secretsAfter} after ` +
      `(${round(perSubscription)} per subscription, ${round(fixed)} per deployment: the key ring); per subscription-month at ` +
      SUBSCRIPTION_COUNTS.map((count) => `${count.toLocaleString('en-US')}: $${secretsPerSubscriptionMonth(fixed, perSubscription, count).toPrecision(2)}`).join(', ') +
      ` (one secret per subscription: $${secretsPerSubscriptionMonth(0, 1, reference).toFixed(2)} at any size)`,
    `Secrets Manager calls: ${scenarios[0]?.dispatchCounts.secretsCalls ?? 0} by the cold dispatcher's first scenario (the key ring, once per container), ` +
      `${warmCalls} in ${warmDeliveries} deliveries after warm-up (${round(warmDeliveries === 0 ? 0 : warmCalls / warmDeliveries)} per delivery)`,
  ];
  notes.push('per scenario: $ per 1M deliveries | WRU per delivery (its share of the event + its dispatch) | dispatch WRU per delivery | stored delivery item, mean / max bytes');
  for (const scenario of scenarios) {
    const item = scenario.storedItem;
    notes.push(
      `    ${scenario.name}: ${dollars(costOf(scenario.total).total * perMillion)} | ${round(scenario.total.dynamoWriteUnits)} WRU | ` +
        `${round(scenario.perDelivery.dynamoWriteUnits)} WRU | ${item === undefined ? 'n/a' : `${item.meanBytes} / ${item.maxBytes} B`}`,
    );
  }
  // The README's monthly cost table is these lines, for a typical answer and for the costliest fan-out.
  const tableScenarios = [scenarios.find((scenario) => scenario.name.endsWith('realistic response')), scenarios[0]];
  for (const scenario of tableScenarios) {
    if (scenario === undefined) continue;
    notes.push(
      `a month at ${scenario.name} (${dollars(costOf(scenario.total).total * perMillion)} per 1M first-attempt deliveries, ` +
        `secrets ${round(perSubscription)} per subscription and ${round(fixed)} per deployment):`,
      ...monthlyCostTable({
        perMillionDeliveries: costOf(scenario.total).total * perMillion,
        perSubscriptionMonth: perSubscription * PRICES.secretsManagerSecretMonth,
        fixedPerMonth: fixed * PRICES.secretsManagerSecretMonth,
      }).map((line) => `    ${line}`),
    );
  }
  for (const scenario of scenarios) {
    const byService = costOf(scenario.total).byService;
    notes.push(
      `${scenario.name} (${scenario.events} events → ${scenario.deliveries} deliveries in ${scenario.attempts} attempts):`,
      `    per event: ${describeUsage(scenario.perEvent)}`,
      `    per delivery: ${describeUsage(scenario.perDelivery)}`,
      `    per 1M deliveries by service: ${Object.entries(byService).map(([service, value]) => `${service} ${dollars(value * perMillion)}`).join(', ')}`,
      `    calls: producer PutEvents ${scenario.putEventsCalls}; fan-out ${describeCalls(scenario.fanoutCounts)}; dispatch ${describeCalls(scenario.dispatchCounts)}; dispatch WRU by target ${Object.entries(scenario.dispatchCounts.dynamoWriteUnitsBy).map(([target, units]) => `${target} ${units}`).join(', ')}`,
    );
  }
  notes.push(
    `prices: ${PRICE_REGION} on-demand list prices as of ${PRICES_AS_OF} (bench/prices.ts); no free tier`,
    `Lambda: ${FUNCTION_MEMORY_MB} MB arm64, measured invocation time on the local stand-ins + an assumed ${endpointLatencyMs} ms endpoint response per dispatcher invocation (--endpoint-latency-ms)`,
    'one warm dispatcher instance: it reads the subscription (its secret sealed on it) for every delivery and the key ring once; "every invocation a cold start" adds a GetSecretValue per batch of 10',
    'batches as full as the queue allows (10 records); at a trickle Lambda gets batches of 1 and the Lambda and SQS shares per delivery grow up to 10×',
    'invocation times are measured through the meter, which adds two reads per write, so the Lambda share is an upper bound',
    'not per delivery: the key ring secret ($0.40 a month per deployment; an API destination connection keeps one secret per connection), storage, idle long polls of the event source mappings',
    'API destinations: one PutEvents per event as for Hookline, then one invocation per subscription and attempt; no signing, no delivery log',
  );
  return {
    title: 'Requests and cost per delivery (real pipeline on the local stand-ins, metered)',
    figures,
    notes,
    details: { scenarios, secretStorage: storage, endpointLatencyMs, prices: PRICES, pricesAsOf: PRICES_AS_OF, lambdaMemoryMb: FUNCTION_MEMORY_MB },
  };
}

function describeCalls(counts: MeterCounts): string {
  return Object.entries(counts.calls)
    .map(([name, calls]) => `${name.replace(/^dynamodb\./, '').replace(/^sqs\./, 'SQS ').replace(/^secretsmanager\./, '')} ${calls}`)
    .join(', ');
}
