import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { CfnOutput, Stack } from 'aws-cdk-lib';
import type { LambdaRestApi } from 'aws-cdk-lib/aws-apigateway';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { EventBus } from 'aws-cdk-lib/aws-events';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { MetricType } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { OPERATOR_SOURCE_SUFFIX } from '../lambdas/shared/operator-events';
import { ENV } from '../lambdas/shared/environment';
import { HooklineApi } from './api';
import { resolveServiceConfig, type ServiceConfig, type WebhookServiceProps } from './config';
import { HooklineEvents } from './events';
import { HooklineFunction } from './functions';
import { HooklineMonitoring } from './monitoring';
import { grantApi, grantDispatcher, grantFanout, type GrantContext } from './permissions';
import { HooklineQueues } from './queues';
import { HooklineSealingKey } from './sealing-key';
import { HooklineTables } from './tables';

export type { HooklineLogLevel, HooklineSettingsProps, WebhookServiceProps } from './config';

/** SQS event sources: the largest batch that still lets one invocation finish every message in time. */
export const EVENT_SOURCE_BATCH_SIZE = 10;

/**
 * Hookline as one L3 construct: tables, bus, queues, the API, fan-out and dispatcher functions,
 * alarms and a dashboard. Drop it into any stack; `HooklineStack` is the thin wrapper `cdk.json` drives.
 */
export class WebhookService extends Construct {
  /** Validated settings and props with defaults applied. */
  readonly config: ServiceConfig;
  readonly subscriptionsTable: Table;
  readonly eventsTable: Table;
  readonly deliveriesTable: Table;
  readonly tokensTable: Table;
  readonly inboundSourcesTable: Table;
  /** The deployment's one Secrets Manager secret: the key ring sealing signing secrets and inbound credentials. */
  readonly sealingKey: Secret;
  readonly bus: EventBus;
  readonly eventsQueue: Queue;
  readonly eventsDlq: Queue;
  /** Events EventBridge could not put on the events queue. */
  readonly eventsTargetDlq: Queue;
  readonly deliveriesQueue: Queue;
  readonly deliveriesDlq: Queue;
  readonly apiFunction: NodejsFunction;
  readonly fanoutFunction: NodejsFunction;
  readonly dispatcherFunction: NodejsFunction;
  readonly api: LambdaRestApi;
  readonly monitoring: HooklineMonitoring;

  constructor(scope: Construct, id: string, props: WebhookServiceProps = {}) {
    super(scope, id);
    const config = resolveServiceConfig(props, Stack.of(this).stackName);
    this.config = config;

    const tables = new HooklineTables(this, 'Tables', {
      removalPolicy: config.removalPolicy,
      encryptionKey: config.tableEncryptionKey,
    });
    const queues = new HooklineQueues(this, 'Queues', {
      deliveriesMaxReceiveCount: config.settings.deliveriesMaxReceiveCount,
      dispatcherTimeout: config.dispatcherTimeout,
      fanoutTimeout: config.fanoutTimeout,
    });
    const events = new HooklineEvents(this, 'Events', {
      eventSource: config.settings.eventSource,
      eventsQueue: queues.eventsQueue,
    });

    // One secret per deployment, whatever the number of subscriptions: the key ring their signing
    // secrets (and inbound source credentials) are sealed under, on their own table items.
    const sealingKey = new HooklineSealingKey(this, 'SealingKey', {
      secretPrefix: config.secretPrefix,
      removalPolicy: config.removalPolicy,
    });

    const contract: Record<string, string> = {
      [ENV.subscriptionsTable]: tables.subscriptions.table.tableName,
      [ENV.eventsTable]: tables.events.table.tableName,
      [ENV.deliveriesTable]: tables.deliveries.table.tableName,
      [ENV.tokensTable]: tables.tokens.table.tableName,
      [ENV.eventsQueueUrl]: queues.eventsQueue.queueUrl,
      [ENV.deliveriesQueueUrl]: queues.deliveriesQueue.queueUrl,
      [ENV.settings]: config.settingsJson,
      POWERTOOLS_LOG_LEVEL: config.logLevel,
      POWERTOOLS_METRICS_NAMESPACE: config.metricsNamespace,
    };
    // Only the API serves inbound sources; the other functions are not told where their table is.
    const inboundContract: Record<string, string> = {
      [ENV.inboundSourcesTable]: tables.inboundSources.table.tableName,
    };
    // The API seals and opens secrets, the dispatcher opens them; fan-out never sees one.
    const sealingContract: Record<string, string> = { [ENV.sealingKeySecret]: sealingKey.secret.secretArn };
    const fn = (
      fnId: string,
      handler: 'api' | 'fanout' | 'dispatcher',
      description: string,
      timeout = config.apiTimeout,
      reservedConcurrentExecutions?: number,
    ) =>
      new HooklineFunction(this, fnId, {
        handler,
        description,
        timeout,
        ...(reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions }),
        environment: {
          ...contract,
          ...(handler === 'api' ? inboundContract : {}),
          ...(handler === 'fanout' ? {} : sealingContract),
          POWERTOOLS_SERVICE_NAME: `hookline-${handler}`,
        },
        logRetention: config.logRetention,
        removalPolicy: config.removalPolicy,
      });
    const api = fn('ApiFunction', 'api', 'Hookline API: subscriptions, deliveries, replay, publish');
    const fanout = fn('FanoutFunction', 'fanout', 'Hookline fan-out: one delivery message per (event, subscription)', config.fanoutTimeout);
    const dispatcher = fn(
      'DispatcherFunction',
      'dispatcher',
      'Hookline dispatcher: signed HTTPS POST with retries',
      config.dispatcherTimeout,
      config.dispatcherReservedConcurrency,
    );

