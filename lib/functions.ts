import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { Architecture, Code, Function as LambdaFunction, Runtime, Tracing, type FunctionProps } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from './nag';
import { LOCK_FILE, PROJECT_ROOT, handlerEntry, prebuiltBundle, type HandlerName } from './paths';

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

/**
 * What Lambda needs to attach a function to a VPC (the actions of AWS's
 * AWSLambdaVPCAccessExecutionRole, restated inline because managed policies are not used here);
 * the Describe actions support no resource-level permissions.
 */
export const VPC_ACCESS_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];

/** Where a function runs when it is attached to a VPC. */
export interface HooklineFunctionNetwork {
  readonly vpc: IVpc;
  readonly subnets: SubnetSelection;
  readonly securityGroups: ISecurityGroup[];
}

/** How a function traces: see lambdas/shared/observability.ts (the X-Ray SDK only with `sdk`). */
export type FunctionTracing = 'lambda' | 'sdk';

/** The tracing mode the packaged construct's prebuilt bundles are built with (the default). */
export const PACKAGED_TRACING: FunctionTracing = 'lambda';

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
  /** Attach the function to a VPC (static egress IPs). */
  readonly network?: HooklineFunctionNetwork;
}

/**
 * One Hookline Lambda: its own role (no managed policies; logs scoped to its own log group), its
 * own log group with retention (no LogRetention custom resource), X-Ray active, arm64, bundled
 * by the local esbuild.
 */
export class HooklineFunction extends Construct {
  /** A NodejsFunction bundled at synth time from the sources, or a Function over the packaged prebuilt bundle. */
  readonly function: LambdaFunction;
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
    const common: Omit<FunctionProps, 'code' | 'handler' | 'runtime'> = {
      description: props.description,
      architecture: Architecture.ARM_64,
      memorySize: FUNCTION_MEMORY_MB,
      timeout: props.timeout,
      ...(props.reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      role: this.role,
      logGroup: this.logGroup,
      tracing: Tracing.ACTIVE,
      // The bundle has the mode compiled in; the variable only tells readers of the console which it is.
      environment: { ...props.environment, ...(tracing === 'sdk' ? { HOOKLINE_TRACING: tracing } : {}), NODE_OPTIONS: '--enable-source-maps' },
      ...(props.network === undefined
        ? {}
        : { vpc: props.network.vpc, vpcSubnets: props.network.subnets, securityGroups: props.network.securityGroups }),
    };
    // The published package ships each handler prebuilt (minified, built with FUNCTION_BUNDLING
    // at pack time), so an app that installs it needs neither esbuild nor the TypeScript sources.
    const prebuilt = prebuiltBundle(props.handler);
    if (prebuilt !== undefined && tracing !== PACKAGED_TRACING) {
      throw new Error(`HooklineFunction ${props.handler}: the packaged construct ships bundles built for tracing '${PACKAGED_TRACING}', not '${tracing}'`);
    }
    this.function =
      prebuilt === undefined
        ? new NodejsFunction(this, 'Function', {
            ...common,
            entry: handlerEntry(props.handler),
            handler: 'handler',
            projectRoot: PROJECT_ROOT,
            depsLockFilePath: LOCK_FILE,
            runtime: FUNCTION_RUNTIME,
            bundling: { ...FUNCTION_BUNDLING, define: tracingDefine(tracing) },
          })
        : new LambdaFunction(this, 'Function', {
            ...common,
            code: Code.fromAsset(prebuilt),
            handler: 'index.handler',
            runtime: FUNCTION_RUNTIME,
          });
    if (props.network !== undefined) {
      this.allow(new PolicyStatement({ actions: VPC_ACCESS_ACTIONS, resources: ['*'] }));
    }

    acknowledge(
      this.role,
      'AwsSolutions-IAM5[Resource::*]',
      'Active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no ' +
        'resource-level permissions, so the statement CDK adds for Tracing.ACTIVE must use "*".' +
        (props.network === undefined
          ? ''
          : ' In a VPC, Lambda also creates and deletes the function\'s network interfaces with its role; ' +
            'ec2:Describe* supports no resource-level permissions and the interfaces do not exist before Lambda creates them.'),
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
