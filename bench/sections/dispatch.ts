import { buildEnvelope } from '../../lambdas/core/envelope';
import { newSubscriptionId } from '../../lambdas/core/ids';
import type { SubscriptionRecord } from '../../lambdas/core/records';
import { formatKeyRing, generateKeyRing, sealSigningSecrets } from '../../lambdas/core/sealed-secrets';
import { generateSigningSecret } from '../../lambdas/core/secrets';
import { parseDeploymentSettings } from '../../lambdas/core/settings';
import { ENV } from '../../lambdas/shared/environment';
import { startBaselineClient, type BaselineClient, type BaselineRun } from '../baseline';
import type { SectionRequest } from '../child';
import { startDispatcherProcess, type DispatcherProcess, type DispatcherProcessConfig } from '../dispatcher-process';
import { startReceiver, type Receiver } from '../receiver';
import { figure, type Figure } from '../results';
import type { SectionOutcome } from '../section';
import { median, summarize, type LatencySummary } from '../stats';
import { startLoopbackStore, type LoopbackStore } from '../store';
import { BENCH_ACCOUNT, BENCH_REGION, dataForEnvelopeSize, sampleEventId } from '../workload';

/**
 * Section 1: the dispatcher Lambda's own entry module (lambdas/dispatcher/handler.ts: middy,
 * Powertools, stores, SDK clients, real HTTP delivery), each configuration alone in its own
 * process, invoked with SQS batches of 10 and POSTing to a receiver process on 127.0.0.1:
 *
 * - AWS answered in memory (the SDK clients' `send` replaced), as before;
 * - AWS answered by a store process over loopback HTTP: the SDK's middleware stack,
 *   serialisation, SigV4 and node:http all run, as they do in Lambda;
 * - the same with the environment as deployed with active tracing (X-Ray SDK live, a sampled
 *   trace per invocation, segments sent to a UDP daemon stand-in).
 *
 * Against a bare undici POST loop and the fair floor: the same POST with both signature schemes'
 * HMACs, plus (over loopback) a hand-signed DynamoDB write to the same store. Every process is
 * warmed again right before each of its measured runs: an idle process runs slower at first.
 */

const FLEET = 'bench-fleet';
const SUBSCRIPTIONS_PER_VARIANT = 10;
const BATCH_SIZE = 10;
const QUEUE_NAME = 'bench-deliveries';
const WARMUP_DELIVERIES = 300;
const VERIFY_SAMPLE = 100;
/** This release's bars (the long-term compass is 0.85 for each ratio and 1.0 for tracing). */
const TARGETS = { bare: 0.3, floorMemory: 0.5, floorLoopback: 0.3, tracedCpu: 1.2 } as const;

interface Variant {
  id: string;
  label: string;
  envelopeBytes: number;
  delayMs: number;
  /** The subscription's secret is mid-rotation: two Standard Webhooks signatures + the hex one. */
  rotated: boolean;
  deliveries: number;
}

/** One thing measured: a dispatcher process or a baseline, run the same number of times. */
interface Contender {
  id: string;
  label: string;
  run(count: number, what: string): Promise<RunResult>;
}

interface RunResult {
  perSecond: number;
  cpuMicrosPerDelivery: number;
  latencies: number[];
  verified: number;
}

interface Measured {
  contender: Contender;
  perSecond: number;
  cpuMicros: number;
  latency: LatencySummary;
  rounds: number[];
  cpuRounds: number[];
  verified: number;
}

interface Fixture {
  options: SectionRequest['options'];
  settings: ReturnType<typeof parseDeploymentSettings>;
  receiver: Receiver;
  store: LoopbackStore;
  baseline: BaselineClient;
  current: string;
  previous: string;
}

