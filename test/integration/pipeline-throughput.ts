/**
 * Quick measurement, not a test: deliveries per second of one dispatcher process against a local
 * receiver, and the AWS calls each successful delivery costs.
 *
 *   npx tsx test/integration/pipeline-throughput.ts [deliveries=2000] [invocations-in-flight=4]
 *
 * 1. The dispatcher (createDispatcher, real HTTP delivery over keep-alive undici to a node:http
 *    receiver on 127.0.0.1) with AWS answered in memory by aws-sdk-client-mock, so the figure is
 *    the dispatcher's own; every SDK command it sends is counted.
 * 2. The same process end to end on the local runtime (dynalite, local SQS, local Secrets Manager):
 *    delivery messages on the deliveries queue, the pipeline's dispatcher draining them.
 */
import { spawn } from 'node:child_process';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createAddressPolicy } from '../../lambdas/core/address';
import { deliveryIdFor, newSubscriptionId } from '../../lambdas/core/ids';
import type { DeliveryMessage, SubscriptionRecord } from '../../lambdas/core/records';
import { generateSigningSecret } from '../../lambdas/core/secrets';
import { parseDeploymentSettings } from '../../lambdas/core/settings';
import { createDispatcher } from '../../lambdas/dispatcher/dispatcher';
import { DeliveriesStore } from '../../lambdas/shared/deliveries-store';
import { createHttpDelivery } from '../../lambdas/shared/http-delivery';
import { sendJsonBatch } from '../../lambdas/shared/queue-sender';
import { ENV } from '../../lambdas/shared/environment';
import { sealedSecrets, TEST_KEY_RING_JSON, testSigningSecrets } from '../support/sealing-key';
import { SubscriptionsStore } from '../../lambdas/shared/subscriptions-store';
import { EndpointGates } from '../../lambdas/shared/endpoint-gates';

const total = Number(process.argv[2] ?? 2_000);
const inFlight = Number(process.argv[3] ?? 4);
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';

// The receiver runs in its own process so that this one measures the dispatcher alone.
const RECEIVER = `
  const http = require('node:http');
  let count = 0;
  const server = http.createServer((req, res) => { req.resume(); req.on('end', () => { count += 1; res.statusCode = 204; res.end(); }); });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('message', () => process.send({ count }));
`;
const receiver = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const port = await new Promise<number>((resolve) => receiver.once('message', (message: { port: number }) => resolve(message.port)));
const received = () =>
  new Promise<number>((resolve) => {
    receiver.once('message', (message: { count: number }) => resolve(message.count));
    receiver.send('count');
  });
const url = `http://127.0.0.1:${port}/hook`;
const settings = parseDeploymentSettings({ allowPrivateTargets: ['127.0.0.0/8'] });
const body = { payload: 'x'.repeat(900) };

function messages(fleetId: string, subscriptionId: string, count: number): DeliveryMessage[] {
  const timestamp = new Date().toISOString();
  return Array.from({ length: count }, (_, index) => ({
    v: 1,
    deliveryId: deliveryIdFor(fleetId, `evt_${index}`, subscriptionId, timestamp),
    fleetId,
    subscriptionId,
    event: { id: `evt_${index}`, type: 'thread.completed', timestamp, data: body },
    reason: 'fanout',
  }));
}

function record(message: DeliveryMessage, index: number): SQSRecord {
  return {
    messageId: `m-${index}`,
    receiptHandle: `rh-${index}`,
    body: JSON.stringify(message),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:deliveries',
    awsRegion: 'us-east-1',
  };
}

