import { CfnOutput, Fn, Stack, type Duration } from 'aws-cdk-lib';
import type { IRestApi } from 'aws-cdk-lib/aws-apigateway';
import { MathExpression, Metric, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IVpc } from 'aws-cdk-lib/aws-ec2';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Grant, PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { MetricType, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS } from '../lambdas/core/metrics';
import { OPERATOR_SOURCE_SUFFIX } from '../lambdas/shared/operator-events';
import { ENV } from '../lambdas/shared/environment';
import { HooklineApi } from './api';
import { resolveServiceConfig, type WebhookServiceProps } from './config';
import { HooklineEgress } from './egress';
import { HooklineEvents } from './events';
import { HooklineFunction } from './functions';
import { HooklineMonitoring } from './monitoring';
import { grantApi, grantDispatcher, grantFanout, type GrantContext } from './permissions';
import { HooklineQueues } from './queues';
import { HooklineSealingKey } from './sealing-key';
import { claimSecretScope, defaultSecretPrefix } from './secret-scope';
import { HooklineTables } from './tables';

export type { HooklineLogLevel, HooklineSettingsProps, WebhookServiceProps } from './config';

/** SQS event sources: the largest batch that still lets one invocation finish every message in time. */
export const EVENT_SOURCE_BATCH_SIZE = 10;

/** `POWERTOOLS_SERVICE_NAME` of the dispatcher: the `service` dimension of every delivery metric. */
export const DISPATCHER_SERVICE_NAME = 'hookline-dispatcher';

/**
 * What a redrive of the deliveries DLQ needs: StartMessageMoveTask (SQS API Reference; the DLQ is
 * the source, and without a DestinationArn messages return to the queue they came from) with the
 * task listing and cancelling calls, plus receive, delete and attributes on the DLQ; SendMessage on
 * the deliveries queue is granted beside it (SQS Developer Guide, "Learn how to configure a
 * dead-letter queue redrive in Amazon SQS").
 */
export const REDRIVE_DLQ_ACTIONS = [
  'sqs:StartMessageMoveTask',
  'sqs:ListMessageMoveTasks',
  'sqs:CancelMessageMoveTask',
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
];

/** Names of the outputs `addOutputs` creates (scripts and `npx hookline token --stack` look them up). */
export const OUTPUT_NAMES = [
  'ApiUrl',
  'EventBusName',
  'EventsQueueUrl',
  'DeliveriesQueueUrl',
  'DeliveriesDlqUrl',
  'SubscriptionsTableName',
  'EventsTableName',
  'DeliveriesTableName',
  'TokensTableName',
  'InboundSourcesTableName',
  'SealingKeySecretArn',
] as const;

/**
 * Hookline as one L3 construct: tables, bus rule, queues, the API, fan-out and dispatcher
 * functions, alarms and a dashboard. Drop it into any stack (nested stacks and several services per
 * stack work); `HooklineStack` is the thin wrapper `cdk.json` drives.
 */
export class WebhookService extends Construct {
  readonly subscriptionsTable: ITable;
  readonly eventsTable: ITable;
  readonly deliveriesTable: ITable;
  readonly tokensTable: ITable;
  readonly inboundSourcesTable: ITable;
  /** The deployment's one Secrets Manager secret: the key ring sealing signing secrets and inbound credentials. */
  readonly sealingKey: ISecret;
  /** The bus producers PutEvents to: the one passed as `eventBus`, or Hookline's own. */
  readonly bus: IEventBus;
  readonly eventsQueue: IQueue;
  readonly eventsDlq: IQueue;
  /** Events EventBridge could not put on the events queue. */
  readonly eventsTargetDlq: IQueue;
  readonly deliveriesQueue: IQueue;
  readonly deliveriesDlq: IQueue;
  readonly apiFunction: IFunction;
  readonly fanoutFunction: IFunction;
  readonly dispatcherFunction: IFunction;
  readonly api: IRestApi;
  /** Base URL of the API (the stage URL, or the custom domain when one is configured). */
  readonly apiUrl: string;
  /** With `staticEgress`: the public IPs deliveries come from (tokens; see the `EgressIps` output). */
  readonly egressIps?: string[];
  /** With `staticEgress`: the VPC the dispatcher runs in. */
  readonly egressVpc?: IVpc;
  /** Secrets Manager name prefix of the service's one secret, the key ring (`<prefix>sealing-key`). */
  readonly secretPrefix: string;
  /** EventBridge `source` producers must use. */
  readonly eventSource: string;
  /** CloudWatch namespace of the delivery metrics. */
  readonly metricsNamespace: string;
  readonly monitoring: HooklineMonitoring;

