import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHooklineContext } from '../../lib/context';
import { HooklineStack } from '../../lib/hookline-stack';
import { TABLE_KEY_ACTIONS } from '../../lib/permissions';
import { PROJECT_ROOT } from '../../lib/paths';
import { WebhookService, type WebhookServiceProps } from '../../lib/webhook-service';
import {
  acknowledgements,
  asArray,
  cdkJsonContext,
  flatten,
  logicalIdByPath,
  resourceByPath,
  resources,
  roleStatements,
  testApp,
} from './helpers';

// CDK's built-in CloudFormation rule validation costs ~10 s of CPU per process. The default
// configuration is validated by webhook-service.test.ts and by the bin/app.ts child below (which
// gets it back); the variants here only need their templates.
process.env.CDK_VALIDATION = 'false';

/** Synthesizes one WebhookService (bundling skipped); `props` may create what it refers to in the stack. */
function synth(props: WebhookServiceProps | ((stack: Stack) => WebhookServiceProps)): { stack: Stack; template: Template } {
  const app = testApp({ bundle: false });
  const stack = new Stack(app, 'Acme');
  new WebhookService(stack, 'Webhooks', typeof props === 'function' ? props(stack) : props);
  return { stack, template: Template.fromStack(stack) };
}

function construct(props: WebhookServiceProps): () => void {
  return () => new WebhookService(new Stack(testApp({ bundle: false }), 'Acme'), 'Webhooks', props);
}

const queueId = (template: Template, path: string) => logicalIdByPath(template, 'AWS::SQS::Queue', `Webhooks/${path}/Resource`);
const fnId = (template: Template, name: string) =>
  logicalIdByPath(template, 'AWS::Lambda::Function', `Webhooks/${name}/Function/Resource`);

/** bin/app.ts run the way the CDK CLI runs it: cdk.json context in CDK_CONTEXT_JSON, assembly to CDK_OUTDIR. */
function runApp(outdir: string, hookline?: unknown): Promise<{ code: number; stderr: string }> {
  const context = { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...(hookline === undefined ? {} : { hookline }) };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(PROJECT_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(PROJECT_ROOT, 'bin', 'app.ts')],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, CDK_VALIDATION: 'true', CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context) },
        timeout: 90_000,
      },
      (error, _stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stderr }),
    );
  });
}

// bin/app.ts runs in child processes started before everything else in this file, so they
// synthesize while the in-process tests below run; their results are checked at the end.
const appOutdirs: string[] = [];
let goodApp: Promise<{ code: number; stderr: string; dir: string }>;
let badApp: Promise<{ code: number; stderr: string }>;
beforeAll(() => {
  const outdir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookline-app-'));
    appOutdirs.push(dir);
    return dir;
  };
  const goodDir = outdir();
  goodApp = runApp(goodDir).then((result) => ({ ...result, dir: goodDir }));
  badApp = runApp(outdir(), { maxAttempts: 0 });
});
afterAll(async () => {
  await Promise.allSettled([goodApp, badApp]);
  for (const dir of appOutdirs) rmSync(dir, { recursive: true, force: true });
});