export async function runDispatchSection({ options }: SectionRequest): Promise<SectionOutcome> {
  const settings = parseDeploymentSettings({ allowPrivateTargets: ['127.0.0.0/8', '::1/128'] });
  const current = generateSigningSecret();
  const previous = generateSigningSecret();
  const variants: Variant[] = [
    { id: '1kb', label: '1 KB, receiver answers at once', envelopeBytes: 1_024, delayMs: 0, rotated: false, deliveries: options.deliveries },
    { id: 'signed', label: '1 KB, secret mid-rotation', envelopeBytes: 1_024, delayMs: 0, rotated: true, deliveries: options.deliveries },
    { id: '10ms', label: '1 KB, receiver answers after 10 ms', envelopeBytes: 1_024, delayMs: 10, rotated: false, deliveries: options.deliveries },
    { id: '64kb', label: '64 KB, receiver answers at once', envelopeBytes: 65_536, delayMs: 0, rotated: false, deliveries: options.largeDeliveries },
  ];

  const receiver = await startReceiver({ secrets: [current, previous], headerPrefix: settings.signatureHeaderPrefix, verifySample: VERIFY_SAMPLE });
  const subscriptions: Record<string, SubscriptionRecord[]> = {};
  // One key ring for the deployment; every subscription's secrets sealed on its record, as the API does.
  const ring = generateKeyRing();
  const keyArn = `arn:aws:secretsmanager:${BENCH_REGION}:${BENCH_ACCOUNT}:secret:hookline/bench/sealing-key-bench1`;
  const secrets = new Map<string, string>([[keyArn, formatKeyRing(ring)]]);
  const graceEnds = new Date(Date.now() + 86_400_000).toISOString();
  for (const variant of variants) {
    const path = `${variant.rotated ? 'rotated' : 'hook'}/${variant.delayMs}`;
    subscriptions[variant.id] = Array.from({ length: SUBSCRIPTIONS_PER_VARIANT }, () => {
      const id = newSubscriptionId();
      const sealed = sealSigningSecrets(ring, FLEET, id, variant.rotated ? { current, previous, previousExpiresAt: graceEnds } : { current });
      const now = new Date().toISOString();
      return { fleetId: FLEET, id, url: `${receiver.origin}/${path}`, enabled: true, ...sealed, createdAt: now, updatedAt: now };
    });
  }
  const env: Record<string, string> = {
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
  const all = Object.values(subscriptions).flat();
  const store = await startLoopbackStore({ subscriptionsTable: env[ENV.subscriptionsTable] as string, subscriptions: all, secrets });
  const baseline = await startBaselineClient();
  const processConfig = (storeKind: 'memory' | 'loopback', traced: boolean, extraEnv: Record<string, string> = {}): DispatcherProcessConfig => ({
    store: storeKind,
    traced,
    env: { ...env, ...extraEnv },
    storeOrigin: store.origin,
    xrayAddress: store.xrayAddress,
    fleetId: FLEET,
    queueName: QUEUE_NAME,
    subscriptions,
    secrets: Object.fromEntries(secrets),
    subscriptionsTable: env[ENV.subscriptionsTable] as string,
  });
  const processes: DispatcherProcess[] = [];
  const fixture: Fixture = { options, settings, receiver, store, baseline, current, previous };
  try {
    // Started together: each imports the handler's whole module graph.
    const started = await Promise.allSettled([
      startDispatcherProcess(processConfig('memory', false)),
      startDispatcherProcess(processConfig('loopback', false)),
      startDispatcherProcess(processConfig('loopback', true)),
      startDispatcherProcess(processConfig('loopback', true, { HOOKLINE_TRACING: 'sdk' })),
    ]);
    for (const outcome of started) if (outcome.status === 'fulfilled') processes.push(outcome.value);
    const failed = started.find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const [memory, loopback, traced, tracedSdk] = processes as [DispatcherProcess, DispatcherProcess, DispatcherProcess, DispatcherProcess];

    const [first, ...others] = variants as [Variant, ...Variant[]];
    const main = await measure(fixture, first, [
      dispatcherContender(fixture, 'memory', 'in memory', memory, first),
      dispatcherContender(fixture, 'loopback', 'loopback store', loopback, first),
      dispatcherContender(fixture, 'traced', 'loopback store, traced as deployed', traced, first),
      dispatcherContender(fixture, 'traced-sdk', 'loopback store, traced with the X-Ray SDK', tracedSdk, first),
      baselineContender(fixture, 'bare', 'undici POST', first, {}),
      baselineContender(fixture, 'floor', 'fair floor in memory (POST + HMACs)', first, { sign: true }),
      baselineContender(fixture, 'floor1', 'fair floor, loopback (POST + HMACs + 1 signed write)', first, { sign: true, writes: 1 }),
      baselineContender(fixture, 'floor2', 'POST + HMACs + 2 signed writes', first, { sign: true, writes: 2 }),
    ]);
    const rest = [];
    for (const variant of others) {
      rest.push({
        variant,
        measured: await measure(fixture, variant, [
          dispatcherContender(fixture, 'memory', 'in memory', memory, variant),
          baselineContender(fixture, 'bare', variant.rotated ? 'undici POST + HMACs' : 'undici POST', variant, { sign: variant.rotated }),
        ]),
      });
    }
    return report(first, main, rest, options.concurrency);
  } finally {
    await Promise.allSettled([...processes.map((process) => process.close()), baseline.close(), receiver.close(), store.close()]);
  }
}

/** Each contender warmed, then measured, once per round; the order turns around every round to spread drift. */
async function measure(fixture: Fixture, variant: Variant, contenders: Contender[]): Promise<Map<string, Measured>> {
  const runs = new Map<string, RunResult[]>(contenders.map((contender) => [contender.id, []]));
  const warmup = Math.min(WARMUP_DELIVERIES, variant.deliveries);
  for (let round = 0; round < fixture.options.rounds; round += 1) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const contender of order) {
      await contender.run(warmup, 'warm-up');
      runs.get(contender.id)?.push(await contender.run(variant.deliveries, `${variant.id} round ${round + 1}`));
    }
  }
  return new Map(
    contenders.map((contender) => {
      const list = runs.get(contender.id) ?? [];
      return [
        contender.id,
        {
          contender,
          perSecond: median(list.map((run) => run.perSecond)),
          cpuMicros: median(list.map((run) => run.cpuMicrosPerDelivery)),
          latency: summarize(list.flatMap((run) => run.latencies)),
          rounds: list.map((run) => run.perSecond),
          cpuRounds: list.map((run) => run.cpuMicrosPerDelivery),
          verified: list.reduce((sum, run) => sum + run.verified, 0),
        },
      ];
    }),
  );
}

