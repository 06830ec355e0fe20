import { performance } from 'node:perf_hooks';
import { buildEnvelope } from '../../lambdas/core/envelope';
import { newSubscriptionId } from '../../lambdas/core/ids';
import type { SubscriptionRecord } from '../../lambdas/core/records';
import { formatKeyRing, generateKeyRing, sealSigningSecrets } from '../../lambdas/core/sealed-secrets';
import { generateSigningSecret } from '../../lambdas/core/secrets';
import { parseDeploymentSettings } from '../../lambdas/core/settings';
import { ENV } from '../../lambdas/shared/environment';
import { createLambdaContext } from '../../local/lambda-context';
import { startBaselineClient, type BaselineClient } from '../baseline';
import type { SectionRequest } from '../child';
import { createHttpProbe, type HttpProbe } from '../http-probe';
import { installMemoryAws, type MemoryAws } from '../memory-aws';
import { startReceiver, type Receiver } from '../receiver';
import { figure, type Figure } from '../results';
import { deadline, type SectionOutcome } from '../section';
import { median, summarize, type LatencySummary } from '../stats';
import { BENCH_ACCOUNT, BENCH_REGION, dataForEnvelopeSize, deliveryMessage, sampleEventId, sqsRecord } from '../workload';

/**
 * Section 1: the dispatcher Lambda's own entry module (lambdas/dispatcher/handler.ts: middy,
 * Powertools, stores, real HTTP delivery) invoked with SQS batches of 10, AWS answered in memory, POSTing to a receiver
 * process on 127.0.0.1 — against a bare undici Pool POST loop of the same bodies at the same
 * concurrency.
 */

const FLEET = 'bench-fleet';
const SUBSCRIPTIONS_PER_VARIANT = 10;
const BATCH_SIZE = 10;
const QUEUE_NAME = 'bench-deliveries';
const WARMUP_DELIVERIES = 200;
const VERIFY_SAMPLE = 100;
/** The bar for Hookline's throughput relative to the bare POST loop. */
const THROUGHPUT_TARGET = 0.85;

interface Variant {
  id: string;
  label: string;
  envelopeBytes: number;
  delayMs: number;
  /** The subscription's secret is mid-rotation: two Standard Webhooks signatures + the seed one. */
  rotated: boolean;
  /** The baseline computes the same HMACs Hookline does before each POST. */
  signedBaseline: boolean;
  deliveries: number;
  target: boolean;
}

interface RunResult {
  completed: number;
  /** Deliveries whose signatures the receiver checked. */
  verified: number;
  elapsedMs: number;
  perSecond: number;
  latencies: number[];
}

interface VariantResult {
  variant: Variant;
  hookline: { perSecond: number; latency: LatencySummary; rounds: number[] };
  baseline: { perSecond: number; latency: LatencySummary; rounds: number[] };
  verified: number;
}

export async function runDispatchSection({ options }: SectionRequest): Promise<SectionOutcome> {
  const settings = parseDeploymentSettings({ allowPrivateTargets: ['127.0.0.0/8', '::1/128'] });
  const current = generateSigningSecret();
  const previous = generateSigningSecret();
  const variants: Variant[] = [
    { id: '1kb', label: '1 KB, receiver answers at once', envelopeBytes: 1_024, delayMs: 0, rotated: false, signedBaseline: false, deliveries: options.deliveries, target: true },
    { id: 'signed', label: '1 KB, baseline signs both schemes too', envelopeBytes: 1_024, delayMs: 0, rotated: true, signedBaseline: true, deliveries: options.deliveries, target: false },
    { id: '10ms', label: '1 KB, receiver answers after 10 ms', envelopeBytes: 1_024, delayMs: 10, rotated: false, signedBaseline: false, deliveries: options.deliveries, target: false },
    { id: '64kb', label: '64 KB, receiver answers at once', envelopeBytes: 65_536, delayMs: 0, rotated: false, signedBaseline: false, deliveries: options.largeDeliveries, target: false },
  ];

  const receiver = await startReceiver({ secrets: [current, previous], headerPrefix: settings.signatureHeaderPrefix, verifySample: VERIFY_SAMPLE });
  const subscriptions = new Map<string, SubscriptionRecord[]>();
  // One key ring for the deployment; every subscription's secrets sealed on its record, as the API does.
  const ring = generateKeyRing();
  const keyArn = `arn:aws:secretsmanager:${BENCH_REGION}:${BENCH_ACCOUNT}:secret:hookline/bench/sealing-key-bench1`;
  const secrets = new Map<string, string>([[keyArn, formatKeyRing(ring)]]);
  const graceEnds = new Date(Date.now() + 86_400_000).toISOString();
  for (const variant of variants) {
    const path = `${variant.rotated ? 'rotated' : 'hook'}/${variant.delayMs}`;
    const list = Array.from({ length: SUBSCRIPTIONS_PER_VARIANT }, () => {
      const id = newSubscriptionId();
      const sealed = sealSigningSecrets(ring, FLEET, id, variant.rotated ? { current, previous, previousExpiresAt: graceEnds } : { current });
      const now = new Date().toISOString();
      return { fleetId: FLEET, id, url: `${receiver.origin}/${path}`, enabled: true, ...sealed, createdAt: now, updatedAt: now };
    });
    subscriptions.set(variant.id, list);
  }

  const env = {
    [ENV.subscriptionsTable]: 'bench-subscriptions',
    [ENV.deliveriesTable]: 'bench-deliveries',
    [ENV.deliveriesQueueUrl]: `https://sqs.${BENCH_REGION}.amazonaws.com/${BENCH_ACCOUNT}/${QUEUE_NAME}`,
    [ENV.sealingKeySecret]: keyArn,
    [ENV.settings]: JSON.stringify(settings),
    AWS_REGION: BENCH_REGION,
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    POWERTOOLS_SERVICE_NAME: 'hookline-dispatcher',
    POWERTOOLS_METRICS_NAMESPACE: 'Hookline',
    POWERTOOLS_LOG_LEVEL: 'INFO',
  };
  Object.assign(process.env, env);
  const memory = installMemoryAws({
    subscriptions: [...subscriptions.values()].flat(),
    secrets,
    subscriptionsTable: env[ENV.subscriptionsTable] as string,
  });
  // The Lambda entry point itself, imported once its environment is set, as the runtime does.
  const dispatcher = (await import('../../lambdas/dispatcher/handler')).handler;
  const probe = createHttpProbe();
  const baseline = await startBaselineClient();
  const bench: Bench = { options, settings, receiver, baseline, memory, dispatcher, probe, subscriptions, secrets: [current, previous] };

  try {
    const results: VariantResult[] = [];
    for (const variant of variants) results.push(await measureVariant(bench, variant));
    return report(results, options.concurrency);
  } finally {
    probe.dispose();
    memory.restore();
    await Promise.allSettled([baseline.close(), receiver.close()]);
  }
}

