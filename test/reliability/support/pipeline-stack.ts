import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { deliveryIdFor } from '../../../lambdas/core/ids';
import type { DeliveryRecord, EventRecord } from '../../../lambdas/core/records';
import type { DeploymentSettingsInput } from '../../../lambdas/core/settings';
import { createDocumentClient, createSecretsClient } from '../../../lambdas/shared/clients';
import { DeliveriesStore } from '../../../lambdas/shared/deliveries-store';
import { EventsStore } from '../../../lambdas/shared/events-store';
import { ENV } from '../../../lambdas/shared/environment';
import type { SigningSecrets } from '../../../lambdas/shared/signing-secrets';
import { testSigningSecrets } from '../../support/sealing-key';
import { SubscriptionsStore } from '../../../lambdas/shared/subscriptions-store';
import { startPipeline, type Pipeline, type PipelineOptions } from '../../../local/pipeline';
import { startLocalRuntime, type LocalRuntime } from '../../../local/runtime';
import { waitFor } from './subscriptions';

export interface PipelineStack {
  runtime: LocalRuntime;
  pipeline: Pipeline | undefined;
  subscriptions: SubscriptionsStore;
  deliveries: DeliveriesStore;
  events: EventsStore;
  secrets: SigningSecrets;
  sqs: SQSClient;
  /** Publishes with PutEvents on the Hookline bus (the producer's path) and returns the stored event. */
  publish(fleetId: string, type: string, data: unknown, id: string): Promise<EventRecord>;
  deliveryId(event: EventRecord, subscriptionId: string): string;
  /** Waits until the delivery exists and `done` holds. */
  settled(id: string, done: (record: DeliveryRecord) => boolean, timeoutMs?: number): Promise<DeliveryRecord>;
  /** Messages on a queue: visible, in flight and delayed. */
  depth(queueUrl: string): Promise<number>;
  /** Receives and deletes every message visible on a queue now; returns their bodies. */
  drain(queueUrl: string): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * The local runtime with test-sized queue timings. With `pipeline`, the fan-out and dispatcher run as
 * deployed (local/pipeline.ts); without it, a test drives createFanout/createDispatcher itself.
 */
export async function startPipelineStack(options: {
  settings: DeploymentSettingsInput;
  pipeline?: PipelineOptions;
  visibilitySeconds?: number;
}): Promise<PipelineStack> {
  const visibility = options.visibilitySeconds ?? 3;
  const runtime = await startLocalRuntime({ settings: options.settings, queueVisibilitySeconds: { events: visibility, deliveries: visibility } });
  runtime.applyEnv();
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const pipeline = options.pipeline === undefined ? undefined : startPipeline(runtime, { waitTimeSeconds: 1, ...options.pipeline });
  const doc = createDocumentClient();
  const secretsClient = createSecretsClient();
  const sqs = new SQSClient({});
  const eventBridge = new EventBridgeClient({});
  const events = new EventsStore(doc, runtime.tables.events);
  const deliveries = new DeliveriesStore(doc, runtime.tables.deliveries);

  return {
    runtime,
    pipeline,
    subscriptions: new SubscriptionsStore(doc, runtime.tables.subscriptions),
    deliveries,
    events,
    secrets: testSigningSecrets(secretsClient, runtime.env[ENV.sealingKeySecret]),
    sqs,
    async publish(fleetId, type, data, id) {
      const result = await eventBridge.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: runtime.eventBus.name,
              Source: runtime.settings.eventSource,
              DetailType: type,
              Detail: JSON.stringify({ fleetId, data, id }),
            },
          ],
        }),
      );
      if ((result.FailedEntryCount ?? 0) > 0) throw new Error(`PutEvents failed: ${JSON.stringify(result.Entries)}`);
      return waitFor(`event ${id} stored`, () => events.get(fleetId, id));
    },
    deliveryId: (event, subscriptionId) => deliveryIdFor(event.fleetId, event.id, subscriptionId, event.timestamp),
    settled: (id, done, timeoutMs = 20_000) =>
      waitFor(
        `delivery ${id}`,
        async () => {
          const record = await deliveries.get(id);
          return record !== undefined && done(record) ? record : undefined;
        },
        timeoutMs,
      ),
    async depth(queueUrl) {
      const result = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
        }),
      );
      // Delayed messages count: a retry's next attempt waits in the queue as one.
      const counts = result.Attributes ?? {};
      return ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'].reduce(
        (sum, name) => sum + Number(counts[name as keyof typeof counts] ?? 0),
        0,
      );
    },
    async drain(queueUrl) {
      const bodies: string[] = [];
      for (;;) {
        const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 60 }));
        const messages = received.Messages ?? [];
        if (messages.length === 0) return bodies;
        bodies.push(...messages.map((message) => message.Body ?? ''));
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
          }),
        );
      }
    },
    async stop() {
      await pipeline?.stop();
      doc.destroy();
      secretsClient.destroy();
      sqs.destroy();
      eventBridge.destroy();
      await runtime.stop();
    },
  };
}
