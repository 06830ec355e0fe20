import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { SubscriptionRecord } from '../lambdas/core/records';
import { createLambdaContext } from '../local/lambda-context';
import type { DispatcherProcessConfig, DispatcherRun, DispatcherRunResult } from './dispatcher-process';
import { createHttpProbe } from './http-probe';
import { installMemoryAws, type MemoryAws } from './memory-aws';
import { serveWorker } from './worker';
import { dataForEnvelopeSize, deliveryMessage, sampleEventId, sqsRecord } from './workload';

/**
 * The dispatcher under test, alone in its process: its Lambda entry module (middy, Powertools,
 * stores, SDK clients, HTTP delivery) imported once its environment is set, as the runtime does,
 * then invoked with SQS batches of 10. Building the batches is the only other work in the
 * process, and it is the same for every variant.
 */
const BATCH_SIZE = 10;
const config = JSON.parse(process.env.BENCH_DISPATCHER_CONFIG ?? '{}') as DispatcherProcessConfig;

Object.assign(process.env, config.env);
if (config.store === 'loopback') {
  // The SDK's own variables point every client at the loopback store; its path runs unchanged.
  process.env.AWS_ENDPOINT_URL = config.storeOrigin;
}
if (config.traced) {
  // What Lambda sets for a function with active tracing (the trace id changes per invocation, below).
  Object.assign(process.env, {
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    LAMBDA_TASK_ROOT: process.cwd(),
    AWS_LAMBDA_FUNCTION_NAME: 'hookline-dispatcher',
    AWS_XRAY_DAEMON_ADDRESS: config.xrayAddress,
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
  });
} else {
  process.env.POWERTOOLS_TRACE_ENABLED = 'false';
}
const memory: MemoryAws | undefined =
  config.store === 'memory'
    ? installMemoryAws({
        subscriptions: Object.values(config.subscriptions).flat(),
        secrets: new Map(Object.entries(config.secrets)),
        subscriptionsTable: config.subscriptionsTable,
      })
    : undefined;
const { handler } = await import('../lambdas/dispatcher/handler');
const probe = createHttpProbe();

async function run(request: DispatcherRun): Promise<DispatcherRunResult> {
  const subscriptions = config.subscriptions[request.variantId] ?? [];
  const data = dataForEnvelopeSize(config.fleetId, request.envelopeBytes);
  const timestamp = new Date().toISOString();
  const batches = Math.ceil(request.count / BATCH_SIZE);
  const end = performance.now() + request.timeLimitMs;
  // Fresh event ids per run: every delivery is a new one, as in production.
  const runId = randomBytes(4).readUInt32BE() % 1_000_000;
  let next = 0;
  let completed = 0;
  let itemFailures = 0;
  memory?.reset();
  probe.start();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const invoker = async (): Promise<void> => {
    while (next < batches && performance.now() < end) {
      const first = next * BATCH_SIZE;
      next += 1;
      const records = [];
      for (let index = first; index < Math.min(first + BATCH_SIZE, request.count); index += 1) {
        const subscription = subscriptions[index % subscriptions.length] as SubscriptionRecord;
        const event = { id: sampleEventId(runId * 1_000_000 + index), type: 'thread.completed', timestamp, data };
        records.push(sqsRecord(JSON.stringify(deliveryMessage(config.fleetId, subscription.id, event)), config.queueName));
      }
      if (config.traced) process.env._X_AMZN_TRACE_ID = traceHeader();
      const response = await handler({ Records: records }, createLambdaContext('hookline-dispatcher', 60_000));
      itemFailures += response.batchItemFailures.length;
      completed += records.length;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, request.concurrency / BATCH_SIZE) }, invoker));
  const elapsedMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { completed, itemFailures, elapsedMs, cpuMicros: used.user + used.system, latencies: probe.stop(), calls: memory?.calls() ?? {} };
}

/** A sampled X-Ray trace header, as Lambda sets `_X_AMZN_TRACE_ID` for each invocation it traces. */
function traceHeader(): string {
  const epoch = Math.floor(Date.now() / 1000).toString(16);
  return `Root=1-${epoch}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=1`;
}

serveWorker(
  { pid: process.pid },
  async (body) => ({ ...(await run(body as unknown as DispatcherRun)) }),
  () => process.exit(0),
);