/** A dispatcher process's run, checked: every delivery reached the receiver and was claimed and recorded. */
function dispatcherContender(fixture: Fixture, id: string, label: string, process: DispatcherProcess, variant: Variant): Contender {
  return {
    id,
    label,
    run: async (count, what) => {
      await Promise.all([fixture.receiver.reset(), fixture.store.reset()]);
      const result = await process.run({
        variantId: variant.id,
        count,
        envelopeBytes: variant.envelopeBytes,
        concurrency: fixture.options.concurrency,
        timeLimitMs: fixture.options.loopTimeLimitMs,
      });
      const [stats, store] = await Promise.all([fixture.receiver.stats(), fixture.store.stats()]);
      const updates = id === 'memory' ? (result.calls.UpdateCommand ?? 0) : (store.calls['DynamoDB_20120810.UpdateItem'] ?? 0);
      const problems: string[] = [];
      if (result.itemFailures > 0) problems.push(`${result.itemFailures} batch item failures`);
      if (stats.hook !== result.completed) problems.push(`the receiver got ${stats.hook} of ${result.completed} deliveries`);
      // A claim and a record per delivery; a subscription's lastTriggeredAt once a minute, give or take
      // the concurrent invocations that read it before the first write.
      const touches = SUBSCRIPTIONS_PER_VARIANT * (fixture.options.concurrency / BATCH_SIZE + 1);
      if (updates < 2 * result.completed || updates > 2 * result.completed + touches) {
        problems.push(`${updates} store updates for ${result.completed} deliveries (claim + record each)`);
      }
      if (stats.verifyFailures > 0) problems.push(`${stats.verifyFailures} deliveries failed signature verification (${stats.firstFailure})`);
      if (stats.verified === 0 && result.completed > 0) problems.push('no delivery had its signatures verified');
      if (id === 'traced-sdk' && store.segments === 0) problems.push('tracing with the X-Ray SDK sent no segment');
      if (problems.length > 0) throw new Error(`dispatcher (${label}) ${what}: ${problems.join('; ')}`);
      return {
        perSecond: (result.completed / result.elapsedMs) * 1000,
        cpuMicrosPerDelivery: result.cpuMicros / Math.max(1, result.completed),
        latencies: result.latencies,
        verified: stats.verified,
      };
    },
  };
}