interface Bench {
  options: SectionRequest['options'];
  settings: ReturnType<typeof parseDeploymentSettings>;
  receiver: Receiver;
  baseline: BaselineClient;
  memory: MemoryAws;
  dispatcher: (typeof import('../../lambdas/dispatcher/handler'))['handler'];
  probe: HttpProbe;
  subscriptions: Map<string, SubscriptionRecord[]>;
  secrets: string[];
}

async function measureVariant(bench: Bench, variant: Variant): Promise<VariantResult> {
  const data = dataForEnvelopeSize(FLEET, variant.envelopeBytes);
  await runHookline(bench, variant, data, Math.min(WARMUP_DELIVERIES, variant.deliveries), 'warm-up');
  await runBaseline(bench, variant, data, Math.min(WARMUP_DELIVERIES, variant.deliveries));
  const hookline: RunResult[] = [];
  const baseline: RunResult[] = [];
  let verified = 0;
  for (let round = 0; round < bench.options.rounds; round += 1) {
    // Alternating which side goes first spreads slow drifts of a shared machine over both.
    if (round % 2 === 1) baseline.push(await runBaseline(bench, variant, data, variant.deliveries));
    const run = await runHookline(bench, variant, data, variant.deliveries, `round ${round + 1}`);
    hookline.push(run);
    verified += run.verified;
    if (round % 2 === 0) baseline.push(await runBaseline(bench, variant, data, variant.deliveries));
  }
  return {
    variant,
    hookline: { perSecond: median(hookline.map((run) => run.perSecond)), latency: summarize(hookline.flatMap((run) => run.latencies)), rounds: hookline.map((run) => run.perSecond) },
    baseline: { perSecond: median(baseline.map((run) => run.perSecond)), latency: summarize(baseline.flatMap((run) => run.latencies)), rounds: baseline.map((run) => run.perSecond) },
    verified,
  };
}

