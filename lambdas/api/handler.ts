import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { createDocumentClient, createSecretsClient, createSqsClient } from '../shared/clients';
import { DeliveriesStore } from '../shared/deliveries-store';
import { readEnvironment, readSettings } from '../shared/environment';
import { EventsStore } from '../shared/events-store';
import { createObservability } from '../shared/observability';
import { SigningSecrets } from '../shared/signing-secrets';
import { SubscriptionsStore } from '../shared/subscriptions-store';
import { TokensStore } from '../shared/tokens-store';
import { createApi } from './api';

// Cold start: configuration errors fail here, naming the variable, before any request is served.
const env = readEnvironment([
  'subscriptionsTable',
  'eventsTable',
  'deliveriesTable',
  'tokensTable',
  'eventsQueueUrl',
  'deliveriesQueueUrl',
  'secretPrefix',
]);
const settings = readSettings();
const { logger, metrics, tracer } = createObservability('hookline-api');
const doc = tracer.captureAWSv3Client(createDocumentClient());
const sqs = tracer.captureAWSv3Client(createSqsClient());
const secretsClient = tracer.captureAWSv3Client(createSecretsClient());

const api = createApi({
  settings,
  subscriptions: new SubscriptionsStore(doc, env.subscriptionsTable),
  events: new EventsStore(doc, env.eventsTable),
  deliveries: new DeliveriesStore(doc, env.deliveriesTable),
  tokens: new TokensStore(doc, env.tokensTable),
  secrets: new SigningSecrets(secretsClient, env.secretPrefix),
  sqs,
  queues: { eventsUrl: env.eventsQueueUrl, deliveriesUrl: env.deliveriesQueueUrl },
  logger,
  onResponse: ({ statusCode }) => {
    metrics.addMetric('ApiRequests', MetricUnit.Count, 1);
    if (statusCode >= 500) metrics.addMetric('Api5xx', MetricUnit.Count, 1);
    else if (statusCode >= 400) metrics.addMetric('Api4xx', MetricUnit.Count, 1);
  },
});

export const handler = middy((event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> => api(event, context))
  .use(captureLambdaHandler(tracer))
  // Never the event: it carries the Authorization header and request bodies.
  .use(injectLambdaContext(logger, { logEvent: false }))
  .use(logMetrics(metrics));
