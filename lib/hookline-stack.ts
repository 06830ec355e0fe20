import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { deploymentSettingsSchema } from '../lambdas/core/settings';
import type { HooklineSettingsProps, WebhookServiceProps } from './config';
import type { HooklineContext } from './context';
import { WebhookService } from './webhook-service';

export interface HooklineStackProps extends StackProps {
  /** The parsed `hookline` context object (see lib/context.ts). */
  readonly settings?: HooklineContext;
}

const REMOVAL_POLICIES: Record<NonNullable<HooklineContext['removalPolicy']>, RemovalPolicy> = {
  retain: RemovalPolicy.RETAIN,
  destroy: RemovalPolicy.DESTROY,
  'retain-on-update-or-delete': RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
};

const seconds = (value: number | undefined): Duration | undefined =>
  value === undefined ? undefined : Duration.seconds(value);

/** The deployable Hookline: one WebhookService configured from `cdk.json` context. */
export class HooklineStack extends Stack {
  readonly service: WebhookService;

  constructor(scope: Construct, id: string, props: HooklineStackProps = {}) {
    super(scope, id, props);
    this.service = new WebhookService(this, 'Hookline', this.serviceProps(props.settings ?? {}));
    this.service.addOutputs();
  }

  private serviceProps(context: HooklineContext): WebhookServiceProps {
    // Settings pass through untyped; WebhookService validates them with parseDeploymentSettings.
    const settings: Record<string, unknown> = {};
    for (const key of Object.keys(deploymentSettingsSchema.shape) as (keyof HooklineContext)[]) {
      if (context[key] !== undefined) settings[key] = context[key];
    }
    return {
      ...(settings as HooklineSettingsProps),
      removalPolicy: context.removalPolicy === undefined ? undefined : REMOVAL_POLICIES[context.removalPolicy],
      deadLetterQueueRemovalPolicy:
        context.deadLetterQueueRemovalPolicy === undefined ? undefined : REMOVAL_POLICIES[context.deadLetterQueueRemovalPolicy],
      // The standalone stack keeps the prefix it has always had, so existing signing secrets stay in scope.
      secretPrefix: context.secretPrefix ?? `hookline/${this.stackName}/`,
      tableEncryptionKey:
        context.tableEncryptionKeyArn === undefined
          ? undefined
          : Key.fromKeyArn(this, 'TableEncryptionKey', context.tableEncryptionKeyArn),
      dispatcherMaxConcurrency: context.dispatcherMaxConcurrency,
      dispatcherReservedConcurrency: context.dispatcherReservedConcurrency,
      fanoutMaxConcurrency: context.fanoutMaxConcurrency,
      dispatcherTimeout: seconds(context.dispatcherTimeoutSeconds),
      fanoutTimeout: seconds(context.fanoutTimeoutSeconds),
      apiTimeout: seconds(context.apiTimeoutSeconds),
      apiThrottlingRateLimit: context.apiThrottlingRateLimit,
      apiThrottlingBurstLimit: context.apiThrottlingBurstLimit,
      inboundThrottlingRateLimit: context.inboundThrottlingRateLimit,
      inboundThrottlingBurstLimit: context.inboundThrottlingBurstLimit,
      apiStageName: context.apiStageName,
      apiGatewayCloudWatchRole: context.apiGatewayCloudWatchRole,
      webAclArn: context.webAclArn,
      staticEgress:
        context.staticEgressAvailabilityZones === undefined ? undefined : { availabilityZones: context.staticEgressAvailabilityZones },
      logRetention: context.logRetentionDays as RetentionDays | undefined,
      logLevel: context.logLevel,
      metricsNamespace: context.metricsNamespace,
      deliveriesAgeAlarmThreshold:
        context.deliveriesAgeAlarmMinutes === undefined ? undefined : Duration.minutes(context.deliveriesAgeAlarmMinutes),
      alarmTopic:
        context.alarmTopicArn === undefined ? undefined : Topic.fromTopicArn(this, 'AlarmTopic', context.alarmTopicArn),
    };
  }
}
