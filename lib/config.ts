import { scheduleSpanSeconds } from '../lambdas/core/delivery-policy';
import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { HooklineCustomDomain } from './api';
import type { HooklineStaticEgress } from './egress';
import {
  defaultDispatcherTimeoutSeconds,
  deploymentSettingsSchema,
  parseDeploymentSettings,
  type DeploymentSettings,
  type DeploymentSettingsInput,
} from '../lambdas/core/settings';
import { CONSTRUCT_SETTINGS, MAX_API_TIMEOUT_SECONDS, MAX_LAMBDA_TIMEOUT_SECONDS } from './construct-settings';

/** An array prop takes a readonly array; everything else as the runtime parser accepts it. */
type PropOf<T> = T extends (infer U)[] ? readonly U[] : T;

/**
 * The runtime settings as construct props: one optional prop per entry of `RUNTIME_SETTINGS`
 * (lambdas/core/settings.ts, which documents each: type, unit, default, bounds). They are
 * validated with `parseDeploymentSettings` at construction and handed to every function as
 * `HOOKLINE_SETTINGS`.
 */
export type HooklineSettingsProps = {
  readonly [K in keyof DeploymentSettingsInput]?: PropOf<Exclude<DeploymentSettingsInput[K], undefined>>;
};

/** Powertools log levels. */
export type HooklineLogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'CRITICAL' | 'SILENT';

