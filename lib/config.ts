import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import {
  MAX_VISIBILITY_SECONDS,
  deploymentSettingsSchema,
  parseDeploymentSettings,
  type DeploymentSettings,
} from '../lambdas/core/settings';

/**
 * The deployment settings of `lambdas/core/settings.ts` as construct props. Each is validated
 * with `parseDeploymentSettings` at construction and handed to every function as `HOOKLINE_SETTINGS`.
 */
export interface HooklineSettingsProps {
  /**
   * Event types producers may publish and subscribers may choose from (dotted lower-case words).
   * @default seed 001's catalog (`DEFAULT_EVENT_CATALOG`)
   */
  readonly eventCatalog?: readonly string[];
  /**
   * EventBridge `source` the bus rule matches.
   * @default 'hookline'
   */
  readonly eventSource?: string;
  /**
   * Attempts per delivery round; also the deliveries queue's `maxReceiveCount` (1–50).
   * @default 9
   */
  readonly maxAttempts?: number;
  /**
   * Delays in seconds before retry 1, 2, …; the last one repeats when `maxAttempts` needs more.
   * @default [5, 30, 120, 600, 3600, 10800, 21600, 36000]
   */
  readonly retryDelaysSeconds?: readonly number[];
  /**
   * Each delay is multiplied by a random factor in [1 - jitter, 1 + jitter] (0–0.5).
   * @default 0.2
   */
  readonly retryJitter?: number;
  /**
   * Upper bound in seconds applied to a receiver's `Retry-After`.
   * @default 43200 (12 h, the SQS visibility limit)
   */
  readonly retryAfterMaxSeconds?: number;
  /**
   * Default per-attempt HTTP timeout in seconds; a subscription may choose 1–30.
   * @default 10
   */
  readonly attemptTimeoutSeconds?: number;
  /**
   * Prefix of the seed-scheme headers (`<prefix>-Delivery-Id`, `-Timestamp`, `-Signature`).
   * @default 'X-Webhook'
   */
  readonly signatureHeaderPrefix?: string;
  /**
   * `false`, `true` (every private range) or CIDR ranges deliveries may target; the
   * link-local/metadata range is never allowed.
   * @default false
   */
  readonly allowPrivateTargets?: boolean | readonly string[];
  /**
   * Days stored events and delivery logs are kept (table TTL) for replay.
   * @default 30
   */
  readonly eventRetentionDays?: number;
  /**
   * Hours a rotated-out signing secret keeps signing alongside the new one.
   * @default 24
   */
  readonly rotationGraceHours?: number;
  /**
   * A subscription whose deliveries have all failed for this many days is disabled.
   * @default 5
   */
  readonly autoDisableAfterDays?: number;
  /**
   * Largest accepted event `data`, serialised, in bytes.
   * @default 65536
   */
  readonly maxPayloadBytes?: number;
  /**
   * Largest replay window in days.
   * @default 14
   */
  readonly maxReplayDays?: number;
}

/** Powertools log levels. */
export type HooklineLogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'CRITICAL' | 'SILENT';

export interface WebhookServiceProps extends HooklineSettingsProps {
  /**
   * What happens to the tables and log groups when they leave the stack. DynamoDB cannot
   * snapshot on delete, so `SNAPSHOT` is refused.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Secrets Manager name prefix of the deployment's one secret, the signing-key ring
   * (`<prefix>signing-key`). Must end with `/`.
   * @default `hookline/<stackName>/`
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
   * Most concurrent fan-out invocations the events queue's event source mapping runs (2–1000).
   * @default 10
   */
  readonly fanoutMaxConcurrency?: number;
  /**
   * Dispatcher timeout; must exceed the 30 s longest attempt timeout. The deliveries queue's
   * visibility timeout is six times this.
   * @default Duration.seconds(60)
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
   * API Gateway stage name (the first path segment of the API URL).
   * @default 'v1'
   */
  readonly apiStageName?: string;
  /**
   * Create the account-wide role API Gateway writes execution logs with (`AWS::ApiGateway::Account`).
   * Set `false` when the account already has one configured.
   * @default true
   */
  readonly apiGatewayCloudWatchRole?: boolean;
  /**
   * ARN of an AWS WAFv2 web ACL (REGIONAL scope) to associate with the API stage.
   * @default no web ACL
   */
  readonly webAclArn?: string;
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
  /**
   * Prefix of the CfnOutput logical ids (`<prefix>ApiUrl`, …); set it when a stack holds more
   * than one WebhookService.
   * @default ''
   */
  readonly outputPrefix?: string;
}