/** The baseline process's bare POST loops, optionally with both schemes' HMACs and signed store writes. */
function baselineContender(fixture: Fixture, id: string, label: string, variant: Variant, extra: { sign?: boolean; writes?: number }): Contender {
  return {
    id,
    label,
    run: async (count, what) => {
      await fixture.receiver.reset();
      const data = dataForEnvelopeSize(FLEET, variant.envelopeBytes);
      const request: BaselineRun = {
        origin: fixture.receiver.origin,
        path: `/plain/${variant.delayMs}`,
        body: buildEnvelope(FLEET, { id: sampleEventId(0), type: 'thread.completed', timestamp: new Date().toISOString(), data }),
        count,
        concurrency: fixture.options.concurrency,
        timeLimitMs: fixture.options.loopTimeLimitMs,
      };
      if (extra.sign === true) {
        const secrets = variant.rotated ? [fixture.current, fixture.previous] : [fixture.current];
        request.signWith = { secrets, headerPrefix: fixture.settings.signatureHeaderPrefix };
      }
      if (extra.writes !== undefined) request.storeWrites = { origin: fixture.store.origin, count: extra.writes };
      const result = await fixture.baseline.run(request);
      const stats = await fixture.receiver.stats();
      if (result.errors > 0 || stats.plain !== result.completed) {
        throw new Error(`baseline ${label} ${what}: ${result.errors} non-200 answers, receiver got ${stats.plain} of ${result.completed}`);
      }
      return {
        perSecond: (result.completed / result.elapsedMs) * 1000,
        cpuMicrosPerDelivery: result.cpuMicros / Math.max(1, result.completed),
        latencies: result.latencies,
        verified: 0,
      };
    },
  };
}

