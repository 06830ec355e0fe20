import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { version } from '../../package.json';
import { createAddressPolicy } from '../core/address';
import { createDocumentClient, createEventBridgeClient, createSecretsClient, createSqsClient } from '../shared/clients';
import { DeliveriesStore } from '../shared/deliveries-store';
import { EndpointGates } from '../shared/endpoint-gates';
import { BusOperatorEvents } from '../shared/operator-events';
import { ENV, readEnvironment, readPositiveInteger, readSettings } from '../shared/environment';
import { createHttpDelivery, type Resolver } from '../shared/http-delivery';
import { createObservability } from '../shared/observability';
import { SealingKeys } from '../shared/sealing-keys';
import { SigningSecrets } from '../shared/signing-secrets';
import { SubscriptionsStore } from '../shared/subscriptions-store';
import { createDispatcher } from './dispatcher';

export const USER_AGENT = `Hookline/${version}`;

export interface WiredDispatcher {
  handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
  /** Closes the keep-alive connections (local mode's stop; Lambda just freezes the process). */
  close(): Promise<void>;
}

/**
 * The dispatcher as deployed: configuration from the environment, SDK clients (endpoints from the
 * SDK's own environment variables), stores, observability and middy. The Lambda handler module and
 * local mode both build it here, so they run the same code.
 */
export function wireDispatcher(source: NodeJS.ProcessEnv, options: { resolve?: Resolver } = {}): WiredDispatcher {
  const env = readEnvironment(['subscriptionsTable', 'deliveriesTable', 'deliveriesQueueUrl', 'sealingKeySecret'], source);
  const settings = readSettings(source);
  const { logger, metrics, tracing } = createObservability('hookline-dispatcher');
  const doc = tracing.client(createDocumentClient());
  const http = createHttpDelivery({
    policy: createAddressPolicy(settings.allowPrivateTargets),
    ...(options.resolve === undefined ? {} : { resolve: options.resolve }),
  });
  const eventBusName = source[ENV.eventBusName];
  const dispatcherConcurrency = readPositiveInteger('dispatcherConcurrency', source);
  const dispatcher = createDispatcher({
    subscriptions: new SubscriptionsStore(doc, env.subscriptionsTable),
    deliveries: new DeliveriesStore(doc, env.deliveriesTable),
    gates: new EndpointGates(doc, env.deliveriesTable),
    ...(eventBusName === undefined || eventBusName === ''
      ? {}
      : { operatorEvents: new BusOperatorEvents(tracing.client(createEventBridgeClient()), eventBusName, settings.eventSource) }),
    secrets: new SigningSecrets(new SealingKeys(tracing.client(createSecretsClient()), env.sealingKeySecret)),
    sqs: tracing.client(createSqsClient()),
    deliveriesQueueUrl: env.deliveriesQueueUrl,
    settings,
    ...(dispatcherConcurrency === undefined ? {} : { dispatcherConcurrency }),
    http,
    userAgent: USER_AGENT,
    logger,
    metrics,
  });
  const handler = middy(dispatcher)
    .use(tracing.middlewares())
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics));
  return { handler, close: () => http.close() };
}
