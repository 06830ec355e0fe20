import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import { newSubscriptionId } from '../../lambdas/core/ids';
import type { SubscriptionRecord } from '../../lambdas/core/records';
import { parseDeploymentSettings } from '../../lambdas/core/settings';
import { ENV } from '../../lambdas/shared/environment';
import { DEFAULT_SEND_CONCURRENCY } from '../../lambdas/fanout/fanout';
import { createLambdaContext } from '../../local/lambda-context';
import type { SectionRequest } from '../child';
import { installMemoryAws, type MemoryAws } from '../memory-aws';
import { startLoopbackStore, type LoopbackStore } from '../store';
import { figure, type Figure } from '../results';
import { deadline, type SectionOutcome } from '../section';
import { median } from '../stats';
import { BENCH_ACCOUNT, BENCH_REGION, dataForEnvelopeSize, sqsRecord } from '../workload';

/**
 * Section 2: the fan-out Lambda's entry module (lambdas/fanout/handler.ts) turning one event into a delivery message
 * per matching subscription, AWS answered in memory — against the least any fan-out must do: the
 * same number of message bodies serialised and sent with SendMessageBatch, 10 per call, as many
 * calls in flight.
 */

const QUEUE_NAME = 'bench-events';
const EVENTS_PER_INVOCATION = 10;
const SQS_BATCH = 10;

interface SizeResult {
  subscriptions: number;
  events: number;
  messages: number;
  hooklinePerSecond: number;
  baselinePerSecond: number;
  hooklineRounds: number[];
  baselineRounds: number[];
  /** Process CPU (user + system) per message enqueued, median of the rounds. */
  hooklineCpuMicros: number;
  baselineCpuMicros: number;
  sendCalls: number;
  callsPerMessage: number;
  idealCallsPerMessage: number;
}

interface Counter {
  messages: number;
  calls: number;
}

export async function runFanoutSection({ options }: SectionRequest): Promise<SectionOutcome> {
  const settings = parseDeploymentSettings({});
  const fleets = new Map<number, SubscriptionRecord[]>();
  const now = new Date().toISOString();
  for (const size of options.fanoutSizes) {
    fleets.set(
      size,
      Array.from({ length: size }, () => ({
        fleetId: `bench-fleet-${size}`,
        id: newSubscriptionId(),
        url: 'https://hooks.example.com/receive',
        enabled: true,
        // The fan-out never opens it.
        sealedSecret: 'v1.1.unused',
        createdAt: now,
        updatedAt: now,
      })),
    );
  }
  const counter: Counter = { messages: 0, calls: 0 };
  const env = {
    [ENV.subscriptionsTable]: 'bench-subscriptions',
    [ENV.eventsTable]: 'bench-events',
    [ENV.eventsQueueUrl]: `https://sqs.${BENCH_REGION}.amazonaws.com/${BENCH_ACCOUNT}/${QUEUE_NAME}`,
    [ENV.deliveriesQueueUrl]: `https://sqs.${BENCH_REGION}.amazonaws.com/${BENCH_ACCOUNT}/bench-deliveries`,
    [ENV.settings]: JSON.stringify(settings),
    AWS_REGION: BENCH_REGION,
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    POWERTOOLS_SERVICE_NAME: 'hookline-fanout',
    POWERTOOLS_METRICS_NAMESPACE: 'Hookline',
    POWERTOOLS_LOG_LEVEL: 'INFO',
  };
  // The loopback store (its own process) answers the same calls over HTTP once the in-memory rounds are done:
  // every client of the handler and the baseline is made with it as endpoint, and sends in memory until then.
  const store = await startLoopbackStore({ subscriptionsTable: env[ENV.subscriptionsTable] as string, subscriptions: [...fleets.values()].flat(), secrets: new Map() });
  // The SQS client sends to the queue URL's host: the queues live at the store too.
  env[ENV.eventsQueueUrl] = `${store.origin}/${BENCH_ACCOUNT}/${QUEUE_NAME}`;
  env[ENV.deliveriesQueueUrl] = `${store.origin}/${BENCH_ACCOUNT}/bench-deliveries`;
  Object.assign(process.env, env, { AWS_ENDPOINT_URL: store.origin });
  const memory = installMemoryAws({
    subscriptions: [...fleets.values()].flat(),
    secrets: new Map(),
    subscriptionsTable: env[ENV.subscriptionsTable] as string,
    onSendBatch: (input: SendMessageBatchCommandInput) => {
      counter.calls += 1;
      counter.messages += input.Entries?.length ?? 0;
    },
  });
  const fanout = (await import('../../lambdas/fanout/handler')).handler;
  const sqs = new SQSClient({ region: BENCH_REGION });
  const data = dataForEnvelopeSize('bench-fleet', 1_024);
  const bench: Bench = { options, memory, fanout, sqs, counter, data, deliveriesQueueUrl: env[ENV.deliveriesQueueUrl] as string, eventSource: settings.eventSource };

  try {
    const results: SizeResult[] = [];
    for (const [size, subscriptions] of fleets) results.push(await measureSize(bench, size, subscriptions));
    memory.restore();
    const loopback: LoopbackResult[] = [];
    for (const [size, subscriptions] of fleets) loopback.push(await measureLoopback(bench, store, size, subscriptions));
    return report(results, loopback);
  } finally {
    sqs.destroy();
    memory.restore();
    await store.close();
    delete process.env.AWS_ENDPOINT_URL;
  }
}