/** Invokes the dispatcher with batches of 10, `concurrency / 10` invocations at a time, and checks every delivery landed. */
async function runHookline(bench: Bench, variant: Variant, data: object, count: number, what: string): Promise<RunResult> {
  const subscriptions = bench.subscriptions.get(variant.id) ?? [];
  const timestamp = new Date().toISOString();
  const batches = Math.ceil(count / BATCH_SIZE);
  const limit = deadline(bench.options.loopTimeLimitMs);
  let next = 0;
  let completed = 0;
  let itemFailures = 0;
  await bench.receiver.reset();
  bench.memory.reset();
  bench.probe.start();
  const started = performance.now();
  const invoker = async (): Promise<void> => {
    while (next < batches && !limit.expired()) {
      const first = next * BATCH_SIZE;
      next += 1;
      const records = [];
      for (let index = first; index < Math.min(first + BATCH_SIZE, count); index += 1) {
        const subscription = subscriptions[index % subscriptions.length] as SubscriptionRecord;
        const event = { id: sampleEventId(index), type: 'thread.completed', timestamp, data };
        records.push(sqsRecord(JSON.stringify(deliveryMessage(FLEET, subscription.id, event)), QUEUE_NAME));
      }
      const response = await bench.dispatcher({ Records: records }, createLambdaContext('hookline-dispatcher', 60_000));
      itemFailures += response.batchItemFailures.length;
      completed += records.length;
    }
  };
  await Promise.all(Array.from({ length: bench.options.concurrency / BATCH_SIZE }, invoker));
  const elapsedMs = performance.now() - started;
  const latencies = bench.probe.stop();

  const stats = await bench.receiver.stats();
  const calls = bench.memory.calls();
  const problems: string[] = [];
  if (itemFailures > 0) problems.push(`${itemFailures} batch item failures`);
  if (stats.hook !== completed) problems.push(`the receiver got ${stats.hook} of ${completed} deliveries`);
  // Each delivery is claimed, then recorded (lastTriggeredAt adds one write per subscription and minute).
  const writes = calls.UpdateCommand ?? 0;
  if (writes < 2 * completed || writes > 2 * completed + SUBSCRIPTION_WRITES_SLACK) problems.push(`${writes} store writes for ${completed} deliveries (a claim and a record each)`);
  if (stats.verifyFailures > 0) problems.push(`${stats.verifyFailures} deliveries failed signature verification (${stats.firstFailure})`);
  if (stats.verified === 0 && completed > 0) problems.push('no delivery had its signatures verified');
  if (problems.length > 0) throw new Error(`dispatcher ${variant.id} ${what}: ${problems.join('; ')}`);
  return { completed, verified: stats.verified, elapsedMs, perSecond: (completed / elapsedMs) * 1000, latencies };
}

/** lastTriggeredAt writes a run may add beside the claims and records (one per subscription and minute). */
const SUBSCRIPTION_WRITES_SLACK = 50;

/** The same bodies POSTed by the baseline process's bare undici loops, optionally signed like Hookline signs. */
async function runBaseline(bench: Bench, variant: Variant, data: object, count: number): Promise<RunResult> {
  await bench.receiver.reset();
  const result = await bench.baseline.run({
    origin: bench.receiver.origin,
    path: `/plain/${variant.delayMs}`,
    body: buildEnvelope(FLEET, { id: sampleEventId(0), type: 'thread.completed', timestamp: new Date().toISOString(), data }),
    ...(variant.signedBaseline
      ? { signWith: { secrets: variant.rotated ? bench.secrets : bench.secrets.slice(0, 1), headerPrefix: bench.settings.signatureHeaderPrefix } }
      : {}),
    count,
    concurrency: bench.options.concurrency,
    timeLimitMs: bench.options.loopTimeLimitMs,
  });
  const stats = await bench.receiver.stats();
  if (result.errors > 0 || stats.plain !== result.completed) {
    throw new Error(`baseline ${variant.id}: ${result.errors} non-200 answers, receiver got ${stats.plain} of ${result.completed}`);
  }
  return { completed: result.completed, verified: 0, elapsedMs: result.elapsedMs, perSecond: (result.completed / result.elapsedMs) * 1000, latencies: result.latencies };
}

function report(results: VariantResult[], concurrency: number): SectionOutcome {
  const figures: Figure[] = [];
  const baselineName = (variant: Variant) => (variant.signedBaseline ? 'undici POST + HMACs' : 'undici POST');
  for (const { variant, hookline, baseline } of results) {
    figures.push(
      figure({
        id: `dispatch.${variant.id}.throughput`,
        label: `${variant.label}: deliveries/s`,
        value: hookline.perSecond,
        unit: '/s',
        baselineLabel: baselineName(variant),
        baselineValue: baseline.perSecond,
        ...(variant.target ? { target: { op: '>=' as const, value: THROUGHPUT_TARGET } } : {}),
      }),
      figure({
        id: `dispatch.${variant.id}.p50`,
        label: `${variant.label}: p50 per attempt`,
        value: hookline.latency.p50,
        unit: 'ms',
        baselineLabel: baselineName(variant),
        baselineValue: baseline.latency.p50,
      }),
      figure({
        id: `dispatch.${variant.id}.p99`,
        label: `${variant.label}: p99 per attempt`,
        value: hookline.latency.p99,
        unit: 'ms',
        baselineLabel: baselineName(variant),
        baselineValue: baseline.latency.p99,
      }),
    );
  }
  const verified = results.reduce((sum, result) => sum + result.verified, 0);
  return {
    title: 'Dispatcher throughput (real handler, AWS answered in memory, receiver on 127.0.0.1)',
    figures,
    notes: [
      `${concurrency} POSTs in flight: ${concurrency / BATCH_SIZE} concurrent invocations of ${BATCH_SIZE} records vs ${concurrency} bare POST loops; median of the rounds`,
      `per attempt = undici request created → response complete, timed the same way for both; the ratio of a latency is Hookline ÷ baseline`,
      `every Hookline delivery reached the receiver and was recorded; ${verified} sampled deliveries passed both signature checks`,
      `"baseline signs both schemes too": the secret is mid-rotation (2 Standard Webhooks signatures + seed), the baseline computes the same HMACs`,
    ],
    details: Object.fromEntries(results.map((result) => [result.variant.id, { ...result, variant: result.variant }])),
  };
}
