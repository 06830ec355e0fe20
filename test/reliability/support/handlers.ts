import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { createAddressPolicy } from '../../../lambdas/core/address';
import type { DeliveryMessage } from '../../../lambdas/core/records';
import { createDispatcher, type DispatcherDeps } from '../../../lambdas/dispatcher/dispatcher';
import { createFanout, type FanoutDeps } from '../../../lambdas/fanout/fanout';
import { DeliveriesStore } from '../../../lambdas/shared/deliveries-store';
import { EventsStore } from '../../../lambdas/shared/events-store';
import { createHttpDelivery, type HttpDelivery } from '../../../lambdas/shared/http-delivery';
import { runReplay } from '../../../lambdas/shared/replay';
import { ENV } from '../../../lambdas/shared/environment';
import type { SigningSecrets } from '../../../lambdas/shared/signing-secrets';
import { testSigningSecrets } from '../../support/sealing-key';
import { sqsRecord as sharedSqsRecord } from '../../support/sqs-records';
import type { SqsHandler } from '../../../lambdas/shared/sqs-batch';
import { SubscriptionsStore } from '../../../lambdas/shared/subscriptions-store';
import type { LocalRuntime } from '../../../local/runtime';
import { tableResolver } from './resolver';
import { EndpointGates } from '../../../lambdas/shared/endpoint-gates';

/** An error as an AWS SDK client raises it after its own retries. */
export function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name, $fault: 'server', $metadata: { httpStatusCode: 400 } });
}

/**
 * Makes matching SDK calls of a client fail, counting them; `failing` decides per call. Added at
 * the initialize step, outside the SDK's own retry loop: the handler sees what it would after the
 * SDK gave up.
 */
export function injectFaults(
  client: { middlewareStack: DynamoDBClient['middlewareStack'] | SQSClient['middlewareStack'] | SecretsManagerClient['middlewareStack'] },
  failing: (commandName: string, input: Record<string, unknown>) => Error | undefined,
): { injected: string[] } {
  const injected: string[] = [];
  (client.middlewareStack as DynamoDBClient['middlewareStack']).add(
    (next, context) => async (args) => {
      const error = failing(String(context.commandName), args.input as Record<string, unknown>);
      if (error !== undefined) {
        injected.push(String(context.commandName));
        throw error;
      }
      return next(args);
    },
    { step: 'initialize', name: 'reliabilityFaultInjection' },
  );
  return { injected };
}

export interface HandlerClients {
  dynamodb: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  sqs: SQSClient;
  secrets: SecretsManagerClient;
  destroy(): void;
}

/** Fresh SDK clients on the runtime's stand-ins (endpoints from the applied environment). */
export function handlerClients(): HandlerClients {
  const dynamodb = new DynamoDBClient({});
  const doc = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  const sqs = new SQSClient({});
  const secrets = new SecretsManagerClient({});
  return {
    dynamodb,
    doc,
    sqs,
    secrets,
    destroy: () => {
      dynamodb.destroy();
      sqs.destroy();
      secrets.destroy();
    },
  };
}

export function quietLogger(serviceName: string): Logger {
  // The level comes from POWERTOOLS_LOG_LEVEL, as in the deployed functions.
  return new Logger({ serviceName });
}

const metrics = (serviceName: string) => new Metrics({ namespace: 'HooklineReliability', serviceName });

/** createDispatcher wired to the runtime like wireDispatcher does, with any dependency replaced. */
export function buildDispatcher(
  runtime: LocalRuntime,
  clients: HandlerClients,
  overrides: Partial<DispatcherDeps> = {},
): { handler: SqsHandler; http: HttpDelivery } {
  const http =
    overrides.http ??
    createHttpDelivery({ policy: createAddressPolicy(runtime.settings.allowPrivateTargets), resolve: tableResolver({ localhost: ['127.0.0.1'] }) });
  const handler = createDispatcher({
    subscriptions: new SubscriptionsStore(clients.doc, runtime.tables.subscriptions),
    deliveries: new DeliveriesStore(clients.doc, runtime.tables.deliveries),
    gates: new EndpointGates(clients.doc, runtime.tables.deliveries),
    secrets: testSigningSecrets(clients.secrets, runtime.env[ENV.sealingKeySecret]),
    sqs: clients.sqs,
    deliveriesQueueUrl: runtime.queues.deliveriesUrl,
    settings: runtime.settings,
    userAgent: 'Hookline/reliability',
    logger: quietLogger('hookline-dispatcher'),
    metrics: metrics('hookline-dispatcher'),
    ...overrides,
    http,
  });
  return { handler, http };
}

/** createFanout wired to the runtime like wireFanout does, with any dependency replaced. */
export function buildFanout(runtime: LocalRuntime, clients: HandlerClients, overrides: Partial<FanoutDeps> = {}): SqsHandler {
  return createFanout({
    events: new EventsStore(clients.doc, runtime.tables.events),
    subscriptions: new SubscriptionsStore(clients.doc, runtime.tables.subscriptions),
    sqs: clients.sqs,
    eventsQueueUrl: runtime.queues.eventsUrl,
    deliveriesQueueUrl: runtime.queues.deliveriesUrl,
    settings: runtime.settings,
    logger: quietLogger('hookline-fanout'),
    metrics: metrics('hookline-fanout'),
    replay: runReplay,
    ...overrides,
  });
}

/** An SQS record as the event source mapping hands it over. */
export function sqsRecord(body: unknown, options: { messageId: string; receiveCount?: number }): SQSRecord {
  return sharedSqsRecord(body, options);
}

export function deliveryMessage(fields: Omit<DeliveryMessage, 'v' | 'reason'>): DeliveryMessage {
  return { v: 1, reason: 'fanout', ...fields };
}
