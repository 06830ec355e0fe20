import { App, Duration, NestedStack, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Role, AccountPrincipal } from 'aws-cdk-lib/aws-iam';
import { HostedZone } from 'aws-cdk-lib/aws-route53';
import { describe, expect, it } from 'vitest';
import { DISPATCHER_SERVICE_NAME, OUTPUT_NAMES, REDRIVE_DLQ_ACTIONS, WebhookService } from '../../lib/webhook-service';
import { asArray, flatten, logicalIdByPath, resources, roleStatements, testApp } from './helpers';

// Template shapes only; the default configuration is validated by webhook-service.test.ts.
process.env.CDK_VALIDATION = 'false';

function newStack(id = 'Acme'): { app: App; stack: Stack } {
  const app = testApp({ bundle: false });
  return { app, stack: new Stack(app, id) };
}

/** The Secrets Manager resources a function role may use, flattened. */
function secretScopes(template: Template, servicePath: string, fn: string): string[] {
  const role = logicalIdByPath(template, 'AWS::IAM::Role', `${servicePath}/${fn}/Role/Resource`);
  return roleStatements(template, role)
    .filter((s) => asArray(s.Action).some((a) => a.startsWith('secretsmanager:')))
    .flatMap((s) => asArray(s.Resource).map(flatten));
}

describe('inside a NestedStack', () => {
  it('synthesizes: no queue name sliced from a token, nothing over SQS limits', () => {
    const { stack } = newStack('Parent');
    const nested = new NestedStack(stack, 'Webhooks');
    const service = new WebhookService(nested, 'Hookline');
    const template = Template.fromStack(nested);
    for (const queue of Object.values(resources(template, 'AWS::SQS::Queue'))) expect(queue.Properties!.QueueName).toBeUndefined();
    template.resourceCountIs('AWS::SQS::Queue', 5);
    // The secret prefix names the nested stack through CloudFormation (AWS::StackName), not a sliced token.
    const prefix = Stack.of(nested).resolve(service.secretPrefix);
    expect(JSON.stringify(prefix)).toContain('AWS::StackName');
    expect(flatten(prefix)).toMatch(/^hookline\/<AWS::StackName>\/[A-Za-z0-9-]+\/$/);
    // The parent stack synthesizes too (the nested template is an asset of it).
    expect(Object.keys(resources(Template.fromStack(stack), 'AWS::CloudFormation::Stack'))).toHaveLength(1);
  });
});

describe('two services in one stack', () => {
  it('each has its own key ring secret and neither reads the other\'s', () => {
    const { stack } = newStack();
    const blue = new WebhookService(stack, 'Blue');
    const green = new WebhookService(stack, 'Green');
    expect(blue.secretPrefix).not.toBe(green.secretPrefix);
    expect(blue.secretPrefix.startsWith(green.secretPrefix)).toBe(false);
    expect(green.secretPrefix.startsWith(blue.secretPrefix)).toBe(false);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    const keyOf = (path: string) => `<${logicalIdByPath(template, 'AWS::SecretsManager::Secret', `${path}/SealingKey/Secret/Resource`)}>`;
    for (const path of ['Blue', 'Green']) {
      for (const fn of ['ApiFunction', 'DispatcherFunction']) {
        // Its own key ring by exact ARN, no prefix pattern that could reach the other's.
        expect(secretScopes(template, path, fn), `${path} ${fn}`).toEqual([keyOf(path)]);
      }
    }
    const names = Object.values(resources(template, 'AWS::SecretsManager::Secret')).map((secret) => Stack.of(stack).resolve(secret.Properties!.Name));
    expect(new Set(names.map((name) => JSON.stringify(name))).size).toBe(2);
    // Two services, two of everything, and no duplicate logical ids or physical names.
    template.resourceCountIs('AWS::Lambda::Function', 6);
    template.resourceCountIs('AWS::SQS::Queue', 10);
  });

  it('refuses prefixes where one starts the other, naming both services', () => {
    const { stack } = newStack();
    new WebhookService(stack, 'Blue', { secretPrefix: 'webhooks/' });
    expect(() => new WebhookService(stack, 'Green', { secretPrefix: 'webhooks/green/' })).toThrow(
      /secretPrefix: "webhooks\/green\/" of Acme\/Green overlaps "webhooks\/" of Acme\/Blue/,
    );
  });

  it('outputs are opt-in and prefixed per service', () => {
    const bare = newStack().stack;
    new WebhookService(bare, 'Blue');
    expect(Template.fromStack(bare).toJSON().Outputs).toBeUndefined();
    const { stack } = newStack();
    const blue = new WebhookService(stack, 'Blue');
    const green = new WebhookService(stack, 'Green');
    blue.addOutputs('Blue');
    green.addOutputs('Green');
    const outputs = Object.keys(Template.fromStack(stack).toJSON().Outputs).sort();
    expect(outputs).toEqual([...OUTPUT_NAMES.map((n) => `Blue${n}`), ...OUTPUT_NAMES.map((n) => `Green${n}`)].sort());
    expect(() => blue.addOutputs('not ok')).toThrow(/prefix/);
  });
});