describe('props change the template', () => {
  let stack: Stack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synth({
      maxAttempts: 4,
      deliveriesMaxReceiveCount: 12,
      eventSource: 'acme.app',
      dispatcherMaxConcurrency: 7,
      fanoutMaxConcurrency: 3,
      dispatcherTimeout: Duration.seconds(120),
      fanoutTimeout: Duration.seconds(30),
      secretPrefix: 'webhooks/prod/',
      logRetention: RetentionDays.ONE_WEEK,
      apiThrottlingRateLimit: 5,
      apiThrottlingBurstLimit: 10,
      apiStageName: 'live',
      deliveriesAgeAlarmThreshold: Duration.minutes(30),
      removalPolicy: RemovalPolicy.DESTROY,
      logLevel: 'DEBUG',
      metricsNamespace: 'Acme/Webhooks',
    }));
  }, 60_000);

  it('deliveries maxReceiveCount follows deliveriesMaxReceiveCount, not maxAttempts (Hookline counts attempts itself)', () => {
    const deliveries = resources(template, 'AWS::SQS::Queue')[queueId(template, 'Queues/Deliveries')]!;
    expect(deliveries.Properties!.RedrivePolicy.maxReceiveCount).toBe(12);
    const env = resources(template, 'AWS::Lambda::Function')[fnId(template, 'DispatcherFunction')]!.Properties!.Environment.Variables;
    expect(JSON.parse(env.HOOKLINE_SETTINGS)).toMatchObject({ maxAttempts: 4, deliveriesMaxReceiveCount: 12 });
  });

  it('timeouts, visibility (6×) and max concurrency follow the props', () => {
    const fns = resources(template, 'AWS::Lambda::Function');
    expect(fns[fnId(template, 'DispatcherFunction')]!.Properties!.Timeout).toBe(120);
    expect(fns[fnId(template, 'FanoutFunction')]!.Properties!.Timeout).toBe(30);
    const queues = resources(template, 'AWS::SQS::Queue');
    expect(queues[queueId(template, 'Queues/Deliveries')]!.Properties!.VisibilityTimeout).toBe(720);
    expect(queues[queueId(template, 'Queues/Events')]!.Properties!.VisibilityTimeout).toBe(180);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: fnId(template, 'DispatcherFunction') },
      ScalingConfig: { MaximumConcurrency: 7 },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: fnId(template, 'FanoutFunction') },
      ScalingConfig: { MaximumConcurrency: 3 },
    });
  });

  it('the bus rule matches the configured source', () => {
    template.hasResourceProperties('AWS::Events::Rule', { EventPattern: { source: ['acme.app'] } });
  });

  it('the key ring secret is named with the configured prefix; the API and dispatcher read it alone', () => {
    const keyId = logicalIdByPath(template, 'AWS::SecretsManager::Secret', 'Webhooks/SealingKey/Secret/Resource');
    template.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'webhooks/prod/sealing-key' });
    for (const name of ['ApiFunction', 'DispatcherFunction']) {
      const role = logicalIdByPath(template, 'AWS::IAM::Role', `Webhooks/${name}/Role/Resource`);
      const secretResources = roleStatements(template, role)
        .filter((s) => asArray(s.Action).some((a) => a.startsWith('secretsmanager:')))
        .flatMap((s) => asArray(s.Resource).map(flatten));
      expect(secretResources).toEqual([`<${keyId}>`]);
    }
    // Outputs are the stack's business: the construct adds none unless asked (addOutputs).
    expect(template.toJSON().Outputs).toBeUndefined();
    const env = resources(template, 'AWS::Lambda::Function')[fnId(template, 'ApiFunction')]!.Properties!.Environment.Variables;
    expect(env).toMatchObject({
      HOOKLINE_SEALING_KEY_SECRET: { Ref: keyId },
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
      POWERTOOLS_METRICS_NAMESPACE: 'Acme/Webhooks',
    });
  });

  it('log retention, removal policy, stage, throttling and backlog threshold follow the props', () => {
    for (const group of Object.values(resources(template, 'AWS::Logs::LogGroup'))) {
      expect(group.Properties!.RetentionInDays).toBe(7);
      expect(group.DeletionPolicy).toBe('Delete');
    }
    for (const table of Object.values(resources(template, 'AWS::DynamoDB::Table'))) expect(table.DeletionPolicy).toBe('Delete');
    // The work queues follow removalPolicy; the DLQs hold failed deliveries and stay unless told otherwise.
    for (const path of ['Queues/Events', 'Queues/Deliveries']) {
      expect(resources(template, 'AWS::SQS::Queue')[queueId(template, path)]!.DeletionPolicy, path).toBe('Delete');
    }
    for (const path of ['Queues/EventsDlq', 'Queues/DeliveriesDlq', 'Events/TargetDlq']) {
      expect(resources(template, 'AWS::SQS::Queue')[queueId(template, path)]!.DeletionPolicy, path).toBe('Retain');
    }
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'live',
      MethodSettings: [
        { HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10, LoggingLevel: 'ERROR', DataTraceEnabled: false },
        // The inbound route's own budget defaults to the stage's when that is lower.
        ...['POST', 'GET'].map((HttpMethod) => ({
          HttpMethod,
          ResourcePath: '/~1inbound~1{sourceId}',
          ThrottlingRateLimit: 5,
          ThrottlingBurstLimit: 10,
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
        })),
      ],
    });
    expect(resourceByPath(template, 'AWS::CloudWatch::Alarm', 'Monitoring/DeliveriesBacklog/Resource').Properties!.Threshold).toBe(1800);
  });

  it('no queue carries a physical name', () => {
    for (const queue of Object.values(resources(template, 'AWS::SQS::Queue'))) expect(queue.Properties!.QueueName).toBeUndefined();
    expect(stack.stackName).toBe('Acme');
  });
});

