import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { createDocumentClient, createSecretsClient, createSqsClient } from '../shared/clients';
import { DeliveriesStore } from '../shared/deliveries-store';
import { DeliveryLog } from '../shared/delivery-log';
import { EventLog } from '../shared/event-log';
import { readEnvironment, readSettings } from '../shared/environment';
import { EventsStore } from '../shared/events-store';
import { InboundSourcesStore } from '../shared/inbound-sources-store';
import { createObservability } from '../shared/observability';
import { SealingKeys } from '../shared/sealing-keys';
import { SigningSecrets } from '../shared/signing-secrets';
import { SubscriptionsStore } from '../shared/subscriptions-store';
import { TokensStore } from '../shared/tokens-store';
import { keyRingSealer } from '../core/inbound/sealer';
import { createApi } from './api';
import type { ApiDeps } from './deps';
import { inboundMetric, METRICS } from '../core/metrics';

export type ApiLambdaHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/**
 * The API as deployed: configuration from the environment, SDK clients, stores, observability and
 * middy. The Lambda handler module and local mode both build it here; `overrides` lets local mode
 * and tests choose e.g. the DNS resolver.
 */
export function wireApi(source: NodeJS.ProcessEnv, overrides: Partial<Pick<ApiDeps, 'resolve' | 'now' | 'tokenCacheTtlMs'>> = {}): ApiLambdaHandler {
  const env = readEnvironment(
    [
      'subscriptionsTable',
      'eventsTable',
      'deliveriesTable',
      'tokensTable',
      'inboundSourcesTable',
      'eventsQueueUrl',
      'deliveriesQueueUrl',
      'sealingKeySecret',
    ],
    source,
  );
  const settings = readSettings(source);
  const { logger, metrics, tracing } = createObservability('hookline-api');
  const doc = tracing.client(createDocumentClient());
  // One key ring per container, shared by signing secrets and inbound credentials: loaded once.
  const sealingKeys = new SealingKeys(tracing.client(createSecretsClient()), env.sealingKeySecret);
  const api = createApi({
    settings,
    subscriptions: new SubscriptionsStore(doc, env.subscriptionsTable),
    events: new EventsStore(doc, env.eventsTable),
    deliveries: new DeliveriesStore(doc, env.deliveriesTable),
    eventLog: new EventLog(doc, env.eventsTable),
    deliveryLog: new DeliveryLog(doc, env.deliveriesTable),
    tokens: new TokensStore(doc, env.tokensTable),
    secrets: new SigningSecrets(sealingKeys),
    inbound: {
      sources: new InboundSourcesStore(doc, env.inboundSourcesTable),
      sealer: keyRingSealer(sealingKeys),
      onIngest: ({ provider, outcome }) => {
        metrics.addMetric(inboundMetric(outcome), MetricUnit.Count, 1);
        metrics.addMetric(inboundMetric(outcome, provider), MetricUnit.Count, 1);
      },
    },
    sqs: tracing.client(createSqsClient()),
    queues: { eventsUrl: env.eventsQueueUrl, deliveriesUrl: env.deliveriesQueueUrl },
    logger,
    onResponse: ({ statusCode }) => {
      metrics.addMetric(METRICS.apiRequests, MetricUnit.Count, 1);
      if (statusCode >= 500) metrics.addMetric(METRICS.api5xx, MetricUnit.Count, 1);
      else if (statusCode >= 400) metrics.addMetric(METRICS.api4xx, MetricUnit.Count, 1);
    },
    ...overrides,
  });
  return middy((event: APIGatewayProxyEvent, context: Context) => api(event, context))
    .use(tracing.middlewares())
    // Never the event: it carries the Authorization header and request bodies.
    .use(injectLambdaContext(logger, { logEvent: false }))
    .use(logMetrics(metrics));
}
