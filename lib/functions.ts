import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from './nag';
import { LOCK_FILE, PROJECT_ROOT, handlerEntry, type HandlerName } from './paths';

export const FUNCTION_RUNTIME = Runtime.NODEJS_22_X;
export const FUNCTION_MEMORY_MB = 512;
/** How every Hookline function is bundled: by the local esbuild, never Docker (the benchmark builds with these too). */
export const FUNCTION_BUNDLING = {
  minify: true,
  sourceMap: true,
  // Stack traces need the mappings only; the sources would double the asset.
  sourcesContent: false,
  target: 'node22',
  format: OutputFormat.CJS,
  // The runtime's SDK changes under us between deployments; bundling it pins the version
  // lib-dynamodb and Powertools were tested with, and tree-shaking keeps only what is used.
  bundleAwsSDK: true,
  // ESM entry points let esbuild tree-shake the SDK and Powertools.
  mainFields: ['module', 'main'],
  forceDockerBundling: false,
} as const satisfies BundlingOptions;

/** How a function traces: see lambdas/shared/observability.ts (the X-Ray SDK only with `sdk`). */
export type FunctionTracing = 'lambda' | 'sdk';

/**
 * The tracing mode compiled into a bundle: the code's `process.env.HOOKLINE_TRACING` becomes a
 * constant, so esbuild drops the branch that would import the X-Ray SDK when it is not used.
 */
export function tracingDefine(mode: FunctionTracing): Record<string, string> {
  return { 'process.env.HOOKLINE_TRACING': JSON.stringify(mode) };
}

/** X-Ray's trace APIs have no resource-level permissions. */
export const XRAY_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'] as const;

export interface HooklineFunctionProps {
  readonly handler: HandlerName;
  readonly description: string;
  readonly timeout: Duration;
  /** Reserved concurrency; none by default. */
  readonly reservedConcurrentExecutions?: number;
  /**
   * `lambda` (default): Lambda's active tracing only, no X-Ray SDK in the bundle. `sdk`: the
   * Powertools Tracer adds the handler and AWS-call subsegments, at about twice the CPU per
   * delivery (see lambdas/shared/observability.ts and the benchmark's section 1).
   */
  readonly tracing?: FunctionTracing;
  /** Variables of the lambdas/shared/environment.ts contract plus Powertools'. */
  readonly environment: Record<string, string>;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * One Hookline Lambda: its own role (no managed policies; logs scoped to its own log group), its
 * own log group with retention (no LogRetention custom resource), X-Ray active, arm64, bundled
 * by the local esbuild.
 */
export class HooklineFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: HooklineFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Hookline ${props.handler} function`,
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        // The Arn attribute ends in ":*", which covers the group's streams and nothing else.
        resources: [this.logGroup.logGroupArn],
      }),
    );

    const tracing = props.tracing ?? 'lambda';
    this.function = new NodejsFunction(this, 'Function', {
      entry: handlerEntry(props.handler),
      handler: 'handler',
      description: props.description,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: LOCK_FILE,
      runtime: FUNCTION_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: FUNCTION_MEMORY_MB,
      timeout: props.timeout,
      ...(props.reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      role: this.role,
      logGroup: this.logGroup,
      tracing: Tracing.ACTIVE,
      // The bundle has the mode compiled in; the variable only tells readers of the console which it is.
      environment: { ...props.environment, ...(tracing === 'sdk' ? { HOOKLINE_TRACING: tracing } : {}), NODE_OPTIONS: '--enable-source-maps' },
      bundling: { ...FUNCTION_BUNDLING, define: tracingDefine(tracing) },
    });

    acknowledge(
      this.role,
      'AwsSolutions-IAM5[Resource::*]',
      'Active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no ' +
        'resource-level permissions, so the statement CDK adds for Tracing.ACTIVE must use "*".',
    );
    acknowledge(
      this.function,
      'AwsSolutions-L1',
      'Pinned to nodejs22.x on purpose: the bundles target node22 and are tested on it; moving to a newer ' +
        'runtime is a deliberate, tested upgrade rather than whatever is newest at synth time.',
    );
  }

  /** Adds a statement to this function's own role. */
  allow(statement: PolicyStatement): void {
    this.role.addToPrincipalPolicy(statement);
  }
}
