import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { newSubscriptionId } from '../../lambdas/core/ids';
import type { SigningSecretValue, SubscriptionRecord } from '../../lambdas/core/records';
import { generateSigningSecret } from '../../lambdas/core/secrets';
import { createDocumentClient, createSecretsClient, createSqsClient } from '../../lambdas/shared/clients';
import { DeliveriesStore } from '../../lambdas/shared/deliveries-store';
import { EventsStore } from '../../lambdas/shared/events-store';
import { ENV } from '../../lambdas/shared/environment';
import type { SigningSecrets } from '../../lambdas/shared/signing-secrets';
import { testSigningSecrets } from '../support/sealing-key';
import { SubscriptionsStore } from '../../lambdas/shared/subscriptions-store';
import { startPipeline, type Pipeline, type PipelineOptions } from '../../local/pipeline';
import { startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from '../../local/runtime';
import type { DeploymentSettingsInput } from '../../lambdas/core/settings';
import { waitFor as sharedWaitFor } from '../support/wait';

export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** What an endpoint does with its n-th request (0-based); `hang` never answers. */
export type Behaviour = (index: number) => number | 'hang';

/** Real HTTP endpoints on 127.0.0.1, one behaviour per path, recording every request. */
export class Receiver {
  private readonly server: Server;
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly hanging: ServerResponse[] = [];
  readonly requests: ReceivedRequest[] = [];
  port = 0;

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const path = req.url ?? '/';
        const index = this.requests.filter((request) => request.path === path).length;
        this.requests.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
        const status = (this.behaviours.get(path) ?? (() => 204))(index);
        if (status === 'hang') {
          this.hanging.push(res);
          return;
        }
        res.statusCode = status;
        res.end(status >= 400 ? `status ${status}` : '');
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  endpoint(path: string, behaviour: Behaviour = () => 204): string {
    this.behaviours.set(path, behaviour);
    return `http://127.0.0.1:${this.port}${path}`;
  }

  at(path: string): ReceivedRequest[] {
    return this.requests.filter((request) => request.path === path);
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Test-sized settings: loopback targets allowed, one-second retries without jitter. */
export const PIPELINE_TEST_SETTINGS: DeploymentSettingsInput = {
  allowPrivateTargets: ['127.0.0.0/8', '::1/128'],
  retryDelaysSeconds: [1],
  retryJitter: 0,
  maxAttempts: 3,
};

export interface PipelineHarness {
  runtime: LocalRuntime;
  pipeline: Pipeline;
  receiver: Receiver;
  sqs: SQSClient;
  subscriptions: SubscriptionsStore;
  deliveries: DeliveriesStore;
  events: EventsStore;
  secrets: SigningSecrets;
  eventBridge: EventBridgeClient;
  stop(): Promise<void>;
}

export async function startHarness(
  options: { settings?: DeploymentSettingsInput; pipeline?: PipelineOptions; runtime?: Partial<LocalRuntimeOptions> } = {},
): Promise<PipelineHarness> {
  const runtime = await startLocalRuntime({
    // Transient failures (not scheduled retries) come back after this.
    queueVisibilitySeconds: { events: 5, deliveries: 5 },
    ...options.runtime,
    settings: { ...PIPELINE_TEST_SETTINGS, ...options.settings },
  });
  const receiver = new Receiver();
  await receiver.start();
  // Quiet test output: warnings and errors only, no EMF lines (the unit tests check the metrics).
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const pipeline = startPipeline(runtime, { waitTimeSeconds: 1, ...options.pipeline });
  const doc = createDocumentClient();
  const sqs = createSqsClient();
  const secretsClient = createSecretsClient();
  const eventBridge = new EventBridgeClient({});
  return {
    runtime,
    pipeline,
    receiver,
    sqs,
    subscriptions: new SubscriptionsStore(doc, runtime.tables.subscriptions),
    deliveries: new DeliveriesStore(doc, runtime.tables.deliveries),
    events: new EventsStore(doc, runtime.tables.events),
    secrets: testSigningSecrets(secretsClient, runtime.env[ENV.sealingKeySecret]),
    eventBridge,
    stop: async () => {
      // Receiver first: it cuts hanging requests, so invocations still waiting on them end.
      await receiver.stop();
      await pipeline.stop();
      doc.destroy();
      sqs.destroy();
      secretsClient.destroy();
      eventBridge.destroy();
      await runtime.stop();
    },
  };
}

/** A subscription created the way the API does it: its secret sealed under the key ring, on the record. */
export async function createSubscription(
  harness: Pick<PipelineHarness, 'subscriptions' | 'secrets'>,
  fields: Partial<SubscriptionRecord> & { fleetId: string; url: string },
  secretValue: SigningSecretValue = { current: generateSigningSecret() },
): Promise<{ subscription: SubscriptionRecord; secret: SigningSecretValue }> {
  const id = newSubscriptionId();
  const sealed = await harness.secrets.seal(fields.fleetId, id, secretValue);
  const now = new Date().toISOString();
  const subscription: SubscriptionRecord = {
    id,
    enabled: true,
    ...sealed,
    createdAt: now,
    updatedAt: now,
    ...fields,
  };
  await harness.subscriptions.create(subscription);
  return { subscription, secret: secretValue };
}

/** Publishes like a producer does: PutEvents on the Hookline bus. */
export async function putEvent(
  harness: PipelineHarness,
  fleetId: string,
  type: string,
  data: unknown,
  id?: string,
): Promise<void> {
  const result = await harness.eventBridge.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: harness.runtime.eventBus.name,
          Source: harness.runtime.settings.eventSource,
          DetailType: type,
          Detail: JSON.stringify({ fleetId, data, ...(id === undefined ? {} : { id }) }),
        },
      ],
    }),
  );
  if ((result.FailedEntryCount ?? 0) > 0) throw new Error(`PutEvents failed: ${JSON.stringify(result.Entries)}`);
}

/** Messages on a queue: visible, in flight and delayed (a retry's next attempt waits as a delayed message). */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const result = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  const counts = result.Attributes ?? {};
  return (
    Number(counts.ApproximateNumberOfMessages ?? 0) +
    Number(counts.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(counts.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

/** Polls until `check` returns a value other than undefined; fails with `what` after the timeout (test/support/wait.ts). */
export function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  return sharedWaitFor(what, check, { timeoutMs });
}

export { sleep } from '../support/wait';