describe('bring your own event bus', () => {
  it('puts the rule and the operator events on the given bus and creates none', () => {
    const { stack } = newStack();
    const bus = new EventBus(stack, 'CompanyBus');
    const service = new WebhookService(stack, 'Webhooks', { eventBus: bus, eventSource: 'acme.orders' });
    expect(service.bus).toBe(bus);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Events::EventBus', 1);
    const busId = logicalIdByPath(template, 'AWS::Events::EventBus', 'CompanyBus/Resource');
    template.hasResourceProperties('AWS::Events::Rule', { EventBusName: { Ref: busId }, EventPattern: { source: ['acme.orders'] } });
    const dispatcher = resources(template, 'AWS::Lambda::Function')[
      logicalIdByPath(template, 'AWS::Lambda::Function', 'Webhooks/DispatcherFunction/Function/Resource')
    ]!;
    expect(dispatcher.Properties!.Environment.Variables.HOOKLINE_EVENT_BUS_NAME).toEqual({ Ref: busId });
  });
});

describe('grants', () => {
  it('grantPublish: PutEvents on the bus, only with the deployment source', () => {
    const { stack } = newStack();
    const service = new WebhookService(stack, 'Webhooks', { eventSource: 'acme.orders' });
    const producer = new Role(stack, 'Producer', { assumedBy: new AccountPrincipal('123456789012') });
    service.grantPublish(producer);
    const template = Template.fromStack(stack);
    const statements = roleStatements(template, logicalIdByPath(template, 'AWS::IAM::Role', 'Producer/Resource')) as any[];
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatchObject({
      Action: 'events:PutEvents',
      Condition: { StringEquals: { 'events:source': ['acme.orders'] } },
    });
    expect(flatten(statements[0].Resource)).toMatch(/Events\w*Bus\w*\.Arn>$/);
  });

  it('grantRedrive: the move task on the deliveries DLQ and SendMessage on the deliveries queue, nothing else', () => {
    const { stack } = newStack();
    const service = new WebhookService(stack, 'Webhooks');
    const operator = new Role(stack, 'Operator', { assumedBy: new AccountPrincipal('123456789012') });
    service.grantRedrive(operator);
    const template = Template.fromStack(stack);
    const dlq = logicalIdByPath(template, 'AWS::SQS::Queue', 'Webhooks/Queues/DeliveriesDlq/Resource');
    const deliveries = logicalIdByPath(template, 'AWS::SQS::Queue', 'Webhooks/Queues/Deliveries/Resource');
    const byResource: Record<string, string[]> = {};
    for (const s of roleStatements(template, logicalIdByPath(template, 'AWS::IAM::Role', 'Operator/Resource'))) {
      for (const r of asArray(s.Resource)) byResource[flatten(r)] = [...(byResource[flatten(r)] ?? []), ...asArray(s.Action)].sort();
    }
    expect(byResource).toEqual({
      [`<${dlq}.Arn>`]: [...REDRIVE_DLQ_ACTIONS].sort(),
      [`<${deliveries}.Arn>`]: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
    });
  });
});