/** Everything the parts of the construct need, validated and with defaults applied. */
export interface ServiceConfig {
  readonly settings: DeploymentSettings;
  readonly settingsJson: string;
  readonly removalPolicy: RemovalPolicy;
  readonly secretPrefix: string;
  readonly tableEncryptionKey?: IKey;
  readonly dispatcherMaxConcurrency: number;
  readonly fanoutMaxConcurrency: number;
  readonly dispatcherTimeout: Duration;
  readonly fanoutTimeout: Duration;
  readonly apiTimeout: Duration;
  readonly apiThrottlingRateLimit: number;
  readonly apiThrottlingBurstLimit: number;
  readonly apiStageName: string;
  readonly apiGatewayCloudWatchRole: boolean;
  readonly webAclArn?: string;
  readonly logRetention: RetentionDays;
  readonly logLevel: HooklineLogLevel;
  readonly metricsNamespace: string;
  readonly deliveriesAgeAlarmThreshold: Duration;
  readonly alarmTopic?: ITopic;
  readonly outputPrefix: string;
}

/** The longest per-attempt timeout a subscription may choose (settings.ts caps it at 30 s). */
export const MAX_ATTEMPT_TIMEOUT_SECONDS = 30;
/** Lambda's ceiling. */
const MAX_LAMBDA_TIMEOUT_SECONDS = 900;
/** API Gateway's default integration timeout. */
const MAX_API_TIMEOUT_SECONDS = 29;
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
const OUTPUT_PREFIX_PATTERN = /^[A-Za-z0-9]{0,64}$/;

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
/** SQS's longest retention, which every Hookline queue uses. */
const RETENTION_SECONDS = 14 * DAY_SECONDS;
/**
 * SQS keeps a message's original enqueue time when it moves to the DLQ, so whatever the retry
 * schedule uses is gone from the time operators have to redrive it.
 */
const MIN_DLQ_SECONDS = 7 * DAY_SECONDS;

/**
 * Seconds from the first attempt to the last one: with the nominal schedule (largest jitter) and
 * with every receiver answering the largest honoured Retry-After.
 */
function retrySchedule(settings: DeploymentSettings): { nominal: number; worst: number } {
  let nominal = 0;
  let worst = 0;
  for (let retry = 1; retry < settings.maxAttempts; retry += 1) {
    const delay = settings.retryDelaysSeconds[Math.min(retry, settings.retryDelaysSeconds.length) - 1] ?? 0;
    const jittered = Math.min(MAX_VISIBILITY_SECONDS, delay * (1 + settings.retryJitter));
    nominal += jittered;
    worst += Math.min(MAX_VISIBILITY_SECONDS, Math.max(jittered, settings.retryAfterMaxSeconds));
  }
  return { nominal, worst };
}

function checkScheduleFitsRetention(settings: DeploymentSettings, problems: Problems): void {
  const { nominal, worst } = retrySchedule(settings);
  const days = (seconds: number): string => `${(seconds / DAY_SECONDS).toFixed(1)} days`;
  problems.check(
    nominal <= RETENTION_SECONDS - MIN_DLQ_SECONDS,
    'maxAttempts',
    `with retryDelaysSeconds and retryJitter must keep the retry schedule within ${days(RETENTION_SECONDS - MIN_DLQ_SECONDS)}, ` +
      `leaving the DLQ ${days(MIN_DLQ_SECONDS)} of the queues' 14-day retention for a redrive`,
    `${settings.maxAttempts} attempts over ${days(nominal)}`,
  );
  problems.check(
    worst < RETENTION_SECONDS - DAY_SECONDS,
    'retryAfterMaxSeconds',
    `with maxAttempts must keep a schedule stretched by Retry-After under 13 days, or SQS would expire deliveries before they reach the DLQ`,
    `${settings.retryAfterMaxSeconds} s over ${settings.maxAttempts} attempts = ${days(worst)}`,
  );
}

/**
 * Validates the props and applies defaults. Throws one Error naming every offending prop, so a
 * bad `cdk.json` fails `cdk synth` instead of a deployment.
 */
