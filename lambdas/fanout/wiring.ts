import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createDocumentClient, createSqsClient } from '../shared/clients';
import { readEnvironment, readSettings } from '../shared/environment';
import { EventsStore } from '../shared/events-store';
import { createObservability } from '../shared/observability';
import { runReplay } from '../shared/replay';
import { SubscriptionsStore } from '../shared/subscriptions-store';
import { createFanout } from './fanout';

/**
 * The fan-out as deployed: configuration from the environment, SDK clients, stores, observability
 * and middy. The Lambda handler module and local mode both build it here.
 */
export function wireFanout(source: NodeJS.ProcessEnv): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  const env = readEnvironment(['subscriptionsTable', 'eventsTable', 'eventsQueueUrl', 'deliveriesQueueUrl'], source);
  const settings = readSettings(source);
  const { logger, metrics, tracing } = createObservability('hookline-fanout');
  const doc = tracing.client(createDocumentClient());
  const fanout = createFanout({
    events: new EventsStore(doc, env.eventsTable),
    subscriptions: new SubscriptionsStore(doc, env.subscriptionsTable),
    sqs: tracing.client(createSqsClient()),
    eventsQueueUrl: env.eventsQueueUrl,
    deliveriesQueueUrl: env.deliveriesQueueUrl,
    settings,
    logger,
    metrics,
    replay: runReplay,
  });
  return middy(fanout).use(tracing.middlewares()).use(injectLambdaContext(logger)).use(logMetrics(metrics));
}