describe('delivery metrics', () => {
  it('metric helpers name what the dispatcher emits (namespace, service dimension, errorKind)', () => {
    const { stack } = newStack();
    const service = new WebhookService(stack, 'Webhooks', { metricsNamespace: 'Acme/Webhooks' });
    const attempts = service.metricDeliveryAttempts();
    expect(attempts.namespace).toBe('Acme/Webhooks');
    expect(attempts.metricName).toBe('attempts');
    expect(attempts.dimensions).toEqual({ service: DISPATCHER_SERVICE_NAME });
    expect(service.metricDeliveriesSucceeded().metricName).toBe('succeeded');
    expect(service.metricDeliveriesFailed('timeout').dimensions).toEqual({ service: DISPATCHER_SERVICE_NAME, errorKind: 'timeout' });
    expect(service.metricDeliveryLatency().statistic).toBe('p99');
    expect(service.metricDeliveryLatency({ period: Duration.minutes(1) }).period.toMinutes()).toBe(1);
    expect(service.metricDeliveriesExhausted().metricName).toBe('exhausted');
    const template = Template.fromStack(stack);
    const dispatcher = resources(template, 'AWS::Lambda::Function')[
      logicalIdByPath(template, 'AWS::Lambda::Function', 'Webhooks/DispatcherFunction/Function/Resource')
    ]!;
    expect(dispatcher.Properties!.Environment.Variables.POWERTOOLS_SERVICE_NAME).toBe(DISPATCHER_SERVICE_NAME);
  });

  it('the dashboard shows attempts, failures by kind, latency and the deliveries queue', () => {
    const { stack } = newStack();
    new WebhookService(stack, 'Webhooks', { metricsNamespace: 'Acme/Webhooks' });
    const template = Template.fromStack(stack);
    const dashboard = Object.values(resources(template, 'AWS::CloudWatch::Dashboard'))[0]!;
    const body = JSON.stringify(Stack.of(stack).resolve(dashboard.Properties!.DashboardBody));
    for (const title of ['Delivery attempts', 'Failed attempts by kind', 'Delivery latency (ms)', 'Deliveries queue']) expect(body).toContain(title);
    expect(body).toContain('\\"Acme/Webhooks\\",\\"attempts\\"');
    expect(body).toContain('MetricName=\\\\\\"failed\\\\\\"');
  });
});

describe('account-wide side effects', () => {
  it('creates no API Gateway account logging role unless asked', () => {
    const { stack } = newStack();
    new WebhookService(stack, 'Off');
    new WebhookService(new Stack(stack.node.root as App, 'Other'), 'On', { apiGatewayCloudWatchRole: true });
    Template.fromStack(stack).resourceCountIs('AWS::ApiGateway::Account', 0);
    Template.fromStack(Stack.of((stack.node.root as App).node.findChild('Other'))).resourceCountIs('AWS::ApiGateway::Account', 1);
  });
});

describe('custom domain', () => {
  it('maps the domain to the API over TLS 1.2, with an alias record when a zone is given', () => {
    const { stack } = newStack();
    const zone = new HostedZone(stack, 'Zone', { zoneName: 'example.com' });
    const certificate = Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:eu-west-1:123456789012:certificate/abc');
    const service = new WebhookService(stack, 'Webhooks', {
      customDomain: { domainName: 'webhooks.example.com', certificate, hostedZone: zone },
    });
    expect(service.apiUrl).toBe('https://webhooks.example.com/');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGateway::DomainName', {
      DomainName: 'webhooks.example.com',
      RegionalCertificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc',
      EndpointConfiguration: { Types: ['REGIONAL'] },
      SecurityPolicy: 'TLS_1_2',
    });
    template.resourceCountIs('AWS::ApiGateway::BasePathMapping', 1);
    template.hasResourceProperties('AWS::Route53::RecordSet', { Name: 'webhooks.example.com.', Type: 'A' });
  });
});