export function resolveServiceConfig(props: WebhookServiceProps, stackName: string): ServiceConfig {
  const problems = new Problems();

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

  const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
  problems.check(
    SUPPORTED_REMOVAL_POLICIES.includes(removalPolicy),
    'removalPolicy',
    'must be RETAIN, DESTROY or RETAIN_ON_UPDATE_OR_DELETE (DynamoDB tables cannot snapshot)',
    removalPolicy,
  );

  const secretPrefix = props.secretPrefix ?? `hookline/${stackName}/`;
  if (!Token.isUnresolved(secretPrefix)) {
    problems.check(
      SECRET_PREFIX_PATTERN.test(secretPrefix) && secretPrefix.length <= 256,
      'secretPrefix',
      'must be at most 256 Secrets Manager name characters (A-Z a-z 0-9 / _ + = . @ -) ending with "/"',
      secretPrefix,
    );
  }

  const dispatcherMaxConcurrency = props.dispatcherMaxConcurrency ?? 50;
  problems.check(
    isIntegerIn(dispatcherMaxConcurrency, 2, 1000),
    'dispatcherMaxConcurrency',
    'must be an integer from 2 to 1000',
    dispatcherMaxConcurrency,
  );
  const fanoutMaxConcurrency = props.fanoutMaxConcurrency ?? 10;
  problems.check(
    isIntegerIn(fanoutMaxConcurrency, 2, 1000),
    'fanoutMaxConcurrency',
    'must be an integer from 2 to 1000',
    fanoutMaxConcurrency,
  );

  const dispatcherTimeout = props.dispatcherTimeout ?? Duration.seconds(60);
  problems.check(
    isIntegerIn(secondsOf(dispatcherTimeout), MAX_ATTEMPT_TIMEOUT_SECONDS + 1, MAX_LAMBDA_TIMEOUT_SECONDS),
    'dispatcherTimeout',
    `must be whole seconds, more than the ${MAX_ATTEMPT_TIMEOUT_SECONDS} s longest attempt timeout and at most ${MAX_LAMBDA_TIMEOUT_SECONDS} s`,
    dispatcherTimeout,
  );
  const fanoutTimeout = props.fanoutTimeout ?? Duration.seconds(60);
  problems.check(
    isIntegerIn(secondsOf(fanoutTimeout), 1, MAX_LAMBDA_TIMEOUT_SECONDS),
    'fanoutTimeout',
    `must be whole seconds from 1 to ${MAX_LAMBDA_TIMEOUT_SECONDS}`,
    fanoutTimeout,
  );
  const apiTimeout = props.apiTimeout ?? Duration.seconds(MAX_API_TIMEOUT_SECONDS);
  problems.check(
    isIntegerIn(secondsOf(apiTimeout), 1, MAX_API_TIMEOUT_SECONDS),
    'apiTimeout',
    `must be whole seconds from 1 to ${MAX_API_TIMEOUT_SECONDS} (the API Gateway integration timeout)`,
    apiTimeout,
  );

  const apiThrottlingRateLimit = props.apiThrottlingRateLimit ?? 100;
  problems.check(
    Number.isFinite(apiThrottlingRateLimit) && apiThrottlingRateLimit > 0,
    'apiThrottlingRateLimit',
    'must be a positive number of requests per second',
    apiThrottlingRateLimit,
  );
  const apiThrottlingBurstLimit = props.apiThrottlingBurstLimit ?? 200;
  problems.check(
    isIntegerIn(apiThrottlingBurstLimit, 1, 5_000),
    'apiThrottlingBurstLimit',
    'must be an integer from 1 to 5000',
    apiThrottlingBurstLimit,
  );

  const apiStageName = props.apiStageName ?? 'v1';
  problems.check(STAGE_NAME_PATTERN.test(apiStageName), 'apiStageName', 'must be 1-128 of A-Z a-z 0-9 _ -', apiStageName);

  if (props.webAclArn !== undefined && !Token.isUnresolved(props.webAclArn)) {
    problems.check(
      /^arn:[a-z-]+:wafv2:[a-z0-9-]+:\d{12}:regional\/webacl\/.+/.test(props.webAclArn),
      'webAclArn',
      'must be the ARN of a REGIONAL WAFv2 web ACL',
      props.webAclArn,
    );
  }

  const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
  problems.check(RETENTION_VALUES.has(logRetention), 'logRetention', 'must be a RetentionDays value', logRetention);

  const logLevel = props.logLevel ?? 'INFO';
  problems.check(LOG_LEVELS.includes(logLevel), 'logLevel', `must be one of ${LOG_LEVELS.join(', ')}`, logLevel);

  const metricsNamespace = props.metricsNamespace ?? 'Hookline';
  problems.check(
    METRICS_NAMESPACE_PATTERN.test(metricsNamespace) && !metricsNamespace.startsWith('AWS/'),
    'metricsNamespace',
    'must be 1-255 CloudWatch namespace characters and not start with "AWS/"',
    metricsNamespace,
  );

  const deliveriesAgeAlarmThreshold = props.deliveriesAgeAlarmThreshold ?? Duration.minutes(15);
  problems.check(
    secondsOf(deliveriesAgeAlarmThreshold) >= 60,
    'deliveriesAgeAlarmThreshold',
    'must be at least one minute',
    deliveriesAgeAlarmThreshold,
  );

  const outputPrefix = props.outputPrefix ?? '';
  problems.check(OUTPUT_PREFIX_PATTERN.test(outputPrefix), 'outputPrefix', 'must be at most 64 of A-Z a-z 0-9', outputPrefix);

  if (problems.list.length > 0 || settings === undefined) {
    throw new Error(`Invalid WebhookService props: ${problems.list.join('; ')}`);
  }

  return {
    settings,
    settingsJson,
    removalPolicy,
    secretPrefix,
    tableEncryptionKey: props.tableEncryptionKey,
    dispatcherMaxConcurrency,
    fanoutMaxConcurrency,
    dispatcherTimeout,
    fanoutTimeout,
    apiTimeout,
    apiThrottlingRateLimit,
    apiThrottlingBurstLimit,
    apiStageName,
    apiGatewayCloudWatchRole: props.apiGatewayCloudWatchRole ?? true,
    webAclArn: props.webAclArn,
    logRetention,
    logLevel,
    metricsNamespace,
    deliveriesAgeAlarmThreshold,
    alarmTopic: props.alarmTopic,
    outputPrefix,
  };
}