export interface WebhookServiceProps extends HooklineSettingsProps {
  /**
   * What happens to the tables, the events and deliveries queues, the inbound key and the log
   * groups when they leave the stack. DynamoDB cannot snapshot on delete, so `SNAPSHOT` is refused.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * What happens to the dead-letter queues (failed deliveries and events waiting for a redrive)
   * when they leave the stack. Kept apart from `removalPolicy` so a `DESTROY` development stack
   * still has to opt in to losing them.
   * @default RemovalPolicy.RETAIN
   */
  readonly deadLetterQueueRemovalPolicy?: RemovalPolicy;
  /**
   * Secrets Manager name prefix of the service's one secret, the key ring that seals signing
   * secrets and inbound credentials (`<prefix>sealing-key`). Must end with `/`; two services in
   * one stack must not have prefixes where one starts with the other.
   * @default `hookline/<stackName>/<unique construct name>/`
   */
  readonly secretPrefix?: string;
  /**
   * Customer-managed KMS key for the tables; the functions are granted use of it.
   * @default the AWS managed key `aws/dynamodb`
   */
  readonly tableEncryptionKey?: IKey;
  /**
   * Most concurrent dispatcher invocations the deliveries queue's event source mapping runs (2–1000).
   * @default 50
   */
  readonly dispatcherMaxConcurrency?: number;
  /**
   * Reserved concurrency of the dispatcher function. When set it must be at least
   * `dispatcherMaxConcurrency`: the event source mapping's maximum concurrency does not account for
   * reserved concurrency, and a lower reserve throttles invocations (Lambda Developer Guide,
   * "Configuring scaling behavior for SQS event source mappings").
   * @default none (the account's unreserved pool)
   */
  readonly dispatcherReservedConcurrency?: number;
  /**
   * Most concurrent fan-out invocations the events queue's event source mapping runs (2–1000).
   * @default 10
   */
  readonly fanoutMaxConcurrency?: number;
  /**
   * Dispatcher timeout; must exceed the longest attempt timeout (`maxAttemptTimeoutSeconds`) by at
   * least 1 s. The deliveries queue's visibility timeout is six times this.
   * @default maxAttemptTimeoutSeconds + 30 s, at least 60 s
   */
  readonly dispatcherTimeout?: Duration;
  /**
   * Fan-out timeout (1–900 s). The events queue's visibility timeout is six times this.
   * @default Duration.seconds(60)
   */
  readonly fanoutTimeout?: Duration;
  /**
   * API function timeout (1–29 s); API Gateway's integration gives up after 29 s anyway.
   * @default Duration.seconds(29)
   */
  readonly apiTimeout?: Duration;
  /**
   * Stage-wide steady-state request rate limit (requests per second).
   * @default 100
   */
  readonly apiThrottlingRateLimit?: number;
  /**
   * Stage-wide burst limit (requests).
   * @default 200
   */
  readonly apiThrottlingBurstLimit?: number;
  /**
   * Request rate limit of the inbound webhook route (`/inbound/{sourceId}`, no bearer token), per
   * method, so a flood of provider calls cannot use up the rest of the API's budget.
   * @default 50 (or apiThrottlingRateLimit when lower)
   */
  readonly inboundThrottlingRateLimit?: number;
  /**
   * Burst limit of the inbound webhook route, per method.
   * @default 100 (or apiThrottlingBurstLimit when lower)
   */
  readonly inboundThrottlingBurstLimit?: number;
  /**
   * API Gateway stage name (the first path segment of the API URL).
   * @default 'v1'
   */
  readonly apiStageName?: string;
  /**
   * Create the account-wide role API Gateway writes execution and access logs with
   * (`AWS::ApiGateway::Account`, one per account and region, retained on delete). Off by default:
   * it replaces whatever role the account had. In an account and region where no role was ever
   * set, deploying fails on the stage with "CloudWatch Logs role ARN must be set in account
   * settings to enable logging"; set this once, or set the role in the API Gateway console.
   * @default false
   */
  readonly apiGatewayCloudWatchRole?: boolean;
  /**
   * ARN of an AWS WAFv2 web ACL (REGIONAL scope) to associate with the API stage.
   * @default no web ACL
   */
  readonly webAclArn?: string;
  /**
   * Serve the API on your own domain (REGIONAL endpoint, TLS 1.2); `hostedZone` adds the alias record.
   * @default the execute-api URL only
   */
  readonly customDomain?: HooklineCustomDomain;
  /**
   * Run the dispatcher in a VPC whose NAT gateways have Elastic IPs, so every delivery comes from
   * a fixed set of addresses (the `EgressIps` output) receivers can allowlist. Costs one NAT
   * gateway per AZ (hourly plus per-GB processing). `allowPrivateTargets` then also reaches
   * private endpoints routable from that VPC.
   * @default no VPC (deliveries come from Lambda's shared address pool)
   */
  readonly staticEgress?: HooklineStaticEgress;
  /**
   * An EventBridge bus the app already has. Hookline adds a rule matching its `eventSource` and
   * sends its operator events there; `grantPublish` grants PutEvents on it.
   * @default a bus of its own
   */
  readonly eventBus?: IEventBus;
  /**
   * Retention of every log group (functions and API access logs).
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * `POWERTOOLS_LOG_LEVEL` of every function.
   * @default 'INFO'
   */
  readonly logLevel?: HooklineLogLevel;
  /**
   * `POWERTOOLS_METRICS_NAMESPACE` of every function.
   * @default 'Hookline'
   */
  readonly metricsNamespace?: string;
  /**
   * The deliveries-queue backlog alarm fires when its oldest message is older than this.
   * @default Duration.minutes(15)
   */
  readonly deliveriesAgeAlarmThreshold?: Duration;
  /**
   * SNS topic every alarm notifies (alarm and OK transitions).
   * @default alarms without actions
   */
  readonly alarmTopic?: ITopic;
}