describe('static egress IPs', () => {
  it('runs the dispatcher (only) in private subnets behind NAT gateways with Elastic IPs, published as an output', () => {
    const { stack } = newStack();
    const service = new WebhookService(stack, 'Webhooks', { staticEgress: { availabilityZones: 2 } });
    service.addOutputs();
    const template = Template.fromStack(stack);
    const eips = resources(template, 'AWS::EC2::EIP');
    expect(Object.keys(eips)).toHaveLength(2);
    for (const eip of Object.values(eips)) expect(eip.DeletionPolicy).toBe('Retain');
    const nats = Object.values(resources(template, 'AWS::EC2::NatGateway'));
    expect(nats).toHaveLength(2);
    expect(nats.map((n) => flatten(n.Properties!.AllocationId)).sort()).toEqual(Object.keys(eips).map((id) => `<${id}.AllocationId>`).sort());
    expect(flatten(template.toJSON().Outputs.EgressIps.Value)).toBe(Object.keys(eips).map((id) => `<${id}>`).join(','));

    const fns = resources(template, 'AWS::Lambda::Function');
    const inVpc = Object.entries(fns).filter(([, f]) => f.Properties!.VpcConfig !== undefined).map(([id]) => id);
    expect(inVpc).toEqual([logicalIdByPath(template, 'AWS::Lambda::Function', 'Webhooks/DispatcherFunction/Function/Resource')]);
    const subnets = fns[inVpc[0]!]!.Properties!.VpcConfig.SubnetIds.map(flatten) as string[];
    expect(subnets).toHaveLength(2);
    for (const subnet of subnets) expect(subnet).toMatch(/DispatcherSubnet/);
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 1);
    template.resourceCountIs('AWS::EC2::FlowLog', 1);
    // No managed policy (AWSLambdaVPCAccessExecutionRole) and no custom-resource Lambda.
    for (const role of Object.values(resources(template, 'AWS::IAM::Role'))) expect(role.Properties!.ManagedPolicyArns).toBeUndefined();
    expect(Object.keys(fns)).toHaveLength(3);
  });

  it('stays clean under cdk-nag', async () => {
    const { AwsSolutionsChecks } = await import('cdk-nag');
    const { stack } = newStack();
    new WebhookService(stack, 'Webhooks', { staticEgress: { availabilityZones: 1 } });
    expect(new AwsSolutionsChecks().validateScope(stack).violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath)}`)).toEqual([]);
  });

  it('refuses an AZ count it cannot build', () => {
    const { stack } = newStack();
    expect(() => new WebhookService(stack, 'Webhooks', { staticEgress: { availabilityZones: 4 } })).toThrow(/staticEgress.availabilityZones/);
  });
});

describe('every option at once', () => {
  it('two services with their own bus, domain, static egress and logging role stay clean under cdk-nag', async () => {
    const { AwsSolutionsChecks } = await import('cdk-nag');
    const { stack } = newStack();
    const zone = new HostedZone(stack, 'Zone', { zoneName: 'example.com' });
    const certificate = Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:eu-west-1:123456789012:certificate/abc');
    const blue = new WebhookService(stack, 'Blue', {
      eventBus: new EventBus(stack, 'CompanyBus'),
      customDomain: { domainName: 'webhooks.example.com', certificate, hostedZone: zone },
      staticEgress: { availabilityZones: 2 },
      apiGatewayCloudWatchRole: true,
    });
    const green = new WebhookService(stack, 'Green', { metricsNamespace: 'Green' });
    blue.addOutputs('Blue');
    green.addOutputs('Green');
    const operator = new Role(stack, 'Operator', { assumedBy: new AccountPrincipal('123456789012') });
    blue.grantRedrive(operator);
    green.grantPublish(operator);
    const violations = new AwsSolutionsChecks().validateScope(stack).violations;
    expect(violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath)}`)).toEqual([]);
  }, 60_000);
});
