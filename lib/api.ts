import { ArnFormat, Names, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  LambdaIntegration,
  Resource,
  CfnAccount,
  EndpointType,
  LambdaRestApi,
  LogGroupLogDestination,
  MethodLoggingLevel,
  ResponseType,
  SecurityPolicy,
} from 'aws-cdk-lib/aws-apigateway';
import { PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ICertificate } from 'aws-cdk-lib/aws-certificatemanager';
import { ARecord, RecordTarget, type IHostedZone } from 'aws-cdk-lib/aws-route53';
import { ApiGatewayDomain } from 'aws-cdk-lib/aws-route53-targets';
import { CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { acknowledge, wildcardResourceFinding } from './nag';

export interface HooklineApiProps {
  readonly handler: IFunction;
  readonly stageName: string;
  readonly throttlingRateLimit: number;
  readonly throttlingBurstLimit: number;
  /** Per-method throttling of `/inbound/{sourceId}` (the unauthenticated provider route). */
  readonly inboundThrottlingRateLimit: number;
  readonly inboundThrottlingBurstLimit: number;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly cloudWatchRole: boolean;
  readonly webAclArn?: string;
  readonly customDomain?: HooklineCustomDomain;
}

/** A custom domain for the API: the certificate must be in the stack's region (a REGIONAL endpoint). */
export interface HooklineCustomDomain {
  /** e.g. `webhooks.example.com`. */
  readonly domainName: string;
  /** ACM certificate covering `domainName`, in the same region as the stack. */
  readonly certificate: ICertificate;
  /** When given, an alias A record for `domainName` is created in this zone. */
  readonly hostedZone?: IHostedZone;
}

/** Where providers post inbound webhooks; GET answers URL verifications (WeCom echostr). */
export const INBOUND_RESOURCE_PATH = '/inbound/{sourceId}';
const INBOUND_METHODS = ['POST', 'GET'] as const;

/** What API Gateway itself answers with (bad route, throttling, integration failure): JSON like the API's own errors. */
export const GATEWAY_ERROR_TEMPLATE =
  '{"error":{"code":"$context.error.responseType","message":$context.error.messageString,"requestId":"$context.requestId"}}';

/** Access log line; no headers or bodies, so bearer tokens and payloads never reach the logs. */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  path: '$context.path',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  errorMessage: '$context.error.message',
  userAgent: '$context.identity.userAgent',
});

/**
 * Actions of AWS's AmazonAPIGatewayPushToCloudWatchLogs policy, restated inline because managed
 * policies are not allowed here.
 */
const PUSH_TO_CLOUDWATCH_ACTIONS = [
  'logs:CreateLogGroup',
  'logs:CreateLogStream',
  'logs:DescribeLogGroups',
  'logs:DescribeLogStreams',
  'logs:PutLogEvents',
  'logs:GetLogEvents',
  'logs:FilterLogEvents',
];

/**
 * REST API proxying every path to the API Lambda. Bearer tokens are checked inside the Lambda
 * (it answers 404, not 403, across fleets), so methods use authorization NONE.
 */
export class HooklineApi extends Construct {
  readonly api: LambdaRestApi;
  readonly accessLogs: LogGroup;
  readonly executionLogs: LogGroup;
  /** Base URL clients use: `https://<domainName>/` with a custom domain, else the stage URL. */
  readonly url: string;
  /** With a custom domain: the API Gateway hostname to point a CNAME or alias at. */
  readonly domainTarget?: string;