  constructor(scope: Construct, id: string, props: WebhookServiceProps = {}) {
    super(scope, id);
    const config = resolveServiceConfig(props, defaultSecretPrefix(this));
    claimSecretScope(this, config.secretPrefix);

    const tables = new HooklineTables(this, 'Tables', {
      removalPolicy: config.removalPolicy,
      encryptionKey: config.tableEncryptionKey,
    });
    const queues = new HooklineQueues(this, 'Queues', {
      deliveriesMaxReceiveCount: config.settings.deliveriesMaxReceiveCount,
      dispatcherTimeout: config.dispatcherTimeout,
      fanoutTimeout: config.fanoutTimeout,
      removalPolicy: config.removalPolicy,
      deadLetterQueueRemovalPolicy: config.deadLetterQueueRemovalPolicy,
    });
    const events = new HooklineEvents(this, 'Events', {
      eventSource: config.settings.eventSource,
      eventsQueue: queues.eventsQueue,
      eventBus: props.eventBus,
      deadLetterQueueRemovalPolicy: config.deadLetterQueueRemovalPolicy,
    });

    // One secret per service, whatever the number of subscriptions: the key ring their signing
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
    // The API seals and opens secrets, the dispatcher opens them; the fan-out never sees one.
    const sealingContract: Record<string, string> = { [ENV.sealingKeySecret]: sealingKey.secret.secretArn };
    // Static egress: deliveries leave through NAT gateways with Elastic IPs customers can allowlist.
    const egress =
      props.staticEgress === undefined
        ? undefined
        : new HooklineEgress(this, 'Egress', { ...props.staticEgress, logRetention: config.logRetention, removalPolicy: config.removalPolicy });
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
          POWERTOOLS_SERVICE_NAME: handler === 'dispatcher' ? DISPATCHER_SERVICE_NAME : `hookline-${handler}`,
        },
        logRetention: config.logRetention,
        removalPolicy: config.removalPolicy,
        ...(handler === 'dispatcher' && egress !== undefined
          ? { network: { vpc: egress.vpc, subnets: egress.subnets, securityGroups: [egress.securityGroup] } }
          : {}),
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
      customDomain: props.customDomain,
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
    this.apiUrl = httpApi.url;
    this.secretPrefix = config.secretPrefix;
    if (egress !== undefined) {
      this.egressIps = egress.ips;
      this.egressVpc = egress.vpc;
    }
    this.eventSource = config.settings.eventSource;
    this.metricsNamespace = config.metricsNamespace;
    this.monitoring.addDeliveryMetrics(this);
  }

  /**
   * Lets `grantee` publish Hookline events: PutEvents on the bus, only with this deployment's
   * `source` (the condition keeps it from forging the dispatcher's operator events).
   */
  grantPublish(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['events:PutEvents'],
      resourceArns: [this.bus.eventBusArn],
      conditions: { StringEquals: { 'events:source': [this.eventSource] } },
    });
  }

  /** Lets `grantee` redrive failed deliveries from the DLQ back to the deliveries queue (StartMessageMoveTask). */
  grantRedrive(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: REDRIVE_DLQ_ACTIONS,
      resourceArns: [this.deliveriesDlq.queueArn],
    }).combine(this.deliveriesQueue.grantSendMessages(grantee));
  }

  /**
   * One delivery metric of the dispatcher (Powertools EMF: namespace `metricsNamespace`, dimension
   * `service`). Services sharing a namespace in one account and region share these metrics; give
   * each its own `metricsNamespace` to tell them apart.
   */
  private deliveryMetric(metricName: string, statistic: string, options: MetricOptions = {}, dimensions: Record<string, string> = {}): Metric {
    return new Metric({
      namespace: this.metricsNamespace,
      metricName,
      dimensionsMap: { service: DISPATCHER_SERVICE_NAME, ...dimensions },
      statistic,
      ...options,
    });
  }

  /** HTTP attempts made (Sum). */
  metricDeliveryAttempts(options?: MetricOptions): Metric {
    return this.deliveryMetric(METRICS.attempts, 'Sum', options);
  }

  /** Attempts the receiver answered with 2xx (Sum). */
  metricDeliveriesSucceeded(options?: MetricOptions): Metric {
    return this.deliveryMetric(METRICS.succeeded, 'Sum', options);
  }

  /** Failed attempts of one kind (`timeout`, `connection`, `dns`, `tls`, `http`, `blocked`, `interrupted`), Sum. */
  metricDeliveriesFailed(errorKind: string, options?: MetricOptions): Metric {
    return this.deliveryMetric(METRICS.failed, 'Sum', options, { errorKind });
  }

  /** Failed attempts of every kind, one series per kind (a CloudWatch SEARCH expression). */
  metricDeliveriesFailedByKind(period?: Duration): MathExpression {
    const seconds = period?.toSeconds() ?? 300;
    const namespace = this.metricsNamespace.replace(/"/g, '');
    return new MathExpression({
      expression: `SEARCH('{"${namespace}",errorKind,service} MetricName="${METRICS.failed}" service="${DISPATCHER_SERVICE_NAME}"', 'Sum', ${seconds})`,
      usingMetrics: {},
      label: METRICS.failed,
      ...(period === undefined ? {} : { period }),
    });
  }

  /** Deliveries that used every attempt of a round (Sum). */
  metricDeliveriesExhausted(options?: MetricOptions): Metric {
    return this.deliveryMetric(METRICS.exhausted, 'Sum', options);
  }

  /** Attempt latency in milliseconds, request to response (p99 unless `statistic` says otherwise). */
  metricDeliveryLatency(options?: MetricOptions): Metric {
    return this.deliveryMetric(METRICS.latency, 'p99', options);
  }

  /**
   * Stack outputs with stable names (`<prefix>ApiUrl`, `<prefix>TokensTableName`, …) for scripts
   * and `npx hookline token --stack <name> [--output-prefix <prefix>]`. Opt-in: outputs belong to
   * the stack, and a stack with several services gives each its own prefix.
   */
  addOutputs(prefix = ''): void {
    if (!/^[A-Za-z0-9]{0,64}$/.test(prefix)) throw new Error(`addOutputs: prefix must be at most 64 of A-Z a-z 0-9 (got ${JSON.stringify(prefix)})`);
    const values: Record<(typeof OUTPUT_NAMES)[number], { value: string; description: string }> = {
      ApiUrl: { value: this.apiUrl, description: 'Base URL of the Hookline API (routes start with /fleets/{fleetId})' },
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
    const stack = Stack.of(this);
    for (const name of OUTPUT_NAMES) {
      new CfnOutput(stack, `${prefix}${name}`, values[name]).overrideLogicalId(`${prefix}${name}`);
    }
    if (this.egressIps !== undefined) {
      new CfnOutput(stack, `${prefix}EgressIps`, {
        value: Fn.join(',', this.egressIps),
        description: 'Public IPs deliveries come from (comma-separated): receivers may allowlist them',
      }).overrideLogicalId(`${prefix}EgressIps`);
    }
  }
}
