import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { MAX_MESSAGE_DELAY_SECONDS, planWait, nextHop } from '../../lambdas/core/delivery-policy';
import { newSubscriptionId } from '../../lambdas/core/ids';
import { generateSigningSecret } from '../../lambdas/core/secrets';
import { circuitAfterFailedProbe, circuitToOpen } from '../../lambdas/core/endpoint-health';
import { DEFAULT_RETRY_DELAYS_SECONDS, parseDeploymentSettings, type DeploymentSettingsInput } from '../../lambdas/core/settings';
import { createDocumentClient, createSecretsClient } from '../../lambdas/shared/clients';
import { ENV } from '../../lambdas/shared/environment';
import { SealingKeys } from '../../lambdas/shared/sealing-keys';
import { SigningSecrets } from '../../lambdas/shared/signing-secrets';
import { SubscriptionsStore } from '../../lambdas/shared/subscriptions-store';
import type { LocalLogger } from '../../local/logger';
import { startPipeline } from '../../local/pipeline';
import { startLocalRuntime } from '../../local/runtime';
import type { SectionRequest } from '../child';
import { figure } from '../results';
import type { SectionOutcome } from '../section';
import { summarize, type LatencySummary } from '../stats';

/**
 * Section 6: one tenant's dead or slow endpoint next to a healthy one. The whole pipeline on the
 * local runtime (bus → fan-out → dispatcher → real HTTP receivers on 127.0.0.1), with the local
 * SQS's in-flight limit on, so a design that parks retries in flight would show it. The healthy
 * fleet's delivery latency (publish → arrival) with a noisy fleet taking half the traffic is
 * divided by the same latency with the noisy fleet quiet, measured in the same run, once with the
 * endpoint guards (circuit breaker, slow-endpoint concurrency cap) on and once with them off. The
 * noisy fleet publishes alone for a warm-up first, so what is measured is the steady state once the
 * guards know the endpoint (the breaker needs its failures, the cap needs one slow attempt).
 */

const quiet: LocalLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const IN_FLIGHT_LIMIT = 100;
const DISPATCHER_POLLERS = 4;
const HEALTHY = 'healthy-fleet';
const NOISY = 'noisy-fleet';

type Noise = 'none' | 'dead' | 'slow';

interface Sizes {
  events: number;
  ratePerSecond: number;
  warmUpSeconds: number;
  /** The slow endpoint answers after the attempt timeout (a timeout) in a full run; sooner in a quick one. */
  slowAnswerMs: number;
  settings: DeploymentSettingsInput;
}

interface ScenarioResult {
  healthy: LatencySummary;
  /** POSTs the noisy endpoint received while the healthy fleet was measured. */
  noisyRequests: number;
  /** POSTs the noisy endpoint received over the whole scenario, warm-up included. */
  noisyTotal: number;
  measuredSeconds: number;
}

/** The guards off: no breaker, no default cap (a webhook's own settings would still apply; these set none). */
const GUARDS_OFF: DeploymentSettingsInput = { circuitBreakerThreshold: 0, endpointMaxConcurrency: 0 };

function sizesFor(quick: boolean): Sizes {
  const base: DeploymentSettingsInput = { allowPrivateTargets: ['127.0.0.0/8'], retryDelaysSeconds: [1, 2, 4], retryJitter: 0, maxAttempts: 4 };
  if (quick) return { events: 20, ratePerSecond: 10, warmUpSeconds: 2, slowAnswerMs: 2_000, settings: { ...base, slowEndpointMs: 500, attemptTimeoutSeconds: 3 } };
  return { events: 150, ratePerSecond: 15, warmUpSeconds: 15, slowAnswerMs: 10_000, settings: base };
}

