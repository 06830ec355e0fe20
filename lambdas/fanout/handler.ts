import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { createDocumentClient, createSqsClient } from '../shared/clients';
import { readEnvironment, readSettings } from '../shared/environment';
import { EventsStore } from '../shared/events-store';
import { createObservability } from '../shared/observability';
import { runReplay } from '../shared/replay';
import { SubscriptionsStore } from '../shared/subscriptions-store';
import { createFanout } from './fanout';

// Cold start: configuration errors fail here, naming the variable, before any message is taken.
const env = readEnvironment(['subscriptionsTable', 'eventsTable', 'eventsQueueUrl', 'deliveriesQueueUrl']);
const settings = readSettings();
const { logger, metrics, tracer } = createObservability('hookline-fanout');
const doc = tracer.captureAWSv3Client(createDocumentClient());
const sqs = tracer.captureAWSv3Client(createSqsClient());

const fanout = createFanout({
  events: new EventsStore(doc, env.eventsTable),
  subscriptions: new SubscriptionsStore(doc, env.subscriptionsTable),
  sqs,
  eventsQueueUrl: env.eventsQueueUrl,
  deliveriesQueueUrl: env.deliveriesQueueUrl,
  settings,
  logger,
  metrics,
  replay: runReplay,
});

export const handler = middy(fanout)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