    const grants: GrantContext = { tables, queues, sealingKey: sealingKey.secret, tableEncryptionKey: config.tableEncryptionKey };
    grantApi(api, grants);
    grantFanout(fanout, grants);
    grantDispatcher(dispatcher, grants);
    // Operator events (circuit opened/closed, subscription disabled, delivery exhausted) go to the
    // deployment's own bus, under a source the events-queue rule does not match.
    dispatcher.allow(
      new PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [events.bus.eventBusArn],
        conditions: { StringEquals: { 'events:source': [`${config.settings.eventSource}${OPERATOR_SOURCE_SUFFIX}`] } },
      }),
    );
    dispatcher.function.addEnvironment(ENV.eventBusName, events.bus.eventBusName);
    dispatcher.function.addEnvironment(ENV.dispatcherConcurrency, String(config.dispatcherMaxConcurrency));

    fanout.function.addEventSource(
      new SqsEventSource(queues.eventsQueue, {
        batchSize: EVENT_SOURCE_BATCH_SIZE,
        reportBatchItemFailures: true,
        maxConcurrency: config.fanoutMaxConcurrency,
      }),
    );
    dispatcher.function.addEventSource(
      new SqsEventSource(queues.deliveriesQueue, {
        batchSize: EVENT_SOURCE_BATCH_SIZE,
        reportBatchItemFailures: true,
        maxConcurrency: config.dispatcherMaxConcurrency,
        // Polled, delivered, dropped and failed message counts of the mapping, for the dashboard.
        metricsConfig: { metrics: [MetricType.EVENT_COUNT] },
      }),
    );

    const httpApi = new HooklineApi(this, 'Api', {
      handler: api.function,
      stageName: config.apiStageName,
      throttlingRateLimit: config.apiThrottlingRateLimit,
      throttlingBurstLimit: config.apiThrottlingBurstLimit,
      inboundThrottlingRateLimit: config.inboundThrottlingRateLimit,
      inboundThrottlingBurstLimit: config.inboundThrottlingBurstLimit,
      logRetention: config.logRetention,
      removalPolicy: config.removalPolicy,
      cloudWatchRole: config.apiGatewayCloudWatchRole,
      webAclArn: config.webAclArn,
    });

    this.monitoring = new HooklineMonitoring(this, 'Monitoring', {
      eventsQueue: queues.eventsQueue,
      eventsDlq: queues.eventsDlq,
      eventsTargetDlq: events.targetDlq,
      deliveriesQueue: queues.deliveriesQueue,
      deliveriesDlq: queues.deliveriesDlq,
      apiStage: httpApi.api.deploymentStage,
      apiFunction: api.function,
      fanoutFunction: fanout.function,
      dispatcherFunction: dispatcher.function,
      deliveriesAgeThreshold: config.deliveriesAgeAlarmThreshold,
      alarmTopic: config.alarmTopic,
    });

    this.subscriptionsTable = tables.subscriptions.table;
    this.eventsTable = tables.events.table;
    this.deliveriesTable = tables.deliveries.table;
    this.tokensTable = tables.tokens.table;
    this.inboundSourcesTable = tables.inboundSources.table;
    this.sealingKey = sealingKey.secret;
    this.bus = events.bus;
    this.eventsQueue = queues.eventsQueue;
    this.eventsDlq = queues.eventsDlq;
    this.eventsTargetDlq = events.targetDlq;
    this.deliveriesQueue = queues.deliveriesQueue;
    this.deliveriesDlq = queues.deliveriesDlq;
    this.apiFunction = api.function;
    this.fanoutFunction = fanout.function;
    this.dispatcherFunction = dispatcher.function;
    this.api = httpApi.api;

    this.addOutputs();
  }

  /** Stable output keys (`ApiUrl`, …) so scripts and the token CLI can find the resources. */
  private addOutputs(): void {
    const outputs: Record<string, { value: string; description: string }> = {
      ApiUrl: { value: this.api.url, description: 'Base URL of the Hookline API (routes start with /fleets/{fleetId})' },
      EventBusName: { value: this.bus.eventBusName, description: 'EventBridge bus producers PutEvents to' },
      EventsQueueUrl: { value: this.eventsQueue.queueUrl, description: 'SQS events queue (fan-out input)' },
      DeliveriesQueueUrl: { value: this.deliveriesQueue.queueUrl, description: 'SQS deliveries queue (dispatcher input)' },
      DeliveriesDlqUrl: { value: this.deliveriesDlq.queueUrl, description: 'Deliveries DLQ; redrive to its source queue to replay' },
      SubscriptionsTableName: { value: this.subscriptionsTable.tableName, description: 'DynamoDB subscriptions table' },
      EventsTableName: { value: this.eventsTable.tableName, description: 'DynamoDB events table' },
      DeliveriesTableName: { value: this.deliveriesTable.tableName, description: 'DynamoDB deliveries table' },
      TokensTableName: { value: this.tokensTable.tableName, description: 'DynamoDB tokens table (npx hookline token …)' },
      InboundSourcesTableName: { value: this.inboundSourcesTable.tableName, description: 'DynamoDB inbound webhook sources table' },
      SealingKeySecretArn: { value: this.sealingKey.secretArn, description: 'Secrets Manager secret holding the key ring (hookline secrets rekey)' },
    };
    for (const [name, output] of Object.entries(outputs)) {
      new CfnOutput(this, name, output).overrideLogicalId(`${this.config.outputPrefix}${name}`);
    }
  }
}