export async function runIsolationSection({ options }: SectionRequest): Promise<SectionOutcome> {
  const sizes = sizesFor(options.quick);
  const quietRun = await scenario('none', true, sizes);
  const dead = { on: await scenario('dead', true, sizes), off: await scenario('dead', false, sizes) };
  const slow = { on: await scenario('slow', true, sizes), off: await scenario('slow', false, sizes) };
  const base = 'healthy, noisy fleet quiet';
  const target = { op: '<=' as const, value: 1.2 };
  const hops = hopTable();
  const hourly = deadEndpointPostsPerHour();
  const latency = (id: string, label: string, result: ScenarioResult, goal: boolean) => [
    figure({ id: `${id}.p50`, label: `healthy p50, ${label}`, value: result.healthy.p50, unit: 'ms', baselineLabel: base, baselineValue: quietRun.healthy.p50, ...(goal ? { target } : {}) }),
    figure({ id: `${id}.p99`, label: `healthy p99, ${label}`, value: result.healthy.p99, unit: 'ms', baselineLabel: base, baselineValue: quietRun.healthy.p99, ...(goal ? { target } : {}) }),
  ];
  const slowLabel = `${sizes.slowAnswerMs / 1000}-second-slow endpoint takes half`;
  return {
    title: 'Noisy neighbour (local runtime, in-flight limit on)',
    figures: [
      ...latency('isolation.dead', 'dead endpoint takes half the traffic, guards on', dead.on, true),
      ...latency('isolation.dead.off', 'dead endpoint takes half, guards off', dead.off, false),
      ...latency('isolation.slow', `${slowLabel}, guards on`, slow.on, true),
      ...latency('isolation.slow.off', `${slowLabel}, guards off`, slow.off, false),
      figure({
        id: 'isolation.dead.posts',
        label: 'POSTs to the dead endpoint over the run (warm-up included), breaker on',
        value: dead.on.noisyTotal,
        unit: 'POSTs',
        baselineLabel: 'breaker off',
        baselineValue: dead.off.noisyTotal,
      }),
      figure({
        id: 'isolation.dead.posts-per-hour',
        label: 'POSTs an hour to a dead endpoint at 1 event/s, breaker on (modelled)',
        value: hourly.on,
        unit: 'POSTs/h',
        baselineLabel: 'breaker off (modelled)',
        baselineValue: hourly.off,
      }),
    ],
    notes: [
      `${sizes.events} events per fleet at ${sizes.ratePerSecond}/s each through PutEvents after a ${sizes.warmUpSeconds} s warm-up of the noisy fleet alone; ` +
        `local SQS in-flight limit ${IN_FLIGHT_LIMIT}; ${DISPATCHER_POLLERS} dispatcher pollers, batches of 10`,
      `guards on: circuit breaker after 10 failed attempts, a slow endpoint capped at ${DISPATCHER_POLLERS / 2} POSTs (half the pollers); guards off: circuitBreakerThreshold 0, endpointMaxConcurrency 0`,
      `dead endpoint: 500 to every POST, retries after 1, 2, 4 s; POSTs while measured: ${dead.on.noisyRequests} on, ${dead.off.noisyRequests} off, over about ${Math.round(dead.on.measuredSeconds)} s`,
      `slow endpoint answers after ${sizes.slowAnswerMs / 1000} s (${options.quick ? 'quick run: shortened' : 'the attempt timeout, so each attempt is a timeout'}); POSTs while measured: ${slow.on.noisyRequests} on, ${slow.off.noisyRequests} off`,
      `POSTs an hour, modelled from the policy with the default settings: off, each delivery makes all ${hourly.attempts} attempts (${hourly.off} an hour at 1 event/s); ` +
        `on, the circuit opens after ${hourly.threshold} failures and then only probes: ${hourly.firstHour} in the first hour, ${hourly.on} an hour once the cool-down reaches its maximum`,
      `retry waits are delayed messages: over ${MAX_MESSAGE_DELAY_SECONDS} s they hop; the default schedule's ${DEFAULT_RETRY_DELAYS_SECONDS.length} waits send ${hops.messages} messages in all (${hops.hops} hops), ` +
        `EventBridge Scheduler would take ${hops.schedulerRequests} requests (a CreateSchedule and its SendMessage per long wait, plus ${hops.shortWaits} plain delayed sends)`,
      `per retry: 1 SendMessage (dispatcher) + the receive and delete it shares with its batch; per hop: the same again, with no DynamoDB call`,
    ],
    details: { quiet: quietRun, dead, slow, hops, hourly },
  };
}

/**
 * POSTs an hour to an endpoint that is down, with the default settings, from the policy's own
 * functions: without the breaker every delivery makes all its attempts; with it, once open, only
 * the probes, one per cool-down.
 */
function deadEndpointPostsPerHour(): { on: number; off: number; firstHour: number; attempts: number; threshold: number } {
  const settings = parseDeploymentSettings({});
  const eventsPerHour = 3_600;
  let at = new Date(0);
  let circuit = circuitToOpen(settings.circuitBreakerThreshold, at, settings);
  let firstHour = settings.circuitBreakerThreshold;
  let cooldown = 0;
  while (circuit !== undefined) {
    at = new Date(Date.parse(circuit.openUntil));
    if (at.getTime() > 3_600_000 && cooldown === settings.circuitBreakerMaxCooldownSeconds) break;
    if (at.getTime() <= 3_600_000) firstHour += 1;
    cooldown = circuit.cooldownSeconds;
    circuit = circuitAfterFailedProbe(circuit, at, settings);
  }
  return {
    on: Math.round(3_600 / settings.circuitBreakerMaxCooldownSeconds),
    off: eventsPerHour * settings.maxAttempts,
    firstHour,
    attempts: settings.maxAttempts,
    threshold: settings.circuitBreakerThreshold,
  };
}

/** Messages the default schedule sends when every wait runs to its end, hops included, against Scheduler. */
function hopTable(): { messages: number; hops: number; schedulerRequests: number; shortWaits: number } {
  let messages = 0;
  let hops = 0;
  let schedulerRequests = 0;
  let shortWaits = 0;
  for (const wait of DEFAULT_RETRY_DELAYS_SECONDS) {
    const start = new Date(0);
    let plan = planWait(wait, start);
    messages += 1;
    let at = start.getTime() + plan.delaySeconds * 1000;
    while (plan.notBefore !== undefined) {
      const next = nextHop(plan.notBefore, new Date(at));
      if (next === undefined) break;
      messages += 1;
      hops += 1;
      plan = next;
      at += next.delaySeconds * 1000;
    }
    if (wait > MAX_MESSAGE_DELAY_SECONDS) schedulerRequests += 2;
    else {
      schedulerRequests += 1;
      shortWaits += 1;
    }
  }
  return { messages, hops, schedulerRequests, shortWaits };
}

