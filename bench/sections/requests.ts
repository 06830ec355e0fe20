import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { FUNCTION_MEMORY_MB } from '../../lib/functions';
import { newSubscriptionId } from '../../lambdas/core/ids';
import { generateSigningSecret } from '../../lambdas/core/secrets';
import { sealSigningSecrets } from '../../lambdas/core/sealed-secrets';
import { DELIVERIES_TABLE, EVENTS_TABLE, SUBSCRIPTIONS_TABLE, TOKENS_TABLE, type TableSchema } from '../../lambdas/core/table-schema';
import { ENV } from '../../lambdas/shared/environment';
import { SigningKeys } from '../../lambdas/shared/signing-secrets';
import { SubscriptionsStore } from '../../lambdas/shared/subscriptions-store';
import { createLambdaContext } from '../../local/lambda-context';
import type { LocalLogger } from '../../local/logger';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { startAwsMeter, type AwsMeter, type MeterCounts } from '../aws-meter';
import type { SectionRequest } from '../child';
import { addUsage, apiDestinationsCost, costOf, gbSeconds, NO_USAGE, scaleUsage, type Usage } from '../cost';
import { PRICE_REGION, PRICES, PRICES_AS_OF } from '../prices';
import { figure, type Figure } from '../results';
import { deadline, type SectionOutcome } from '../section';
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
    settings: { allowPrivateTargets: ['127.0.0.0/8'], retryDelaysSeconds: [0], retryJitter: 0 },
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
    // Subscriptions as the API creates them: the secret sealed under the deployment's one key ring.
    const ring = await new SigningKeys(secretsClient, runtime.signingKeySecretArn).ringForSealing();
    const fleets = [
      { name: 'fan-out 1', fleetId: 'cost-one', subscriptions: 1, path: 'ok' },
      { name: `fan-out ${options.costFanout}`, fleetId: 'cost-many', subscriptions: options.costFanout, path: 'ok' },
      { name: `fan-out ${options.costFanout}, realistic response (JSON, 16 headers)`, fleetId: 'cost-json', subscriptions: options.costFanout, path: 'json' },
      { name: `fan-out ${options.costFanout}, each delivery retried once`, fleetId: 'cost-retry', subscriptions: options.costFanout, path: 'flaky' },
    ];
    let subscriptionItemBytes = 0;
    for (const fleet of fleets) {
      for (let index = 0; index < fleet.subscriptions; index += 1) {
        const id = newSubscriptionId();
        const now = new Date().toISOString();
        const record = {
          fleetId: fleet.fleetId,
          id,
          url: `${receiver.origin}/${fleet.path}`,
          enabled: true,
          ...sealSigningSecrets(ring, fleet.fleetId, id, { current: generateSigningSecret() }),
          createdAt: now,
          updatedAt: now,
        };
        subscriptionItemBytes = Math.max(subscriptionItemBytes, flatItemBytes(record));
        await store.create(record);
      }
    }
    const secretsInStore = await countSecrets(secretsClient);

    // The Lambda entry modules themselves, imported once their environment points at the meter.
    const { handler: fanout } = await import('../../lambdas/fanout/handler');
    const { handler: dispatcher } = await import('../../lambdas/dispatcher/handler');
    const harness: Harness = { options, runtime, meter, sqs, eventBridge, receiver, fanout, dispatcher, data: dataForEnvelopeSize('cost-many', 1_024) };
    const scenarios: Scenario[] = [];
    for (const fleet of fleets) scenarios.push(await runScenario(harness, fleet.name, fleet.fleetId, fleet.subscriptions, fleet.path === 'flaky'));
    return report(scenarios, options.endpointLatencyMs, { subscriptionItemBytes, secretsInStore, subscriptions: fleets.reduce((sum, fleet) => sum + fleet.subscriptions, 0) });
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

/** What a typical API endpoint answers: a small JSON acknowledgement. */
const REALISTIC_BODY = JSON.stringify({
  received: true,
  id: 'evt_01JNKV3Y0RZ8W5T2P4M6Q9B7CD',
  status: 'accepted',
  processedAt: '2025-03-01T10:00:00.000Z',
  message: 'Webhook received and queued for processing.',
  requestId: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
});

