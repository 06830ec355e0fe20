import { z } from 'zod';
import { deploymentSettingsSchema } from '../lambdas/core/settings';
import type { HooklineLogLevel } from './config';

/**
 * The `hookline` object of `cdk.json` context (or `-c hookline='{…}'`): every deployment setting
 * plus the construct props in JSON-friendly form (seconds, days and ARNs instead of CDK objects).
 * Only shapes are checked here; WebhookService validates ranges and names the offending prop.
 */
const settingsKeys = Object.fromEntries(
  Object.keys(deploymentSettingsSchema.shape).map((key) => [key, z.unknown().optional()]),
) as Record<keyof typeof deploymentSettingsSchema.shape, z.ZodOptional<z.ZodUnknown>>;

const logLevels = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const satisfies readonly HooklineLogLevel[];

export const hooklineContextSchema = z
  .object({
    ...settingsKeys,
    /** CloudFormation stack name (and construct id). */
    stackName: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'must be a CloudFormation stack name').optional(),
    removalPolicy: z.enum(['retain', 'destroy', 'retain-on-update-or-delete']).optional(),
    deadLetterQueueRemovalPolicy: z.enum(['retain', 'destroy', 'retain-on-update-or-delete']).optional(),
    secretPrefix: z.string().optional(),
    tableEncryptionKeyArn: z.string().startsWith('arn:').optional(),
    dispatcherMaxConcurrency: z.number().optional(),
    dispatcherReservedConcurrency: z.number().optional(),
    fanoutMaxConcurrency: z.number().optional(),
    dispatcherTimeoutSeconds: z.number().optional(),
    fanoutTimeoutSeconds: z.number().optional(),
    apiTimeoutSeconds: z.number().optional(),
    apiThrottlingRateLimit: z.number().optional(),
    apiThrottlingBurstLimit: z.number().optional(),
    inboundThrottlingRateLimit: z.number().optional(),
    inboundThrottlingBurstLimit: z.number().optional(),
    apiStageName: z.string().optional(),
    apiGatewayCloudWatchRole: z.boolean().optional(),
    webAclArn: z.string().optional(),
    /** Static egress IPs: the number of AZs (each a NAT gateway with an Elastic IP); absent, off. */
    staticEgressAvailabilityZones: z.number().optional(),
    logRetentionDays: z.number().optional(),
    logLevel: z.enum(logLevels).optional(),
    metricsNamespace: z.string().optional(),
    deliveriesAgeAlarmMinutes: z.number().optional(),
    alarmTopicArn: z.string().startsWith('arn:').optional(),
  })
  .strict();

export type HooklineContext = z.infer<typeof hooklineContextSchema>;

/** Parses the context value; a JSON string is accepted because `-c key=value` passes strings. */
export function parseHooklineContext(raw: unknown): HooklineContext {
  let value = raw ?? {};
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw new Error('Invalid cdk.json context "hookline": not valid JSON');
    }
  }
  const result = hooklineContextSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
      return `${path}: ${issue.message}`;
    });
    throw new Error(`Invalid cdk.json context "hookline": ${problems.join('; ')}`);
  }
  return result.data;
}