async function scenario(noise: Noise, guards: boolean, sizes: Sizes): Promise<ScenarioResult> {
  const runtime = await startLocalRuntime({
    settings: { ...sizes.settings, ...(guards ? {} : GUARDS_OFF) },
    sqsInFlightLimit: IN_FLIGHT_LIMIT,
    queueVisibilitySeconds: { events: 30, deliveries: 30 },
    logger: quiet,
  });
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const arrivals = new Map<string, number>();
  let noisyRequests = 0;
  const receiver = await listen((path, body, answer) => {
    if (path === '/healthy') {
      const id = (JSON.parse(body) as { id: string }).id;
      if (!arrivals.has(id)) arrivals.set(id, performance.now());
      answer(204);
      return;
    }
    noisyRequests += 1;
    if (noise === 'slow') setTimeout(() => answer(204), sizes.slowAnswerMs);
    else answer(500);
  });
  const pipeline = startPipeline(runtime, { dispatcherConcurrency: DISPATCHER_POLLERS, waitTimeSeconds: 1, logger: quiet });
  const doc = createDocumentClient();
  const secretsClient = createSecretsClient();
  const eventBridge = new EventBridgeClient({});
  try {
    const subscriptions = new SubscriptionsStore(doc, runtime.tables.subscriptions);
    const secrets = new SigningSecrets(new SealingKeys(secretsClient, runtime.env[ENV.sealingKeySecret] ?? ''));
    const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    await subscribe(subscriptions, secrets, HEALTHY, `${base}/healthy`);
    const publish = (entries: ReturnType<typeof entry>[]) => eventBridge.send(new PutEventsCommand({ Entries: entries }));
    const bus = runtime.eventBus.name;
    const source = runtime.settings.eventSource;
    if (noise !== 'none') {
      await subscribe(subscriptions, secrets, NOISY, `${base}/noisy`);
      await paced(sizes.warmUpSeconds * sizes.ratePerSecond, sizes.ratePerSecond, (index) => publish([entry(bus, source, NOISY, `evt_warm_${index}`)]));
    }
    const noisyBefore = noisyRequests;
    const published = new Map<string, number>();
    const started = performance.now();
    await paced(sizes.events, sizes.ratePerSecond, async (index) => {
      const id = `evt_bench_${index}`;
      const entries = [entry(bus, source, HEALTHY, id)];
      if (noise !== 'none') entries.push(entry(bus, source, NOISY, `evt_noise_${index}`));
      published.set(id, performance.now());
      await publish(entries);
    });
    const deadlineAt = performance.now() + 60_000;
    while (arrivals.size < sizes.events && performance.now() < deadlineAt) await new Promise((resolve) => setTimeout(resolve, 100));
    const measuredSeconds = (performance.now() - started) / 1000;
    const latencies = [...published].flatMap(([id, at]) => {
      const arrived = arrivals.get(id);
      return arrived === undefined ? [] : [arrived - at];
    });
    if (latencies.length < sizes.events) throw new Error(`${noise}: only ${latencies.length} of ${sizes.events} healthy deliveries arrived within 60 s`);
    return { healthy: summarize(latencies), noisyRequests: noisyRequests - noisyBefore, noisyTotal: noisyRequests, measuredSeconds };
  } finally {
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    await pipeline.stop();
    eventBridge.destroy();
    doc.destroy();
    secretsClient.destroy();
    await runtime.stop();
  }
}

/** Calls `send` `count` times at `ratePerSecond`, on a fixed timetable (a slow call does not shift the rest). */
async function paced(count: number, ratePerSecond: number, send: (index: number) => Promise<unknown>): Promise<void> {
  const interval = 1000 / ratePerSecond;
  const started = performance.now();
  for (let index = 0; index < count; index += 1) {
    const wait = started + index * interval - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    await send(index);
  }
}

function entry(bus: string, source: string, fleetId: string, id: string) {
  return { EventBusName: bus, Source: source, DetailType: 'thread.completed', Detail: JSON.stringify({ fleetId, id, data: { at: Date.now() } }) };
}

async function subscribe(store: SubscriptionsStore, secrets: SigningSecrets, fleetId: string, url: string): Promise<void> {
  const id = newSubscriptionId();
  const sealed = await secrets.seal(fleetId, id, { current: generateSigningSecret() });
  const now = new Date().toISOString();
  await store.create({ fleetId, id, url, events: ['thread.completed'], enabled: true, ...sealed, createdAt: now, updatedAt: now });
}

async function listen(handle: (path: string, body: string, answer: (status: number) => void) => void): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req.url ?? '/', Buffer.concat(chunks).toString('utf8'), (status) => res.writeHead(status).end()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}