interface Bench {
  options: SectionRequest['options'];
  memory: MemoryAws;
  fanout: (typeof import('../../lambdas/fanout/handler'))['handler'];
  sqs: SQSClient;
  counter: Counter;
  data: object;
  deliveriesQueueUrl: string;
  eventSource: string;
}

async function measureSize(bench: Bench, size: number, subscriptions: SubscriptionRecord[]): Promise<SizeResult> {
  const events = Math.max(2, Math.ceil(bench.options.fanoutMessages / size));
  await runHookline(bench, size, Math.min(events, 20));
  await runBaseline(bench, subscriptions, Math.min(events, 20));
  const hookline: { perSecond: number; calls: number; messages: number; events: number; cpuMicros: number }[] = [];
  const baseline: { perSecond: number; cpuMicros: number }[] = [];
  const runBaselineRound = async () => {
    const cpu = process.cpuUsage();
    const perSecond = await runBaseline(bench, subscriptions, events);
    const used = process.cpuUsage(cpu);
    baseline.push({ perSecond, cpuMicros: (used.user + used.system) / (events * size) });
  };
  for (let round = 0; round < bench.options.rounds; round += 1) {
    if (round % 2 === 1) await runBaselineRound();
    const cpu = process.cpuUsage();
    const run = await runHookline(bench, size, events);
    const used = process.cpuUsage(cpu);
    hookline.push({ ...run, cpuMicros: (used.user + used.system) / run.messages });
    if (round % 2 === 0) await runBaselineRound();
  }
  const last = hookline.at(-1) as (typeof hookline)[number];
  return {
    subscriptions: size,
    events: last.events,
    messages: last.messages,
    hooklinePerSecond: median(hookline.map((run) => run.perSecond)),
    baselinePerSecond: median(baseline.map((run) => run.perSecond)),
    hooklineRounds: hookline.map((run) => run.perSecond),
    baselineRounds: baseline.map((run) => run.perSecond),
    hooklineCpuMicros: median(hookline.map((run) => run.cpuMicros)),
    baselineCpuMicros: median(baseline.map((run) => run.cpuMicros)),
    sendCalls: last.calls,
    callsPerMessage: last.calls / last.messages,
    idealCallsPerMessage: Math.ceil(size / SQS_BATCH) / size,
  };
}