/** Everything the parts of the construct need, validated and with defaults applied. */
export interface ServiceConfig {
  readonly settings: DeploymentSettings;
  readonly settingsJson: string;
  readonly removalPolicy: RemovalPolicy;
  readonly deadLetterQueueRemovalPolicy: RemovalPolicy;
  readonly secretPrefix: string;
  readonly tableEncryptionKey?: IKey;
  readonly dispatcherMaxConcurrency: number;
  readonly dispatcherReservedConcurrency?: number;
  readonly fanoutMaxConcurrency: number;
  readonly dispatcherTimeout: Duration;
  readonly fanoutTimeout: Duration;
  readonly apiTimeout: Duration;
  readonly apiThrottlingRateLimit: number;
  readonly apiThrottlingBurstLimit: number;
  readonly inboundThrottlingRateLimit: number;
  readonly inboundThrottlingBurstLimit: number;
  readonly apiStageName: string;
  readonly apiGatewayCloudWatchRole: boolean;
  readonly webAclArn?: string;
  readonly logRetention: RetentionDays;
  readonly logLevel: HooklineLogLevel;
  readonly metricsNamespace: string;
  readonly deliveriesAgeAlarmThreshold: Duration;
  readonly alarmTopic?: ITopic;
}

/** The dispatcher's timeout must exceed its longest HTTP attempt by at least this much. */
export const DISPATCHER_TIMEOUT_MARGIN_SECONDS = 1;
/**
 * Lambda allows 4 KB for all environment variables together; the table names, queue URLs and
 * the rest take roughly 1.2 KB, so the settings JSON must fit in what remains.
 */
export const MAX_SETTINGS_JSON_BYTES = 2_800;

const LOG_LEVELS: readonly HooklineLogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'];
const SUPPORTED_REMOVAL_POLICIES: readonly RemovalPolicy[] = [
  RemovalPolicy.RETAIN,
  RemovalPolicy.DESTROY,
  RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
];
const RETENTION_VALUES = new Set(Object.values(RetentionDays).filter((v): v is number => typeof v === 'number'));
// Secrets Manager name characters; `*` and `?` are excluded so the prefix is never an IAM wildcard.
const SECRET_PREFIX_PATTERN = /^[A-Za-z0-9/_+=.@-]+\/$/;
const METRICS_NAMESPACE_PATTERN = /^[A-Za-z0-9.\-_/#: ]{1,255}$/;
const STAGE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Takes the settings fields out of the props. Indexing the props with every settings key makes
 * the compiler reject a settings field that `HooklineSettingsProps` forgot to declare.
 */
function pickSettings(props: WebhookServiceProps): { [K in keyof DeploymentSettings]?: HooklineSettingsProps[K] } {
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(deploymentSettingsSchema.shape) as (keyof DeploymentSettings)[]) {
    const value: HooklineSettingsProps[typeof key] = props[key];
    if (value !== undefined) picked[key] = value;
  }
  return picked;
}

class Problems {
  readonly list: string[] = [];

  check(ok: boolean, prop: string, requirement: string, got: unknown): void {
    if (!ok) this.list.push(`${prop}: ${requirement} (got ${describe(got)})`);
  }
}

function describe(value: unknown): string {
  if (value instanceof Duration) return value.toHumanString();
  return JSON.stringify(value) ?? String(value);
}