  constructor(scope: Construct, id: string, props: HooklineApiProps) {
    super(scope, id);
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });

    this.api = new LambdaRestApi(this, 'Api', {
      handler: props.handler,
      proxy: true,
      // CloudWatch identifies a REST API by name, so each deployment needs its own.
      restApiName: `${Stack.of(this).stackName}-${Names.uniqueResourceName(this, { maxLength: 64 })}`,
      description: 'Hookline webhook API',
      endpointTypes: [EndpointType.REGIONAL],
      // The account-wide logging role is managed below, where it can avoid managed policies.
      cloudWatchRole: false,
      minCompressionSize: Size.kibibytes(1),
      integrationOptions: { allowTestInvoke: false },
      deployOptions: {
        stageName: props.stageName,
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: AccessLogFormat.custom(ACCESS_LOG_FORMAT),
        loggingLevel: MethodLoggingLevel.ERROR,
        // Data tracing would log request bodies and headers: bearer tokens and signing secrets.
        dataTraceEnabled: false,
        tracingEnabled: true,
        throttlingRateLimit: props.throttlingRateLimit,
        throttlingBurstLimit: props.throttlingBurstLimit,
        methodOptions: Object.fromEntries(
          INBOUND_METHODS.map((method) => [
            `${INBOUND_RESOURCE_PATH}/${method}`,
            {
              throttlingRateLimit: props.inboundThrottlingRateLimit,
              throttlingBurstLimit: props.inboundThrottlingBurstLimit,
              // A method setting replaces the stage's for that method: restate the logging choices.
              loggingLevel: MethodLoggingLevel.ERROR,
              dataTraceEnabled: false,
            },
          ]),
        ),
      },
    });
    this.addInboundRoute(props.handler);
    // WebhookService publishes the URL as the stable output `ApiUrl`; the generated one would duplicate it.
    this.api.node.tryRemoveChild('Endpoint');
    this.api.addGatewayResponse('Default4xx', {
      type: ResponseType.DEFAULT_4XX,
      templates: { 'application/json': GATEWAY_ERROR_TEMPLATE },
    });
    this.api.addGatewayResponse('Default5xx', {
      type: ResponseType.DEFAULT_5XX,
      templates: { 'application/json': GATEWAY_ERROR_TEMPLATE },
    });

    // API Gateway would otherwise create this group itself, with no retention.
    this.executionLogs = new LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${props.stageName}`,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.api.deploymentStage.node.addDependency(this.executionLogs);

    if (props.cloudWatchRole) this.addAccountLoggingRole();

    if (props.customDomain === undefined) {
      this.url = this.api.url;
    } else {
      const domain = this.api.addDomainName('Domain', {
        domainName: props.customDomain.domainName,
        certificate: props.customDomain.certificate,
        endpointType: EndpointType.REGIONAL,
        securityPolicy: SecurityPolicy.TLS_1_2,
      });
      this.url = `https://${props.customDomain.domainName}/`;
      this.domainTarget = domain.domainNameAliasDomainName;
      if (props.customDomain.hostedZone !== undefined) {
        new ARecord(this, 'DomainRecord', {
          zone: props.customDomain.hostedZone,
          recordName: props.customDomain.domainName,
          target: RecordTarget.fromAlias(new ApiGatewayDomain(domain)),
        });
      }
    }

    if (props.webAclArn !== undefined) {
      new CfnWebACLAssociation(this, 'WebAcl', {
        resourceArn: this.api.deploymentStage.stageArn,
        webAclArn: props.webAclArn,
      });
    } else {
      acknowledge(
        this.api.deploymentStage,
        'AwsSolutions-APIG3',
        'No web ACL was configured (prop webAclArn): every route requires a bearer token checked in the ' +
          'API Lambda (the inbound route a provider signature, with its own tighter throttle) and the stage is ' +
        'throttled; deployments that want WAF rules pass their web ACL ARN.',
      );
    }

    acknowledge(
      this.api,
      'AwsSolutions-APIG2',
      'Requests are validated in the API Lambda by the zod schemas that also generate GET /openapi.json, ' +
        'so fields and reasons in 4xx bodies match the published contract; a gateway validator would duplicate them.',
    );
    acknowledge(
      this.api,
      'AwsSolutions-APIG4',
      'Bearer tokens are checked inside the API Lambda, which must answer 404 rather than 403 for another ' +
        "fleet's resources so ids do not leak; a gateway authorizer cannot express that, so methods use NONE.",
    );
    acknowledge(
      this.api,
      'AwsSolutions-COG4',
      'Clients authenticate with Hookline bearer tokens (hashed in the tokens table, issued by the CLI), ' +
        'not Cognito users; the token check lives in the API Lambda for the 404-not-403 tenancy rule.',
    );
  }

  /**
   * `/inbound/{sourceId}` as its own resource, so the stage can throttle it apart from the bearer
   * routes (an explicit resource takes precedence over `{proxy+}`). Same Lambda, same NONE
   * authorization: the provider's signature is checked in the function. LambdaRestApi refuses
   * `root.addResource` when proxying, hence the Resource constructed directly.
   */
  private addInboundRoute(handler: IFunction): void {
    const inbound = new Resource(this, 'InboundResource', { parent: this.api.root, pathPart: 'inbound' });
    const source = inbound.addResource('{sourceId}');
    const integration = new LambdaIntegration(handler, { allowTestInvoke: false });
    for (const method of INBOUND_METHODS) source.addMethod(method, integration, { authorizationType: AuthorizationType.NONE });
    acknowledge(
      inbound,
      'AwsSolutions-APIG4',
      'Webhook providers (GitHub, GitLab, Feishu, WeCom, ...) cannot send a bearer token or sign AWS requests; each ' +
        "request is authenticated in the API Lambda by the provider's own signature or token, checked against the " +
        'source the unguessable URL names, and the route has its own tighter throttle.',
    );
    acknowledge(
      inbound,
      'AwsSolutions-COG4',
      'Callers of the inbound route are webhook providers, not Cognito users; the provider signature checked in ' +
        'the API Lambda is the authentication.',
    );
  }

  /**
   * API Gateway writes execution and access logs with one role per account and region
   * (`AWS::ApiGateway::Account`). Retained on delete: other APIs of the account may rely on it.
   */
  private addAccountLoggingRole(): void {
    const stack = Stack.of(this);
    const logGroupsArn = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: '*',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const role = new Role(this, 'CloudWatchRole', {
      assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
      description: 'API Gateway account-wide role for writing REST API logs to CloudWatch Logs',
      inlinePolicies: {
        PushToCloudWatchLogs: new PolicyDocument({
          statements: [new PolicyStatement({ actions: PUSH_TO_CLOUDWATCH_ACTIONS, resources: [logGroupsArn] })],
        }),
      },
    });
    role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    const account = new CfnAccount(this, 'Account', { cloudWatchRoleArn: role.roleArn });
    account.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.api.deploymentStage.node.addDependency(account);
    acknowledge(
      role,
      wildcardResourceFinding(role, logGroupsArn),
      'This is the single account-wide API Gateway logging role, used for every REST API in the account and ' +
        'region; their log group names are not known here, so it is scoped to log groups of this account and region.',
    );
  }
}
