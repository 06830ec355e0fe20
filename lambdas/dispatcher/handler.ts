import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { createAddressPolicy } from '../core/address';
import { version } from '../../package.json';
import { createDocumentClient, createSecretsClient, createSqsClient } from '../shared/clients';
import { DeliveriesStore } from '../shared/deliveries-store';
import { readEnvironment, readSettings } from '../shared/environment';
import { createHttpDelivery } from '../shared/http-delivery';
import { createObservability } from '../shared/observability';
import { SigningSecrets } from '../shared/signing-secrets';
import { SubscriptionsStore } from '../shared/subscriptions-store';
import { createDispatcher } from './dispatcher';

// Cold start: configuration errors fail here, naming the variable, before any message is taken.
const env = readEnvironment(['subscriptionsTable', 'deliveriesTable', 'deliveriesQueueUrl', 'secretPrefix']);
const settings = readSettings();
const { logger, metrics, tracer } = createObservability('hookline-dispatcher');
const doc = tracer.captureAWSv3Client(createDocumentClient());
const sqs = tracer.captureAWSv3Client(createSqsClient());
const secretsClient = tracer.captureAWSv3Client(createSecretsClient());

// Module scope: the keep-alive connections and the secret cache outlive one invocation.
const dispatcher = createDispatcher({
  subscriptions: new SubscriptionsStore(doc, env.subscriptionsTable),
  deliveries: new DeliveriesStore(doc, env.deliveriesTable),
  secrets: new SigningSecrets(secretsClient, env.secretPrefix),
  sqs,
  deliveriesQueueUrl: env.deliveriesQueueUrl,
  settings,
  http: createHttpDelivery({ policy: createAddressPolicy(settings.allowPrivateTargets) }),
  userAgent: `Hookline/${version}`,
  logger,
  metrics,
});

export const handler = middy(dispatcher)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
