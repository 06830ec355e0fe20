import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { MAX_MESSAGE_DELAY_SECONDS, planWait, nextHop } from '../../lambdas/core/delivery-policy';
import { newSubscriptionId } from '../../lambdas/core/ids';
import { generateSigningSecret } from '../../lambdas/core/secrets';
import { DEFAULT_RETRY_DELAYS_SECONDS } from '../../lambdas/core/settings';
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
 * divided by the same latency with the noisy fleet quiet, measured in the same run.
 */

const quiet: LocalLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const IN_FLIGHT_LIMIT = 100;
const HEALTHY = 'healthy-fleet';
const NOISY = 'noisy-fleet';
const SLOW_ANSWER_MS = 10_000;

type Noise = 'none' | 'dead' | 'slow';

interface ScenarioResult {
  healthy: LatencySummary;
  noisyRequests: number;
}

export async function runIsolationSection({ options }: SectionRequest): Promise<SectionOutcome> {
  const events = options.quick ? 20 : 150;
  const ratePerSecond = options.quick ? 10 : 15;
  const quietRun = await scenario('none', events, ratePerSecond);
  const dead = await scenario('dead', events, ratePerSecond);
  const slow = await scenario('slow', events, ratePerSecond);
  const base = 'healthy, noisy fleet quiet';
  const target = { op: '<=' as const, value: 1.2 };
  const hops = hopTable();
  return {
    title: 'Noisy neighbour (local runtime, in-flight limit on)',
    figures: [
      figure({ id: 'isolation.dead.p50', label: 'healthy p50, dead endpoint takes half the traffic', value: dead.healthy.p50, unit: 'ms', baselineLabel: base, baselineValue: quietRun.healthy.p50, target }),
      figure({ id: 'isolation.dead.p99', label: 'healthy p99, dead endpoint takes half the traffic', value: dead.healthy.p99, unit: 'ms', baselineLabel: base, baselineValue: quietRun.healthy.p99, target }),
      figure({ id: 'isolation.slow.p50', label: 'healthy p50, 10-second-slow endpoint takes half', value: slow.healthy.p50, unit: 'ms', baselineLabel: base, baselineValue: quietRun.healthy.p50, target }),
      figure({ id: 'isolation.slow.p99', label: 'healthy p99, 10-second-slow endpoint takes half', value: slow.healthy.p99, unit: 'ms', baselineLabel: base, baselineValue: quietRun.healthy.p99, target }),
    ],
    notes: [
      `${events} events per fleet at ${ratePerSecond}/s each through PutEvents; local SQS in-flight limit ${IN_FLIGHT_LIMIT}; 4 dispatcher pollers, batches of 10`,
      `dead endpoint: 500 to every POST, retries after 1, 2, 4 s (${dead.noisyRequests} POSTs); slow endpoint answers after ${SLOW_ANSWER_MS / 1000} s, the attempt timeout (${slow.noisyRequests} POSTs)`,
      `retry waits are delayed messages: over ${MAX_MESSAGE_DELAY_SECONDS} s they hop; the default schedule's ${DEFAULT_RETRY_DELAYS_SECONDS.length} waits send ${hops.messages} messages in all (${hops.hops} hops), ` +
        `EventBridge Scheduler would take ${hops.schedulerRequests} requests (a CreateSchedule and its SendMessage per long wait, plus ${hops.shortWaits} plain delayed sends)`,
      `per retry: 1 SendMessage (dispatcher) + the receive and delete it shares with its batch; per hop: the same again, with no DynamoDB call`,
    ],
    details: { quiet: quietRun, dead, slow, hops },
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

async function scenario(noise: Noise, events: number, ratePerSecond: number): Promise<ScenarioResult> {
  const runtime = await startLocalRuntime({
    settings: { allowPrivateTargets: ['127.0.0.0/8'], retryDelaysSeconds: [1, 2, 4], retryJitter: 0, maxAttempts: 4 },
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
    if (noise === 'slow') setTimeout(() => answer(204), SLOW_ANSWER_MS);
    else answer(500);
  });
  const pipeline = startPipeline(runtime, { dispatcherConcurrency: 4, waitTimeSeconds: 1, logger: quiet });
  const doc = createDocumentClient();
  const secretsClient = createSecretsClient();
  const eventBridge = new EventBridgeClient({});
  try {
    const subscriptions = new SubscriptionsStore(doc, runtime.tables.subscriptions);
    const secrets = new SigningSecrets(new SealingKeys(secretsClient, runtime.env[ENV.sealingKeySecret] ?? ''));
    const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    await subscribe(subscriptions, secrets, HEALTHY, `${base}/healthy`);
    if (noise !== 'none') await subscribe(subscriptions, secrets, NOISY, `${base}/noisy`);

    const published = new Map<string, number>();
    const interval = 1000 / ratePerSecond;
    const started = performance.now();
    for (let index = 0; index < events; index += 1) {
      const due = started + index * interval;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const id = `evt_bench_${index}`;
      const entries = [entry(runtime.eventBus.name, runtime.settings.eventSource, HEALTHY, id)];
      if (noise !== 'none') entries.push(entry(runtime.eventBus.name, runtime.settings.eventSource, NOISY, `evt_noise_${index}`));
      published.set(id, performance.now());
      await eventBridge.send(new PutEventsCommand({ Entries: entries }));
    }
    const deadlineAt = performance.now() + 60_000;
    while (arrivals.size < events && performance.now() < deadlineAt) await new Promise((resolve) => setTimeout(resolve, 100));
    const latencies = [...published].flatMap(([id, at]) => {
      const arrived = arrivals.get(id);
      return arrived === undefined ? [] : [arrived - at];
    });
    if (latencies.length < events) throw new Error(`${noise}: only ${latencies.length} of ${events} healthy deliveries arrived within 60 s`);
    return { healthy: summarize(latencies), noisyRequests };
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