/** EventBridge events for the fleet, in invocations of 10 records, one invocation at a time (one Lambda instance). */
async function runHookline(bench: Bench, size: number, events: number) {
  const limit = deadline(bench.options.loopTimeLimitMs);
  bench.counter.messages = 0;
  bench.counter.calls = 0;
  bench.memory.reset();
  let published = 0;
  let itemFailures = 0;
  const started = performance.now();
  while (published < events && !limit.expired()) {
    const records = [];
    for (let index = 0; index < EVENTS_PER_INVOCATION && published < events; index += 1, published += 1) {
      records.push(sqsRecord(JSON.stringify(eventBridgeEvent(`bench-fleet-${size}`, bench.eventSource, bench.data)), QUEUE_NAME));
    }
    const response = await bench.fanout({ Records: records }, createLambdaContext('hookline-fanout', 60_000));
    itemFailures += response.batchItemFailures.length;
  }
  const elapsed = performance.now() - started;
  const { messages, calls } = bench.counter;
  const stored = bench.memory.calls();
  const problems: string[] = [];
  if (itemFailures > 0) problems.push(`${itemFailures} batch item failures`);
  if (messages !== published * size) problems.push(`${messages} messages enqueued for ${published} events × ${size} subscriptions`);
  // Each event is one put, and its fan-out marker (written once every message is sent) another.
  if ((stored.PutCommand ?? 0) < published) problems.push(`${stored.PutCommand ?? 0} puts for ${published} events`);
  if (problems.length > 0) throw new Error(`fan-out to ${size}: ${problems.join('; ')}`);
  return { perSecond: (messages / elapsed) * 1000, calls, messages, events: published };
}

interface LoopbackResult {
  subscriptions: number;
  hooklineCpuMicros: number;
  baselineCpuMicros: number;
}

/**
 * The same rounds against the loopback store: the SDK's whole path (serialisation, signing, MD5
 * checks, node:http) runs in this process, the store's answers in its own. CPU per message only.
 */
async function measureLoopback(bench: Bench, store: LoopbackStore, size: number, subscriptions: SubscriptionRecord[]): Promise<LoopbackResult> {
  const events = Math.max(2, Math.ceil(bench.options.fanoutMessages / size));
  const hookline: number[] = [];
  const baseline: number[] = [];
  const cpuPerMessage = async (run: () => Promise<unknown>, messages: number) => {
    const cpu = process.cpuUsage();
    await run();
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / messages;
  };
  await runHooklineLoopback(bench, store, size, Math.min(events, 20));
  for (let round = 0; round < bench.options.rounds; round += 1) {
    hookline.push(await cpuPerMessage(() => runHooklineLoopback(bench, store, size, events), events * size));
    baseline.push(await cpuPerMessage(() => runBaseline(bench, subscriptions, events), events * size));
  }
  return { subscriptions: size, hooklineCpuMicros: median(hookline), baselineCpuMicros: median(baseline) };
}

async function runHooklineLoopback(bench: Bench, store: LoopbackStore, size: number, events: number): Promise<void> {
  await store.reset();
  let itemFailures = 0;
  for (let published = 0; published < events; ) {
    const records = [];
    for (let index = 0; index < EVENTS_PER_INVOCATION && published < events; index += 1, published += 1) {
      records.push(sqsRecord(JSON.stringify(eventBridgeEvent(`bench-fleet-${size}`, bench.eventSource, bench.data)), QUEUE_NAME));
    }
    const response = await bench.fanout({ Records: records }, createLambdaContext('hookline-fanout', 60_000));
    itemFailures += response.batchItemFailures.length;
  }
  const { calls, batchEntries } = await store.stats();
  if (itemFailures > 0 || batchEntries !== events * size || (calls['DynamoDB_20120810.PutItem'] ?? 0) < events) {
    throw new Error(`fan-out to ${size} over the loopback store: ${itemFailures} item failures, ${batchEntries} messages for ${events} events, ${JSON.stringify(calls)}`);
  }
}

/** The same number of delivery-message bodies, built from a template and sent 10 per call, as many calls in flight as Hookline uses. */
async function runBaseline(bench: Bench, subscriptions: SubscriptionRecord[], events: number): Promise<number> {
  const limit = deadline(bench.options.loopTimeLimitMs);
  const deliveryId = 'dlv_0000000000AAAAAAAAAAAAAAAA';
  let sent = 0;
  const started = performance.now();
  for (let published = 0; published < events && !limit.expired(); published += 1) {
    const event = { id: `evt_${randomUUID()}`, type: 'thread.completed', timestamp: new Date().toISOString(), data: bench.data };
    const chunks: SubscriptionRecord[][] = [];
    for (let index = 0; index < subscriptions.length; index += SQS_BATCH) chunks.push(subscriptions.slice(index, index + SQS_BATCH));
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        const chunk = chunks[next] as SubscriptionRecord[];
        next += 1;
        await bench.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: bench.deliveriesQueueUrl,
            Entries: chunk.map((subscription, index) => ({
              Id: String(index),
              MessageBody: JSON.stringify({ v: 1, deliveryId, fleetId: subscription.fleetId, subscriptionId: subscription.id, event, reason: 'fanout' }),
            })),
          }),
        );
        sent += chunk.length;
      }
    };
    await Promise.all(Array.from({ length: Math.min(DEFAULT_SEND_CONCURRENCY, chunks.length) }, worker));
  }
  return (sent / (performance.now() - started)) * 1000;
}