function report(first: Variant, main: Map<string, Measured>, rest: { variant: Variant; measured: Map<string, Measured> }[], concurrency: number): SectionOutcome {
  const get = (map: Map<string, Measured>, id: string) => map.get(id) as Measured;
  const [memory, loopback, traced, tracedSdk, bare, floor, floor1, floor2] = ['memory', 'loopback', 'traced', 'traced-sdk', 'bare', 'floor', 'floor1', 'floor2'].map((id) =>
    get(main, id),
  ) as [Measured, Measured, Measured, Measured, Measured, Measured, Measured, Measured];
  const throughput = (id: string, label: string, value: Measured, base: Measured, target?: number): Figure =>
    figure({
      id,
      label,
      value: value.perSecond,
      unit: '/s',
      baselineLabel: base.contender.label,
      baselineValue: base.perSecond,
      ...(target === undefined ? {} : { target: { op: '>=' as const, value: target } }),
    });
  const cpu = (id: string, label: string, value: Measured, base: Measured, target?: number): Figure =>
    figure({
      id,
      label,
      value: value.cpuMicros,
      unit: 'µs CPU',
      baselineLabel: base.contender.label,
      baselineValue: base.cpuMicros,
      ...(target === undefined ? {} : { target: { op: '<=' as const, value: target } }),
    });
  const figures: Figure[] = [
    throughput(`dispatch.${first.id}.throughput`, `${first.label}, in memory: deliveries/s`, memory, bare, TARGETS.bare),
    throughput('dispatch.floor.memory', 'in memory ÷ fair floor: deliveries/s', memory, floor, TARGETS.floorMemory),
    throughput('dispatch.floor.loopback', 'loopback store ÷ fair floor: deliveries/s', loopback, floor1, TARGETS.floorLoopback),
    throughput('dispatch.floor.loopback2', 'loopback store ÷ floor with 2 writes: deliveries/s', loopback, floor2),
    throughput('dispatch.traced.throughput', 'traced as deployed ÷ untraced (loopback): deliveries/s', traced, loopback),
    cpu('dispatch.traced.cpu', 'traced as deployed ÷ untraced (loopback): CPU per delivery', traced, loopback, TARGETS.tracedCpu),
    cpu('dispatch.tracedsdk.cpu', 'traced with the X-Ray SDK ÷ untraced (loopback): CPU per delivery', tracedSdk, loopback),
    cpu('dispatch.memory.cpu', 'in memory: CPU per delivery', memory, floor),
    cpu('dispatch.loopback.cpu', 'loopback store: CPU per delivery', loopback, floor1),
    cpu('dispatch.loopback2.cpu', 'loopback store: CPU per delivery vs 2 writes', loopback, floor2),
    figure({ id: `dispatch.${first.id}.p50`, label: `${first.label}, in memory: p50 per attempt`, value: memory.latency.p50, unit: 'ms', baselineLabel: bare.contender.label, baselineValue: bare.latency.p50 }),
    figure({ id: `dispatch.${first.id}.p99`, label: `${first.label}, in memory: p99 per attempt`, value: memory.latency.p99, unit: 'ms', baselineLabel: bare.contender.label, baselineValue: bare.latency.p99 }),
  ];
  for (const { variant, measured } of rest) {
    const hookline = get(measured, 'memory');
    const base = get(measured, 'bare');
    figures.push(
      throughput(`dispatch.${variant.id}.throughput`, `${variant.label}, in memory: deliveries/s`, hookline, base),
      cpu(`dispatch.${variant.id}.cpu`, `${variant.label}, in memory: CPU per delivery`, hookline, base),
      figure({ id: `dispatch.${variant.id}.p99`, label: `${variant.label}, in memory: p99 per attempt`, value: hookline.latency.p99, unit: 'ms', baselineLabel: base.contender.label, baselineValue: base.latency.p99 }),
    );
  }
  const verified = [memory, loopback, traced, tracedSdk, ...rest.map(({ measured }) => get(measured, 'memory'))].reduce((sum, item) => sum + item.verified, 0);
  const cpuRow = (item: Measured) => `${item.contender.label} ${Math.round(item.cpuMicros)} µs at ${Math.round(item.perSecond)}/s`;
  return {
    title: 'Dispatcher throughput and CPU (real handler in its own process; AWS in memory or a store over loopback HTTP; receiver on 127.0.0.1)',
    figures,
    notes: [
      `${concurrency} POSTs in flight: ${concurrency / BATCH_SIZE} concurrent invocations of ${BATCH_SIZE} records vs ${concurrency} bare POST loops; median of the rounds; every process warmed (${WARMUP_DELIVERIES} deliveries) before each measured run`,
      `CPU per delivery = user + system CPU of the dispatcher's (or baseline's) own process over the run ÷ deliveries (1 KB): ${[memory, loopback, traced, tracedSdk, bare, floor, floor1, floor2].map(cpuRow).join('; ')}`,
      'the dispatcher makes two store writes per attempt (claim before the POST, record after it) and reads the subscription and secret once per cache lifetime; the fair floor counts one signed write (the record), the "2 writes" floor both',
      'traced as deployed = AWS_EXECUTION_ENV, LAMBDA_TASK_ROOT, AWS_XRAY_DAEMON_ADDRESS (a UDP sink), AWS_XRAY_CONTEXT_MISSING=LOG_ERROR and a sampled _X_AMZN_TRACE_ID per invocation (every invocation traced: the upper bound; Lambda samples 1/s + 5 % by default); "with the X-Ray SDK" adds HOOKLINE_TRACING=sdk (Powertools Tracer: handler and AWS-call subsegments); "as deployed" is the default mode',
      `per attempt = the webhook POST only: the baseline's undici request created → response complete, Hookline's node:http request started → response head (bodies of a few bytes); every delivery reached the receiver and was claimed and recorded; ${verified} sampled deliveries passed both signature checks`,
      `targets are this release's: ÷ bare POST ≥ ${TARGETS.bare}, ÷ fair floor ≥ ${TARGETS.floorMemory} in memory / ≥ ${TARGETS.floorLoopback} loopback, traced CPU ≤ ${TARGETS.tracedCpu}× untraced (compass: 0.85 and 1.0)`,
    ],
    details: {
      main: Object.fromEntries([...main].map(([id, item]) => [id, { ...item, contender: item.contender.label }])),
      ...Object.fromEntries(rest.map(({ variant, measured }) => [variant.id, Object.fromEntries([...measured].map(([id, item]) => [id, { ...item, contender: item.contender.label }]))])),
    },
  };
}