/** 16 response headers, the kind a framework behind a load balancer sends. */
function realisticHeaders(deliveryId: string): Record<string, string> {
  return {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(REALISTIC_BODY)),
    date: new Date().toUTCString(),
    connection: 'keep-alive',
    'keep-alive': 'timeout=5',
    server: 'nginx/1.25.3',
    'x-request-id': deliveryId.padEnd(36, '0').slice(0, 36),
    'x-amzn-trace-id': 'Root=1-67a1b2c3-4d5e6f708192a3b4c5d6e7f8',
    'cache-control': 'no-store, no-cache, must-revalidate',
    'strict-transport-security': 'max-age=31536000; includeSubDomains',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    vary: 'Accept-Encoding, Origin',
    etag: 'W/"9a-3f2b1c4d5e6f7a8b"',
    'x-ratelimit-limit': '1000',
    'x-ratelimit-remaining': '998',
  };
}

/** `/ok` answers 200; `/json` 200 with a realistic answer; `/flaky` answers 503 to the first attempt of each delivery and 200 to the next. */
async function startTestEndpoint(): Promise<TestEndpoint> {
  let requests = 0;
  let succeeded = 0;
  const seen = new Set<string>();
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests += 1;
      const id = String(req.headers['webhook-id'] ?? '');
      const fail = req.url === '/flaky' && !seen.has(id);
      seen.add(id);
      if (!fail) succeeded += 1;
      if (req.url === '/json') {
        res.writeHead(200, realisticHeaders(id)).end(REALISTIC_BODY);
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

interface DeploymentFacts {
  /** Largest subscription item written, in bytes (storage per subscription). */
  subscriptionItemBytes: number;
  /** Secrets in the Secrets Manager stand-in after every subscription was created. */
  secretsInStore: number;
  subscriptions: number;
}

/** Subscriptions a deployment shares its one key-ring secret among, for the per-subscription figure. */
const SHARED_BY = 1_000;
/** DynamoDB adds 100 bytes of overhead to every item it stores. */
const ITEM_OVERHEAD_BYTES = 100;

/**
 * The issue's goals in dollars, as ratios to the baseline of the same row (the results format
 * compares ratios): fan-out 10 ≤ $1.20 and fan-out 1 ≤ $4.00 per million first-attempt 1 KB
 * deliveries, ≤ $0.001 per subscription-month, no Secrets Manager call per warm delivery.
 */
function dollarTarget(goal: number, baseline: number) {
  return { op: '<=' as const, value: Number((goal / baseline).toPrecision(3)) };
}

function report(scenarios: Scenario[], endpointLatencyMs: number, facts: DeploymentFacts): SectionOutcome {
  const figures: Figure[] = [];
  const perMillion = 1_000_000;
  for (const scenario of scenarios) {
    const retried = scenario.attempts > scenario.deliveries;
    const baselineValue = apiDestinationsCost(scenario.total.eventBridgeEvents, retried ? scenario.attempts / scenario.deliveries : 1) * perMillion;
    const goal = scenario.name === 'fan-out 1' ? 4 : scenario.name === 'fan-out 10' ? 1.2 : undefined;
    figures.push(
      figure({
        id: `cost.${scenario.name.replace(/[^a-z0-9]+/gi, '-').replace(/-+$/, '')}`,
        label: `${scenario.name}: per 1M deliveries`,
        value: costOf(scenario.total).total * perMillion,
        unit: 'USD',
        baselineLabel: 'EventBridge API destinations',
        baselineValue,
        ...(goal === undefined ? {} : { target: dollarTarget(goal, baselineValue) }),
      }),
    );
  }
  const many = scenarios[1];
  if (many !== undefined) {
    // A delivery whose dispatcher instance has not cached the subscription (a cold or busy fleet of
    // instances): one more GetItem. The key ring costs one GetSecretValue per instance, not per delivery.
    const cold = addUsage(many.total, { ...NO_USAGE, dynamoReadUnits: 0.5 });
    figures.push(
      figure({
        id: 'cost.cold-caches',
        label: `${many.name}, no subscription cache hits (derived): per 1M deliveries`,
        value: costOf(cold).total * perMillion,
        unit: 'USD',
        baselineLabel: 'EventBridge API destinations',
        baselineValue: apiDestinationsCost(many.total.eventBridgeEvents, 1) * perMillion,
      }),
    );
  }
  const storageMonth = ((facts.subscriptionItemBytes + ITEM_OVERHEAD_BYTES) / 1024 ** 3) * PRICES.dynamoStorageGbMonth;
  const perSubscriptionMonth = PRICES.secretsManagerSecretMonth / SHARED_BY + storageMonth;
  const perSecretMonth = PRICES.secretsManagerSecretMonth + storageMonth;
  figures.push(
    figure({
      id: 'cost.subscription-month',
      label: `per subscription-month (${SHARED_BY.toLocaleString('en-US')} subscriptions sharing the key secret)`,
      value: perSubscriptionMonth,
      unit: 'USD',
      baselineLabel: 'a Secrets Manager secret per subscription',
      baselineValue: perSecretMonth,
      target: dollarTarget(0.001, perSecretMonth),
    }),
  );
  // The first scenario warmed the dispatcher instance up; what follows is steady state.
  const warm = scenarios.slice(1);
  const warmCalls = warm.reduce((sum, scenario) => sum + scenario.dispatchCounts.secretsCalls + scenario.fanoutCounts.secretsCalls, 0);
  const warmDeliveries = warm.reduce((sum, scenario) => sum + scenario.deliveries, 0);
  figures.push(
    figure({
      id: 'cost.secrets-calls-per-delivery',
      label: 'Secrets Manager calls per delivery after warm-up',
      value: warmCalls / Math.max(1, warmDeliveries),
      unit: 'calls',
      baselineLabel: 'a GetSecretValue per delivery (no cache)',
      baselineValue: 1,
      target: { op: '<=', value: 0 },
    }),
  );
  const notes: string[] = [];
  for (const scenario of scenarios) {
    const byService = costOf(scenario.total).byService;
    notes.push(
      `${scenario.name} (${scenario.events} events → ${scenario.deliveries} deliveries in ${scenario.attempts} attempts):`,
      `    per event: ${describeUsage(scenario.perEvent)}`,
      `    per delivery: ${describeUsage(scenario.perDelivery)}`,
      `    per 1M deliveries by service: ${Object.entries(byService).map(([service, value]) => `${service} ${dollars(value * perMillion)}`).join(', ')}`,
      `    calls: producer PutEvents ${scenario.putEventsCalls}; fan-out ${describeCalls(scenario.fanoutCounts)}; dispatch ${describeCalls(scenario.dispatchCounts)}`,
      `    WRU by target: fan-out ${describeUnits(scenario.fanoutCounts)}; dispatch ${describeUnits(scenario.dispatchCounts)}`,
    );
  }
  notes.push(
    `signing secrets: ${facts.subscriptions} subscriptions, ${facts.secretsInStore} secret(s) in Secrets Manager (the key ring); a subscription item is ${facts.subscriptionItemBytes} bytes with its sealed secret`,
    `Secrets Manager calls: ${scenarios[0]?.dispatchCounts.secretsCalls ?? 0} by the cold dispatcher instance (the key ring, once per instance), ${warmCalls} in the ${warmDeliveries} deliveries after it`,
    ...monthlyTable(scenarios, perSubscriptionMonth),
    `prices: ${PRICE_REGION} on-demand list prices checked ${PRICES_AS_OF} (bench/prices.ts); no free tier`,
    `Lambda: ${FUNCTION_MEMORY_MB} MB arm64, measured invocation time on the local stand-ins + an assumed ${endpointLatencyMs} ms endpoint response per dispatcher invocation (--endpoint-latency-ms)`,
    'one warm dispatcher instance: the subscription cache hits after the first delivery per subscription and batch; "no subscription cache hits" adds a GetItem (0.5 RRU) per delivery',
    'batches as full as the queue allows (10 records); at a trickle Lambda gets batches of 1 and the Lambda and SQS shares per delivery grow up to 10×',
    'invocation times are measured through the meter, which adds two reads per write, so the Lambda share is an upper bound',
    `per subscription-month: $${PRICES.secretsManagerSecretMonth} for the deployment's one key secret shared by ${SHARED_BY.toLocaleString('en-US')} subscriptions, plus the item's storage at $${PRICES.dynamoStorageGbMonth}/GB-month; not included: events and delivery logs kept for replay (storage), idle long polls of the event source mappings`,
    'API destinations: one PutEvents per event as for Hookline, then one invocation per subscription and attempt; no signing, no delivery log',
    'targets: the goals in dollars (fan-out 10 ≤ $1.20, fan-out 1 ≤ $4.00 per 1M; ≤ $0.001 per subscription-month) expressed as ratios to the row baseline',
  );
  return {
    title: 'Requests and cost per delivery (real pipeline on the local stand-ins, metered)',
    figures,
    notes,
    details: { scenarios, endpointLatencyMs, facts, perSubscriptionMonth, prices: PRICES, pricesAsOf: PRICES_AS_OF, lambdaMemoryMb: FUNCTION_MEMORY_MB },
  };
}

/** Monthly bills for 1k/10k/100k subscriptions × 1M/10M/100M deliveries (the README's table). */
function monthlyTable(scenarios: Scenario[], perSubscriptionMonth: number): string[] {
  const one = scenarios.find((scenario) => scenario.name === 'fan-out 1');
  const ten = scenarios[1];
  if (one === undefined || ten === undefined) return [];
  // Steady state: the key ring's one GetSecretValue per instance start is left out (nothing per delivery).
  const steady = (usage: Usage) => costOf({ ...usage, secretsCalls: 0 }).total;
  const perDelivery = { one: steady(one.total), ten: steady(ten.total) };
  const subscriptionCounts = [1_000, 10_000, 100_000];
  const deliveryCounts = [1_000_000, 10_000_000, 100_000_000];
  // The key secret is one per deployment whatever the count; the item storage grows with it.
  const fixed = (subscriptions: number) => PRICES.secretsManagerSecretMonth + subscriptions * (perSubscriptionMonth - PRICES.secretsManagerSecretMonth / SHARED_BY);
  const rows = subscriptionCounts.map((subscriptions) =>
    `    | ${subscriptions.toLocaleString('en-US')} | ${deliveryCounts.map((deliveries) => `${dollars(fixed(subscriptions) + deliveries * perDelivery.ten)} / ${dollars(fixed(subscriptions) + deliveries * perDelivery.one)}`).join(' | ')} |`,
  );
  return [
    `monthly bill, ${ten.name} / fan-out 1 (first-attempt 1 KB deliveries, steady state):`,
    `    | subscriptions | ${deliveryCounts.map((count) => `${count / 1_000_000}M deliveries`).join(' | ')} |`,
    '    | --- | --- | --- | --- |',
    ...rows,
  ];
}

function describeUnits(counts: MeterCounts): string {
  const entries = Object.entries(counts.dynamoWriteUnitsBy);
  return entries.length === 0 ? 'none' : entries.map(([target, units]) => `${target} ${units}`).join(', ');
}

function describeCalls(counts: MeterCounts): string {
  return Object.entries(counts.calls)
    .map(([name, calls]) => `${name.replace(/^dynamodb\./, '').replace(/^sqs\./, 'SQS ').replace(/^secretsmanager\./, '')} ${calls}`)
    .join(', ');
}

/** DynamoDB's size of an item of strings and booleans: names plus values (1 byte per boolean). */
function flatItemBytes(item: Record<string, string | boolean>): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + (typeof value === 'string' ? Buffer.byteLength(value) : 1), 0);
}

/** Secrets in the Secrets Manager stand-in: one per deployment, whatever the number of subscriptions. */
async function countSecrets(client: SecretsManagerClient): Promise<number> {
  let count = 0;
  let token: string | undefined;
  do {
    const page = await client.send(new ListSecretsCommand({ ...(token === undefined ? {} : { NextToken: token }) }));
    count += page.SecretList?.length ?? 0;
    token = page.NextToken;
  } while (token !== undefined);
  return count;
}