function isIntegerIn(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

function secondsOf(duration: Duration): number {
  return duration.toSeconds({ integral: false });
}

const DAY_SECONDS = 86_400;

/**
 * A round must end while its event is still stored: a failed delivery can then still be retried
 * from the API. (SQS retention does not bound it: every attempt is a message of its own.)
 */
function checkScheduleFitsRetention(settings: DeploymentSettings, problems: Problems): void {
  const { nominal, worst } = scheduleSpanSeconds(settings);
  const retention = settings.eventRetentionDays * DAY_SECONDS;
  const days = (seconds: number): string => `${(seconds / DAY_SECONDS).toFixed(1)} days`;
  problems.check(
    nominal <= retention,
    'maxAttempts',
    `with retryDelaysSeconds and retryJitter must keep a delivery round within the ${settings.eventRetentionDays}-day event retention (eventRetentionDays)`,
    `${settings.maxAttempts} attempts over ${days(nominal)}`,
  );
  problems.check(
    worst <= retention,
    'retryAfterMaxSeconds',
    `with maxAttempts must keep a round stretched by Retry-After within the ${settings.eventRetentionDays}-day event retention (eventRetentionDays)`,
    `${settings.retryAfterMaxSeconds} s over ${settings.maxAttempts} attempts = ${days(worst)}`,
  );
}

const C = CONSTRUCT_SETTINGS;

/** An integer prop within its catalog bounds, with the catalog's wording of them. */
function checkIntegerIn(problems: Problems, prop: string, value: number, min: number, max: number): void {
  problems.check(isIntegerIn(value, min, max), prop, `must be an integer from ${min} to ${max}`, value);
}

/** The runtime settings, parsed as the functions will parse them, and their JSON's fit in the environment. */
function resolveSettings(props: WebhookServiceProps, problems: Problems): { settings?: DeploymentSettings; settingsJson: string } {
  let settings: DeploymentSettings | undefined;
  try {
    settings = parseDeploymentSettings(pickSettings(props), 'WebhookService props');
  } catch (error) {
    problems.list.push((error as Error).message);
  }
  const settingsJson = settings === undefined ? '' : JSON.stringify(settings);
  problems.check(
    Buffer.byteLength(settingsJson) <= MAX_SETTINGS_JSON_BYTES,
    'eventCatalog (with retryDelaysSeconds and allowPrivateTargets)',
    `must serialise to at most ${MAX_SETTINGS_JSON_BYTES} bytes of JSON, ` +
      "because HOOKLINE_SETTINGS shares Lambda's 4 KB environment limit",
    `${Buffer.byteLength(settingsJson)} bytes`,
  );
  if (settings !== undefined) checkScheduleFitsRetention(settings, problems);
  return { settings, settingsJson };
}

function resolveStorage(props: WebhookServiceProps, defaultSecretPrefix: string, problems: Problems) {
  const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
  problems.check(
    SUPPORTED_REMOVAL_POLICIES.includes(removalPolicy),
    'removalPolicy',
    'must be RETAIN, DESTROY or RETAIN_ON_UPDATE_OR_DELETE (DynamoDB tables cannot snapshot)',
    removalPolicy,
  );
  const deadLetterQueueRemovalPolicy = props.deadLetterQueueRemovalPolicy ?? RemovalPolicy.RETAIN;
  problems.check(
    SUPPORTED_REMOVAL_POLICIES.includes(deadLetterQueueRemovalPolicy),
    'deadLetterQueueRemovalPolicy',
    'must be RETAIN, DESTROY or RETAIN_ON_UPDATE_OR_DELETE',
    deadLetterQueueRemovalPolicy,
  );
  const secretPrefix = props.secretPrefix ?? defaultSecretPrefix;
  if (!Token.isUnresolved(secretPrefix)) {
    problems.check(
      SECRET_PREFIX_PATTERN.test(secretPrefix) && secretPrefix.length <= 256,
      'secretPrefix',
      'must be at most 256 Secrets Manager name characters (A-Z a-z 0-9 / _ + = . @ -) ending with "/"',
      secretPrefix,
    );
  }
  return { removalPolicy, deadLetterQueueRemovalPolicy, secretPrefix, tableEncryptionKey: props.tableEncryptionKey };
}

function resolveFunctions(props: WebhookServiceProps, settings: DeploymentSettings | undefined, problems: Problems) {
  const dispatcherMaxConcurrency = props.dispatcherMaxConcurrency ?? C.dispatcherMaxConcurrency.default;
  checkIntegerIn(problems, 'dispatcherMaxConcurrency', dispatcherMaxConcurrency, C.dispatcherMaxConcurrency.min, C.dispatcherMaxConcurrency.max);
  const dispatcherReservedConcurrency = props.dispatcherReservedConcurrency;
  if (dispatcherReservedConcurrency !== undefined) {
    problems.check(
      Number.isInteger(dispatcherReservedConcurrency) && dispatcherReservedConcurrency >= dispatcherMaxConcurrency,
      'dispatcherReservedConcurrency',
      `must be an integer of at least dispatcherMaxConcurrency (${dispatcherMaxConcurrency}), or the event source mapping is throttled`,
      dispatcherReservedConcurrency,
    );
  }
  const fanoutMaxConcurrency = props.fanoutMaxConcurrency ?? C.fanoutMaxConcurrency.default;
  checkIntegerIn(problems, 'fanoutMaxConcurrency', fanoutMaxConcurrency, C.fanoutMaxConcurrency.min, C.fanoutMaxConcurrency.max);

  // The dispatcher and the queue follow the longest attempt a subscription may choose.
  const longestAttempt = settings?.maxAttemptTimeoutSeconds ?? 30;
  const dispatcherTimeout =
    props.dispatcherTimeout ?? Duration.seconds(defaultDispatcherTimeoutSeconds({ maxAttemptTimeoutSeconds: longestAttempt }));
  problems.check(
    isIntegerIn(secondsOf(dispatcherTimeout), longestAttempt + DISPATCHER_TIMEOUT_MARGIN_SECONDS, C.dispatcherTimeoutSeconds.max),
    'dispatcherTimeout',
    `must be whole seconds, more than the ${longestAttempt} s longest attempt timeout (maxAttemptTimeoutSeconds) ` +
      `and at most ${C.dispatcherTimeoutSeconds.max} s`,
    dispatcherTimeout,
  );
  const fanoutTimeout = props.fanoutTimeout ?? Duration.seconds(C.fanoutTimeoutSeconds.default);
  problems.check(
    isIntegerIn(secondsOf(fanoutTimeout), C.fanoutTimeoutSeconds.min, C.fanoutTimeoutSeconds.max),
    'fanoutTimeout',
    `must be whole seconds from ${C.fanoutTimeoutSeconds.min} to ${C.fanoutTimeoutSeconds.max}`,
    fanoutTimeout,
  );
  const apiTimeout = props.apiTimeout ?? Duration.seconds(C.apiTimeoutSeconds.default);
  problems.check(
    isIntegerIn(secondsOf(apiTimeout), C.apiTimeoutSeconds.min, C.apiTimeoutSeconds.max),
    'apiTimeout',
    `must be whole seconds from ${C.apiTimeoutSeconds.min} to ${C.apiTimeoutSeconds.max} (the API Gateway integration timeout)`,
    apiTimeout,
  );
  return {
    dispatcherMaxConcurrency,
    ...(dispatcherReservedConcurrency === undefined ? {} : { dispatcherReservedConcurrency }),
    fanoutMaxConcurrency,
    dispatcherTimeout,
    fanoutTimeout,
    apiTimeout,
  };
}

function resolveApi(props: WebhookServiceProps, problems: Problems) {
  const apiThrottlingRateLimit = props.apiThrottlingRateLimit ?? C.apiThrottlingRateLimit.default;
  problems.check(
    Number.isFinite(apiThrottlingRateLimit) && apiThrottlingRateLimit > 0,
    'apiThrottlingRateLimit',
    'must be a positive number of requests per second',
    apiThrottlingRateLimit,
  );
  const apiThrottlingBurstLimit = props.apiThrottlingBurstLimit ?? C.apiThrottlingBurstLimit.default;
  checkIntegerIn(problems, 'apiThrottlingBurstLimit', apiThrottlingBurstLimit, C.apiThrottlingBurstLimit.min, C.apiThrottlingBurstLimit.max);

  const inboundThrottlingRateLimit = props.inboundThrottlingRateLimit ?? Math.min(50, apiThrottlingRateLimit);
  problems.check(
    Number.isFinite(inboundThrottlingRateLimit) && inboundThrottlingRateLimit > 0 && inboundThrottlingRateLimit <= apiThrottlingRateLimit,
    'inboundThrottlingRateLimit',
    'must be a positive number of requests per second, at most apiThrottlingRateLimit',
    inboundThrottlingRateLimit,
  );
  const inboundThrottlingBurstLimit = props.inboundThrottlingBurstLimit ?? Math.max(1, Math.min(100, apiThrottlingBurstLimit));
  problems.check(
    isIntegerIn(inboundThrottlingBurstLimit, 1, apiThrottlingBurstLimit),
    'inboundThrottlingBurstLimit',
    'must be an integer from 1 to apiThrottlingBurstLimit',
    inboundThrottlingBurstLimit,
  );

  const apiStageName = props.apiStageName ?? C.apiStageName.default;
  problems.check(STAGE_NAME_PATTERN.test(apiStageName), 'apiStageName', 'must be 1-128 of A-Z a-z 0-9 _ -', apiStageName);
  if (props.webAclArn !== undefined && !Token.isUnresolved(props.webAclArn)) {
    problems.check(
      /^arn:[a-z-]+:wafv2:[a-z0-9-]+:\d{12}:regional\/webacl\/.+/.test(props.webAclArn),
      'webAclArn',
      'must be the ARN of a REGIONAL WAFv2 web ACL',
      props.webAclArn,
    );
  }
  return {
    apiThrottlingRateLimit,
    apiThrottlingBurstLimit,
    inboundThrottlingRateLimit,
    inboundThrottlingBurstLimit,
    apiStageName,
    apiGatewayCloudWatchRole: props.apiGatewayCloudWatchRole ?? C.apiGatewayCloudWatchRole.default,
    webAclArn: props.webAclArn,
  };
}

function resolveObservability(props: WebhookServiceProps, problems: Problems) {
  const logRetention = props.logRetention ?? (C.logRetentionDays.default as RetentionDays);
  problems.check(RETENTION_VALUES.has(logRetention), 'logRetention', 'must be a RetentionDays value', logRetention);
  const logLevel = props.logLevel ?? C.logLevel.default;
  problems.check(LOG_LEVELS.includes(logLevel), 'logLevel', `must be one of ${LOG_LEVELS.join(', ')}`, logLevel);
  const metricsNamespace = props.metricsNamespace ?? C.metricsNamespace.default;
  problems.check(
    METRICS_NAMESPACE_PATTERN.test(metricsNamespace) && !metricsNamespace.startsWith('AWS/'),
    'metricsNamespace',
    'must be 1-255 CloudWatch namespace characters and not start with "AWS/"',
    metricsNamespace,
  );
  const deliveriesAgeAlarmThreshold = props.deliveriesAgeAlarmThreshold ?? Duration.minutes(C.deliveriesAgeAlarmMinutes.default);
  problems.check(
    secondsOf(deliveriesAgeAlarmThreshold) >= C.deliveriesAgeAlarmMinutes.min * 60,
    'deliveriesAgeAlarmThreshold',
    'must be at least one minute',
    deliveriesAgeAlarmThreshold,
  );
  return { logRetention, logLevel, metricsNamespace, deliveriesAgeAlarmThreshold, alarmTopic: props.alarmTopic };
}

/**
 * Validates the props and applies defaults (taken from the settings catalog). Throws one Error
 * naming every offending prop, so a bad `cdk.json` fails `cdk synth` instead of a deployment.
 */
export function resolveServiceConfig(props: WebhookServiceProps, defaultSecretPrefix: string): ServiceConfig {
  const problems = new Problems();
  const { settings, settingsJson } = resolveSettings(props, problems);
  const storage = resolveStorage(props, defaultSecretPrefix, problems);
  const functions = resolveFunctions(props, settings, problems);
  const api = resolveApi(props, problems);
  const observability = resolveObservability(props, problems);
  if (problems.list.length > 0 || settings === undefined) {
    throw new Error(`Invalid WebhookService props: ${problems.list.join('; ')}`);
  }
  return { settings, settingsJson, ...storage, ...functions, ...api, ...observability };
}