async function inMemory(): Promise<void> {
  const ddb = mockClient(DynamoDBDocumentClient);
  const sqs = mockClient(SQSClient);
  const secrets = mockClient(SecretsManagerClient);
  const subscriptionId = newSubscriptionId();
  const subscription: SubscriptionRecord = {
    fleetId: 'bench',
    id: subscriptionId,
    url,
    enabled: true,
    ...sealedSecrets('bench', subscriptionId),
    createdAt: '',
    updatedAt: '',
  };
  ddb.on(GetCommand).resolves({ Item: subscription });
  ddb.on(UpdateCommand).resolves({});
  secrets.on(GetSecretValueCommand).resolves({ SecretString: TEST_KEY_RING_JSON });
  sqs.on(ChangeMessageVisibilityCommand).resolves({});
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  const http = createHttpDelivery({ policy: createAddressPolicy(settings.allowPrivateTargets) });
  const dispatcher = createDispatcher({
    subscriptions: new SubscriptionsStore(doc, 'subs'),
    deliveries: new DeliveriesStore(doc, 'deliveries'),
    gates: new EndpointGates(doc, 'deliveries'),
    secrets: testSigningSecrets(new SecretsManagerClient({ region: 'us-east-1' })),
    sqs: new SQSClient({ region: 'us-east-1' }),
    deliveriesQueueUrl: 'q',
    settings,
    http,
    userAgent: 'Hookline/bench',
    logger: new Logger({ logLevel: 'ERROR' }),
    metrics: new Metrics({ namespace: 'bench' }),
  });
  const all = messages(subscription.fleetId, subscription.id, total).map(record);
  const batches: SQSRecord[][] = [];
  for (let index = 0; index < all.length; index += 10) batches.push(all.slice(index, index + 10));
  const before = await received();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < batches.length) {
        const batch = batches[next] as SQSRecord[];
        next += 1;
        const response = await dispatcher({ Records: batch });
        if (response.batchItemFailures.length > 0) throw new Error('a delivery failed');
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const per = (count: number) => (count / total).toFixed(3);
  console.log(`in-memory AWS: ${total} deliveries in ${seconds.toFixed(2)} s = ${Math.round(total / seconds)} deliveries/s (${inFlight} batches of 10 in flight); receiver got ${(await received()) - before}`);
  console.log(
    `  per successful delivery: DynamoDB UpdateItem ${per(ddb.commandCalls(UpdateCommand).length)}, GetItem ${per(ddb.commandCalls(GetCommand).length)}, ` +
      `Secrets Manager GetSecretValue ${per(secrets.commandCalls(GetSecretValueCommand).length)}, SQS calls by the dispatcher ${per(sqs.calls().length)}`,
  );
  await http.close();
  ddb.restore();
  sqs.restore();
  secrets.restore();
}

async function onLocalRuntime(): Promise<void> {
  const { startLocalRuntime } = await import('../../local/runtime');
  const { startPipeline } = await import('../../local/pipeline');
  const { createDocumentClient, createSecretsClient, createSqsClient } = await import('../../lambdas/shared/clients');
  const runtime = await startLocalRuntime({ settings: { allowPrivateTargets: ['127.0.0.0/8'] }, logger: { debug() {}, info() {}, warn: console.warn, error: console.error } });
  runtime.applyEnv();
  const doc = createDocumentClient();
  const sqs = createSqsClient();
  const secrets = testSigningSecrets(createSecretsClient(), runtime.env[ENV.sealingKeySecret]);
  const id = newSubscriptionId();
  const sealed = await secrets.seal('bench', id, { current: generateSigningSecret() });
  await new SubscriptionsStore(doc, runtime.tables.subscriptions).create({
    fleetId: 'bench', id, url, enabled: true, ...sealed, createdAt: '', updatedAt: '',
  });
  const count = Math.min(total, 1_000);
  await sendJsonBatch(sqs, runtime.queues.deliveriesUrl, messages('bench', id, count), { concurrency: 10 });
  const before = await received();
  const started = performance.now();
  const pipeline = startPipeline(runtime, { dispatcherConcurrency: inFlight, waitTimeSeconds: 1 });
  while ((await received()) - before < count) await new Promise((resolve) => setTimeout(resolve, 20));
  const seconds = (performance.now() - started) / 1000;
  console.log(`local runtime (dynalite + local SQS): ${count} deliveries in ${seconds.toFixed(2)} s = ${Math.round(count / seconds)} deliveries/s (${inFlight} pollers, batches of 10)`);
  await pipeline.stop();
  doc.destroy();
  sqs.destroy();
  await runtime.stop();
}

await inMemory();
await onLocalRuntime();
receiver.kill();
