import type { SettingInfo } from '../lambdas/core/settings';

/**
 * The construct's own settings, as `cdk.json` context spells them (seconds, days and ARNs where
 * the props take a `Duration`, a `RetentionDays` or an object): the second half of the settings
 * catalog, beside `RUNTIME_SETTINGS` in lambdas/core/settings.ts. lib/config.ts takes their
 * defaults and bounds from here; the README table and the `cdk.json` example are generated from
 * both (`npm run gen:settings`). Pure data: no CDK import, so the docs generator can read it.
 */
const CONSTRUCT: readonly ['construct'] = ['construct'];
/** Settings local mode follows too (its dispatcher timeout and queue visibility). */
const CONSTRUCT_AND_LOCAL: readonly ('construct' | 'local')[] = ['construct', 'local'];

/** Lambda's ceiling on a function timeout. */
export const MAX_LAMBDA_TIMEOUT_SECONDS = 900;
/** API Gateway's default integration timeout. */
export const MAX_API_TIMEOUT_SECONDS = 29;

export const CONSTRUCT_SETTINGS = {
  stackName: { type: 'string', default: 'Hookline', description: 'CloudFormation stack name', appliesTo: CONSTRUCT },
  removalPolicy: {
    type: 'string',
    default: 'retain',
    description:
      'tables, work queues, the key ring secret and log groups when they leave the stack: `retain`, `destroy`, `retain-on-update-or-delete`',
    appliesTo: CONSTRUCT,
  },
  deadLetterQueueRemovalPolicy: {
    type: 'string',
    default: 'retain',
    description: 'the three DLQs (they hold failed deliveries and events): same values as `removalPolicy`',
    appliesTo: CONSTRUCT,
  },
  secretPrefix: {
    type: 'string',
    defaultText: '`hookline/<stackName>/` (a `WebhookService` in your own app: `hookline/<stackName>/<unique construct name>/`)',
    description: "Secrets Manager name prefix of the service's one secret, the key ring (`<prefix>sealing-key`); every secrets permission is scoped to it",
    appliesTo: CONSTRUCT,
  },
  staticEgressAvailabilityZones: {
    type: 'integer',
    defaultText: 'none (off)',
    min: 1,
    max: 3,
    description:
      'run the dispatcher behind NAT gateways with Elastic IPs, one per availability zone, so deliveries come from fixed addresses (output `EgressIps`)',
    appliesTo: CONSTRUCT,
  },
  tableEncryptionKeyArn: { type: 'string', defaultText: 'AWS managed key', description: 'customer-managed KMS key for the tables', appliesTo: CONSTRUCT },
  dispatcherMaxConcurrency: {
    type: 'integer',
    default: 50,
    min: 2,
    max: 1_000,
    description: "most concurrent dispatcher invocations the deliveries queue's event source mapping runs",
    appliesTo: CONSTRUCT,
  },
  dispatcherReservedConcurrency: {
    type: 'integer',
    defaultText: 'none',
    description: 'reserved concurrency of the dispatcher; at least `dispatcherMaxConcurrency` when set',
    appliesTo: CONSTRUCT,
  },
  fanoutMaxConcurrency: {
    type: 'integer',
    default: 10,
    min: 2,
    max: 1_000,
    description: "most concurrent fan-out invocations the events queue's event source mapping runs",
    appliesTo: CONSTRUCT,
  },
  dispatcherTimeoutSeconds: {
    type: 'integer',
    unit: 'seconds',
    defaultText: '`maxAttemptTimeoutSeconds` + 30, at least 60',
    max: MAX_LAMBDA_TIMEOUT_SECONDS,
    description: 'dispatcher timeout, above `maxAttemptTimeoutSeconds`; the deliveries queue\'s visibility is six times it',
    appliesTo: CONSTRUCT_AND_LOCAL,
  },
  fanoutTimeoutSeconds: {
    type: 'integer',
    unit: 'seconds',
    default: 60,
    min: 1,
    max: MAX_LAMBDA_TIMEOUT_SECONDS,
    description: "fan-out timeout; the events queue's visibility is six times it",
    appliesTo: CONSTRUCT,
  },
  apiTimeoutSeconds: {
    type: 'integer',
    unit: 'seconds',
    default: MAX_API_TIMEOUT_SECONDS,
    min: 1,
    max: MAX_API_TIMEOUT_SECONDS,
    description: "API function timeout (API Gateway's integration gives up after 29 s anyway)",
    appliesTo: CONSTRUCT,
  },
  apiThrottlingRateLimit: {
    type: 'number',
    unit: 'per second',
    default: 100,
    description: 'stage-wide steady-state request rate limit (positive)',
    appliesTo: CONSTRUCT,
  },
  apiThrottlingBurstLimit: {
    type: 'integer',
    unit: 'requests',
    default: 200,
    min: 1,
    max: 5_000,
    description: 'stage-wide burst limit',
    appliesTo: CONSTRUCT,
  },
  inboundThrottlingRateLimit: {
    type: 'number',
    unit: 'per second',
    defaultText: '`50` (or `apiThrottlingRateLimit` when lower)',
    description: 'request rate limit of the inbound webhook route, per method, at most `apiThrottlingRateLimit`',
    appliesTo: CONSTRUCT,
  },
  inboundThrottlingBurstLimit: {
    type: 'integer',
    unit: 'requests',
    defaultText: '`100` (or `apiThrottlingBurstLimit` when lower)',
    description: 'burst limit of the inbound webhook route, per method, at most `apiThrottlingBurstLimit`',
    appliesTo: CONSTRUCT,
  },
  apiStageName: { type: 'string', default: 'v1', description: 'API Gateway stage name (the first path segment of the API URL)', appliesTo: CONSTRUCT },
  apiGatewayCloudWatchRole: {
    type: 'boolean',
    default: false,
    // The construct leaves an account's existing role alone; this repository's own stack sets it.
    example: true,
    defaultText: "`false` in the construct, `true` in this repository's `cdk.json`",
    description:
      'create the account-wide role API Gateway writes execution and access logs with (see "Use the construct in your own CDK app")',
    appliesTo: CONSTRUCT,
  },
  webAclArn: { type: 'string', defaultText: 'none', description: 'regional WAFv2 web ACL to associate with the API stage', appliesTo: CONSTRUCT },
  logRetentionDays: {
    type: 'integer',
    unit: 'days',
    default: 30,
    description: 'retention of every log group (a CloudWatch Logs retention value)',
    appliesTo: CONSTRUCT,
  },
  logLevel: {
    type: 'string',
    default: 'INFO',
    description: '`POWERTOOLS_LOG_LEVEL` of every function: `TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR`, `CRITICAL`, `SILENT`',
    appliesTo: CONSTRUCT,
  },
  metricsNamespace: { type: 'string', default: 'Hookline', description: 'CloudWatch metrics namespace (not starting with `AWS/`)', appliesTo: CONSTRUCT },
  deliveriesAgeAlarmMinutes: {
    type: 'integer',
    unit: 'minutes',
    default: 15,
    min: 1,
    description: 'the backlog alarm fires when the oldest deliveries message is older than this',
    appliesTo: CONSTRUCT,
  },
  alarmTopicArn: { type: 'string', defaultText: 'none', description: 'SNS topic every alarm notifies', appliesTo: CONSTRUCT },
} as const satisfies Record<string, SettingInfo>;

export type ConstructSettingName = keyof typeof CONSTRUCT_SETTINGS;