describe('optional integrations', () => {
  let stack: Stack;
  let template: Template;
  const webAclArn = 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/hookline/0b1c2d3e-aaaa-bbbb-cccc-000000000000';
  beforeAll(() => {
    ({ stack, template } = synth((s) => ({
      tableEncryptionKey: new Key(s, 'TableKey', { enableKeyRotation: true }),
      alarmTopic: new Topic(s, 'Alarms', { enforceSSL: true }),
      webAclArn,
      apiGatewayCloudWatchRole: false,
    })));
  }, 60_000);

  it('tables use the customer-managed key and every function may use it, and only it', () => {
    const keyArn = { 'Fn::GetAtt': [logicalIdByPath(template, 'AWS::KMS::Key', 'TableKey/Resource'), 'Arn'] };
    for (const table of Object.values(resources(template, 'AWS::DynamoDB::Table'))) {
      expect(table.Properties!.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn });
    }
    for (const name of ['ApiFunction', 'FanoutFunction', 'DispatcherFunction']) {
      const role = logicalIdByPath(template, 'AWS::IAM::Role', `Webhooks/${name}/Role/Resource`);
      const kms = roleStatements(template, role).filter((s) => asArray(s.Action).some((a) => a.startsWith('kms:')));
      expect(kms.map((s) => ({ actions: [...asArray(s.Action)].sort(), resources: asArray(s.Resource) }))).toEqual([
        { actions: [...TABLE_KEY_ACTIONS].sort(), resources: [keyArn] },
      ]);
    }
  });

  it('every alarm notifies the topic on alarm and on recovery', () => {
    const topicRef = { Ref: logicalIdByPath(template, 'AWS::SNS::Topic', 'Alarms/Resource') };
    const alarms = Object.values(resources(template, 'AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(9);
    for (const alarm of alarms) {
      expect(alarm.Properties!.AlarmActions).toEqual([topicRef]);
      expect(alarm.Properties!.OKActions).toEqual([topicRef]);
    }
  });

  it('the web ACL is associated with the stage, and no account logging role is created', () => {
    const association = Object.values(resources(template, 'AWS::WAFv2::WebACLAssociation'));
    expect(association).toHaveLength(1);
    expect(association[0]!.Properties!.WebACLArn).toBe(webAclArn);
    const stageName = logicalIdByPath(template, 'AWS::ApiGateway::Stage', 'DeploymentStage.v1/Resource');
    expect(flatten(association[0]!.Properties!.ResourceArn)).toContain('/stages/');
    expect(JSON.stringify(association[0]!.Properties!.ResourceArn)).toContain(
      logicalIdByPath(template, 'AWS::ApiGateway::RestApi', 'Webhooks/Api/Api/Resource'),
    );
    expect(stageName).toBeDefined();
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  it('stays clean under cdk-nag without the WAF acknowledgement', () => {
    expect(new AwsSolutionsChecks().validateScope(stack).violations.map((v) => v.ruleName)).toEqual([]);
    expect(acknowledgements(stack).map((a) => a.id)).not.toContain('AwsSolutions-APIG3');
  });
});

describe('cdk-nag catches what it should (control)', () => {
  it('reports an unencrypted-transport queue without a DLQ', () => {
    const stack = new Stack(testApp({ bundle: false }), 'Control');
    new Queue(stack, 'Bare');
    const rules = new AwsSolutionsChecks().validateScope(stack).violations.map((v) => v.ruleName);
    expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-SQS3', 'AwsSolutions-SQS4']));
  });
});

describe('invalid props throw at synth, naming the prop', () => {
  it.each<[string, WebhookServiceProps, RegExp]>([
    ['maxAttempts 0', { maxAttempts: 0 }, /maxAttempts/],
    ['attemptTimeoutSeconds 31', { attemptTimeoutSeconds: 31 }, /attemptTimeoutSeconds/],
    ['an event type that is not dotted lower case', { eventCatalog: ['Thread Completed'] }, /eventCatalog\.0/],
    ['the reserved test type in the catalog', { eventCatalog: ['thread.completed', 'webhook.test'] }, /eventCatalog.*webhook\.test/],
    ['a repeated event type', { eventCatalog: ['thread.completed', 'thread.completed'] }, /eventCatalog.*repeat/],
    [
      'a catalog too large for the Lambda environment',
      { eventCatalog: Array.from({ length: 120 }, (_, i) => `resource${i}.something.happened`) },
      /eventCatalog.*4 KB/,
    ],
    ['deliveriesMaxReceiveCount 4 (AWS asks for at least 5 behind Lambda)', { deliveriesMaxReceiveCount: 4 }, /deliveriesMaxReceiveCount/],
    ['deliveriesMaxReceiveCount 1001 (above the SQS maximum)', { deliveriesMaxReceiveCount: 1_001 }, /deliveriesMaxReceiveCount/],
    // 50 attempts at the default delays take about 21 days: longer than a 7-day event retention.
    ['a delivery round longer than the event retention', { maxAttempts: 50, eventRetentionDays: 7 }, /maxAttempts: .*within the 7-day event retention/],
    [
      'a Retry-After bound that could stretch a round past the event retention',
      // 29 waits of 12 h = 14.5 days; the nominal schedule (29 min) fits.
      { maxAttempts: 30, retryDelaysSeconds: [60], retryAfterMaxSeconds: 43_200, eventRetentionDays: 14 },
      /retryAfterMaxSeconds: .*within the 14-day event retention.*14\.5 days/,
    ],
    ['dispatcherMaxConcurrency 1', { dispatcherMaxConcurrency: 1 }, /dispatcherMaxConcurrency/],
    ['fanoutMaxConcurrency 1001', { fanoutMaxConcurrency: 1001 }, /fanoutMaxConcurrency/],
    ['a dispatcher timeout not above the 30 s attempt timeout', { dispatcherTimeout: Duration.seconds(30) }, /dispatcherTimeout/],
    ['a fan-out timeout above 15 minutes', { fanoutTimeout: Duration.minutes(16) }, /fanoutTimeout/],
    ['an API timeout above 29 s', { apiTimeout: Duration.seconds(30) }, /apiTimeout/],
    ['a secret prefix without trailing slash', { secretPrefix: 'hookline' }, /secretPrefix/],
    ['a secret prefix with an IAM wildcard', { secretPrefix: 'hookline/*/' }, /secretPrefix/],
    ['SNAPSHOT removal', { removalPolicy: RemovalPolicy.SNAPSHOT }, /removalPolicy/],
    ['a retention CloudWatch does not offer', { logRetention: 42 as RetentionDays }, /logRetention/],
    ['an AWS/ metrics namespace', { metricsNamespace: 'AWS/Lambda' }, /metricsNamespace/],
    ['a zero burst limit', { apiThrottlingBurstLimit: 0 }, /apiThrottlingBurstLimit/],
    ['a stage name with a slash', { apiStageName: 'v1/beta' }, /apiStageName/],
    ['a web ACL ARN that is not a regional WAFv2 ACL', { webAclArn: 'arn:aws:s3:::bucket' }, /webAclArn/],
    [
      'a dispatcher timeout not above a 300 s longest attempt',
      { maxAttemptTimeoutSeconds: 300, dispatcherTimeout: Duration.seconds(300) },
      /dispatcherTimeout.*300 s longest attempt/,
    ],
    ['a default attempt timeout above maxAttemptTimeoutSeconds', { attemptTimeoutSeconds: 60 }, /attemptTimeoutSeconds/],
    ['maxAttemptTimeoutSeconds above 300', { maxAttemptTimeoutSeconds: 301 }, /maxAttemptTimeoutSeconds/],
    ['an inbound rate above the stage rate', { inboundThrottlingRateLimit: 500 }, /inboundThrottlingRateLimit/],
  ])('%s', (_label, props, message) => {
    expect(construct(props)).toThrow(message);
  });

  it('long attempts: the dispatcher timeout and the deliveries visibility follow maxAttemptTimeoutSeconds', () => {
    const { template } = synth({ maxAttemptTimeoutSeconds: 300, attemptTimeoutSeconds: 120 });
    const dispatcher = resources(template, 'AWS::Lambda::Function')[fnId(template, 'DispatcherFunction')]!;
    expect(dispatcher.Properties!.Timeout).toBe(330);
    const deliveries = resources(template, 'AWS::SQS::Queue')[queueId(template, 'Queues/Deliveries')]!;
    expect(deliveries.Properties!.VisibilityTimeout).toBe(6 * 330);
  });

  it('names every offending prop at once', () => {
    expect(construct({ maxAttempts: 0, dispatcherMaxConcurrency: 1 })).toThrow(/maxAttempts.*dispatcherMaxConcurrency/);
  });

  it('accepts the defaults and the boundaries', () => {
    expect(construct({})).not.toThrow();
    expect(construct({ deliveriesMaxReceiveCount: 5 })).not.toThrow();
    expect(construct({ deliveriesMaxReceiveCount: 1_000 })).not.toThrow();
    // Rounds are bounded by the event retention, not by a queue's: the longest schedule fits 30 days.
    expect(construct({ maxAttempts: 50 })).not.toThrow();
    expect(construct({ maxAttempts: 30, retryDelaysSeconds: [60], retryAfterMaxSeconds: 43_200, eventRetentionDays: 15 })).not.toThrow();
    expect(
      construct({
        maxAttempts: 1,
        attemptTimeoutSeconds: 30,
        dispatcherTimeout: Duration.seconds(31),
        dispatcherMaxConcurrency: 2,
        fanoutMaxConcurrency: 1000,
      }),
    ).not.toThrow();
  });
});

describe('cdk.json context', () => {
  it('rejects an unknown key, naming it', () => {
    expect(() => parseHooklineContext({ maxAtempts: 3 })).toThrow(/maxAtempts/);
  });

  it('rejects a wrongly typed construct setting, naming it', () => {
    expect(() => parseHooklineContext({ dispatcherTimeoutSeconds: '60' })).toThrow(/dispatcherTimeoutSeconds/);
  });

  it('accepts a JSON string, as `-c hookline=…` passes one', () => {
    expect(parseHooklineContext('{"maxAttempts":3}')).toEqual({ maxAttempts: 3 });
    expect(() => parseHooklineContext('{maxAttempts')).toThrow(/not valid JSON/);
  });

  it('maps the JSON settings onto the construct props', () => {
    const app = testApp({ bundle: false });
    const stack = new HooklineStack(app, 'Ctx', {
      settings: parseHooklineContext({
        maxAttempts: 3,
        deliveriesMaxReceiveCount: 6,
        dispatcherTimeoutSeconds: 90,
        fanoutTimeoutSeconds: 20,
        removalPolicy: 'destroy',
        logRetentionDays: 14,
        deliveriesAgeAlarmMinutes: 5,
        alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops',
        tableEncryptionKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/0b1c2d3e-aaaa-bbbb-cccc-000000000000',
        apiGatewayCloudWatchRole: false,
        deadLetterQueueRemovalPolicy: 'destroy',
        staticEgressAvailabilityZones: 1,
      }),
    });
    const template = Template.fromStack(stack);
    for (const path of ['Queues/DeliveriesDlq', 'Queues/EventsDlq', 'Events/TargetDlq']) {
      expect(resourceByPath(template, 'AWS::SQS::Queue', `${path}/Resource`).DeletionPolicy, path).toBe('Delete');
    }
    template.resourceCountIs('AWS::EC2::EIP', 1);
    expect(template.toJSON().Outputs.EgressIps).toBeDefined();
    // The standalone stack keeps its historical secret prefix, so deployed signing secrets stay in scope.
    expect(stack.service.secretPrefix).toBe('hookline/Ctx/');
    const dispatcher = resources(template, 'AWS::Lambda::Function')[
      logicalIdByPath(template, 'AWS::Lambda::Function', 'DispatcherFunction/Function/Resource')
    ]!;
    expect(dispatcher.Properties!.Timeout).toBe(90);
    const deliveries = resourceByPath(template, 'AWS::SQS::Queue', 'Queues/Deliveries/Resource');
    expect(deliveries.Properties!.RedrivePolicy.maxReceiveCount).toBe(6);
    expect(deliveries.Properties!.VisibilityTimeout).toBe(540);
    for (const table of Object.values(resources(template, 'AWS::DynamoDB::Table'))) {
      expect(table.DeletionPolicy).toBe('Delete');
      expect(table.Properties!.SSESpecification.KMSMasterKeyId).toBe(
        'arn:aws:kms:eu-west-1:123456789012:key/0b1c2d3e-aaaa-bbbb-cccc-000000000000',
      );
    }
    for (const group of Object.values(resources(template, 'AWS::Logs::LogGroup'))) expect(group.Properties!.RetentionInDays).toBe(14);
    const backlog = resourceByPath(template, 'AWS::CloudWatch::Alarm', 'Monitoring/DeliveriesBacklog/Resource');
    expect(backlog.Properties!.Threshold).toBe(300);
    expect(backlog.Properties!.AlarmActions).toEqual(['arn:aws:sns:eu-west-1:123456789012:ops']);
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  it('an invalid setting in the context fails naming it', () => {
    const app = testApp({ bundle: false });
    expect(() => new HooklineStack(app, 'Bad', { settings: parseHooklineContext({ attemptTimeoutSeconds: 31 }) })).toThrow(
      /attemptTimeoutSeconds/,
    );
  });
});

describe('bin/app.ts', () => {
  it('cdk.json runs bin/app.ts with tsx and holds a valid hookline context', () => {
    const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8'));
    expect(cdkJson.app).toBe('npx tsx bin/app.ts');
    expect(parseHooklineContext(cdkJson.context.hookline).stackName).toBe('Hookline');
  });

  it('synthesizes the Hookline stack from cdk.json with cdk-nag registered', async () => {
    const result = await goodApp;
    expect(result.stderr).not.toMatch(/AwsSolutions-/);
    expect(result.code).toBe(0);
    const template = JSON.parse(readFileSync(join(result.dir, 'Hookline.template.json'), 'utf8'));
    expect(template.Outputs.ApiUrl).toBeDefined();
    expect(existsSync(join(result.dir, 'manifest.json'))).toBe(true);
  }, 90_000);

  it('fails naming the setting when the context is invalid', async () => {
    const result = await badApp;
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/maxAttempts/);
  }, 90_000);
});