function eventBridgeEvent(fleetId: string, source: string, data: object) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'thread.completed',
    source,
    account: BENCH_ACCOUNT,
    time: new Date().toISOString(),
    region: BENCH_REGION,
    resources: [],
    detail: { fleetId, data },
  };
}

function report(results: SizeResult[], loopback: LoopbackResult[]): SectionOutcome {
  const figures: Figure[] = [];
  for (const result of results) {
    const size = result.subscriptions.toLocaleString('en-US');
    figures.push(
      figure({
        id: `fanout.${result.subscriptions}.rate`,
        label: `1 event → ${size}: messages enqueued/s`,
        value: result.hooklinePerSecond,
        unit: '/s',
        baselineLabel: 'bare SendMessageBatch',
        baselineValue: result.baselinePerSecond,
      }),
      figure({
        id: `fanout.${result.subscriptions}.cpu`,
        label: `1 event → ${size}: CPU µs per message`,
        value: result.hooklineCpuMicros,
        unit: 'µs',
        baselineLabel: 'bare SendMessageBatch',
        baselineValue: result.baselineCpuMicros,
      }),
      figure({
        id: `fanout.${result.subscriptions}.calls`,
        label: `1 event → ${size}: SQS calls per message`,
        value: result.callsPerMessage,
        unit: '',
        baselineLabel: 'batches of 10',
        baselineValue: result.idealCallsPerMessage,
        target: { op: '<=', value: 1 },
      }),
    );
  }
  for (const result of loopback) {
    figures.push(
      figure({
        id: `fanout.${result.subscriptions}.cpu.loopback`,
        label: `1 event → ${result.subscriptions.toLocaleString('en-US')}, loopback store: CPU µs per message`,
        value: result.hooklineCpuMicros,
        unit: 'µs',
        baselineLabel: 'bare SendMessageBatch, loopback',
        baselineValue: result.baselineCpuMicros,
      }),
    );
  }
  return {
    title: 'Fan-out (real handler, AWS answered in memory and by a loopback store)',
    figures,
    notes: [
      ...results.map((result) => `fan-out to ${result.subscriptions}: ${result.events} events, ${result.messages} messages in ${result.sendCalls} SendMessageBatch calls (last round)`),
      `Hookline stores the event, pages the subscriptions, matches, derives delivery ids and logs; the baseline only serialises and sends, ${DEFAULT_SEND_CONCURRENCY} calls in flight`,
      'events arrive 10 per invocation, invocations one at a time (one Lambda instance); ~1 KB of event data',
      `CPU per message = this process's user + system CPU over a round ÷ messages enqueued, median of the rounds; in memory it includes the AWS answers (the SDK's middleware and serialisation run, its HTTP does not); with the loopback store the SDK's whole path runs here and the answers in the store's own process${cpuGoalNote(loopback)}`,
    ],
    details: { sizes: results },
  };
}

/** The goal for fan-out CPU per message at 1,000 subscriptions, where that size was measured. */
const FANOUT_CPU_GOAL_MICROS = 50;

function cpuGoalNote(loopback: readonly LoopbackResult[]): string {
  const thousand = loopback.find((result) => result.subscriptions === 1_000);
  if (thousand === undefined) return '';
  const met = thousand.hooklineCpuMicros <= FANOUT_CPU_GOAL_MICROS ? 'met' : 'MISSED';
  return `; loopback store at 1,000 subscriptions: ${thousand.hooklineCpuMicros.toFixed(1)} µs against a goal of <= ${FANOUT_CPU_GOAL_MICROS} µs (${met})`;
}
