import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDeploymentSettings } from '../../lambdas/core/settings';
import { TABLE_SCHEMAS, type TableSchema } from '../../lambdas/core/table-schema';
import { ENV } from '../../lambdas/shared/environment';
import { parseHooklineContext } from '../../lib/context';
import { HooklineStack } from '../../lib/hookline-stack';
import {
  SEALING_KEY_ACTIONS,
  TABLE_ACTIONS,
} from '../../lib/permissions';
import { XRAY_ACTIONS } from '../../lib/functions';
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

// One synthesis with real esbuild bundling and the cdk-nag plugin registered exactly as
// bin/app.ts does: a violation would make Template.fromStack throw.
let outdir: string;
let stack: HooklineStack;
let template: Template;


beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'hookline-cdk-'));
  const app = testApp({ bundle: true, outdir });
  stack = new HooklineStack(app, 'Hookline', { settings: parseHooklineContext(cdkJsonContext().hookline) });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  template = Template.fromStack(stack);
}, 120_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

const tableId = (name: TableSchema['logicalName']) => logicalIdByPath(template, 'AWS::DynamoDB::Table', `Tables/${name}/Resource`);
const queueId = (path: string) => logicalIdByPath(template, 'AWS::SQS::Queue', `${path}/Resource`);
const functionId = (name: string) => logicalIdByPath(template, 'AWS::Lambda::Function', `${name}/Function/Resource`);
const roleId = (name: string) => logicalIdByPath(template, 'AWS::IAM::Role', `${name}/Role/Resource`);
/** The inbound key secret, as a flattened Ref (its ARN). */
const sealingKeyId = () => logicalIdByPath(template, 'AWS::SecretsManager::Secret', 'SealingKey/Secret/Resource');
const busId = () => logicalIdByPath(template, 'AWS::Events::EventBus', 'Events/Bus/Resource');
const sealingKey = () => `<${sealingKeyId()}>`;
const logGroupId = (name: string) => logicalIdByPath(template, 'AWS::Logs::LogGroup', `${name}/Logs/Resource`);

/** Grants of a role as flattened resource → sorted actions. */
function grants(role: string): Record<string, string[]> {
  const byResource: Record<string, Set<string>> = {};
  for (const statement of roleStatements(template, role)) {
    expect(statement.Effect).toBe('Allow');
    for (const resource of asArray(statement.Resource)) {
      const key = flatten(resource);
      byResource[key] ??= new Set();
      for (const action of asArray(statement.Action)) byResource[key].add(action);
    }
  }
  return Object.fromEntries(Object.entries(byResource).map(([key, actions]) => [key, [...actions].sort()]));
}
const sorted = (actions: readonly string[]) => [...actions].sort();
const SEND = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'];
const CONSUME = ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'];

describe('DynamoDB tables built from TABLE_SCHEMAS', () => {
  it.each(TABLE_SCHEMAS.map((schema) => [schema.logicalName, schema] as const))('%s', (name, schema) => {
    const table = resources(template, 'AWS::DynamoDB::Table')[tableId(name)]!;
    const keySchema = (pk: { name: string }, sk?: { name: string }) => [
      { AttributeName: pk.name, KeyType: 'HASH' },
      ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' }] : []),
    ];
    const props = table.Properties!;
    expect(props.KeySchema).toEqual(keySchema(schema.partitionKey, schema.sortKey));
    expect(props.BillingMode).toBe('PAY_PER_REQUEST');
    expect(props.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(props.SSESpecification).toEqual({ SSEEnabled: true });
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(props.TimeToLiveSpecification).toEqual(
      schema.timeToLiveAttribute === undefined ? undefined : { AttributeName: schema.timeToLiveAttribute, Enabled: true },
    );
    expect(props.GlobalSecondaryIndexes).toEqual(
      schema.globalSecondaryIndexes.length === 0
        ? undefined
        : schema.globalSecondaryIndexes.map((index) => ({
            IndexName: index.indexName,
            KeySchema: keySchema(index.partitionKey, index.sortKey),
            Projection:
              index.nonKeyAttributes === undefined
                ? { ProjectionType: 'ALL' }
                : { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.nonKeyAttributes] },
          })),
    );
    const keyNames = new Set(
      [schema.partitionKey, schema.sortKey, ...schema.globalSecondaryIndexes.flatMap((i) => [i.partitionKey, i.sortKey])]
        .filter((key) => key !== undefined)
        .map((key) => key.name),
    );
    expect(new Set(props.AttributeDefinitions.map((d: { AttributeName: string }) => d.AttributeName))).toEqual(keyNames);
  });

  it('has exactly the tables of TABLE_SCHEMAS', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', TABLE_SCHEMAS.length);
  });
});

describe('queues', () => {
  it('every queue keeps messages 14 days, uses SSE and refuses plain HTTP', () => {
    const queues = resources(template, 'AWS::SQS::Queue');
    expect(Object.keys(queues)).toHaveLength(5);
    const policies = Object.values(resources(template, 'AWS::SQS::QueuePolicy'));
    for (const [id, queue] of Object.entries(queues)) {
      expect(queue.Properties!.MessageRetentionPeriod).toBe(14 * 86_400);
      expect(queue.Properties!.SqsManagedSseEnabled).toBe(true);
      const tlsOnly = policies.some(
        (policy) =>
          asArray(policy.Properties!.Queues).some((ref: any) => ref.Ref === id) &&
          policy.Properties!.PolicyDocument.Statement.some(
            (s: any) =>
              s.Effect === 'Deny' &&
              s.Action === 'sqs:*' &&
              s.Condition?.Bool?.['aws:SecureTransport'] === 'false' &&
              s.Principal?.AWS === '*',
          ),
      );
      expect(tlsOnly, `queue ${id} has a TLS-only policy`).toBe(true);
    }
  });

  it('events queue dead-letters after 5 receives', () => {
    const events = resources(template, 'AWS::SQS::Queue')[queueId('Queues/Events')]!;
    expect(events.Properties!.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [queueId('Queues/EventsDlq'), 'Arn'] },
      maxReceiveCount: 5,
    });
  });

  it('deliveries queue dead-letters after deliveriesMaxReceiveCount (10) receives, not maxAttempts (9)', () => {
    const deliveries = resources(template, 'AWS::SQS::Queue')[queueId('Queues/Deliveries')]!;
    expect(deliveries.Properties!.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [queueId('Queues/DeliveriesDlq'), 'Arn'] },
      maxReceiveCount: 10,
    });
  });

  it('the DLQs keep the default RedriveAllowPolicy (no cycle) and refuse SendMessage from every caller but AWS services', () => {
    for (const dlq of ['Queues/EventsDlq', 'Queues/DeliveriesDlq']) {
      const queue = resources(template, 'AWS::SQS::Queue')[queueId(dlq)]!;
      expect(queue.Properties!.RedriveAllowPolicy).toBeUndefined();
      const policy = resourceByPath(template, 'AWS::SQS::QueuePolicy', `${dlq}/Policy/Resource`).Properties!;
      expect(policy.Queues).toEqual([{ Ref: queueId(dlq) }]);
      const denies = policy.PolicyDocument.Statement.filter((s: any) => s.Sid === 'DenyDirectSends');
      expect(denies).toEqual([
        {
          Sid: 'DenyDirectSends',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 'sqs:SendMessage',
          Resource: { 'Fn::GetAtt': [queueId(dlq), 'Arn'] },
          Condition: { Bool: { 'aws:PrincipalIsAWSService': 'false' } },
        },
      ]);
    }
    // The work queues and the EventBridge target DLQ take sends (EventBridge, the API, the fan-out).
    for (const queue of ['Queues/Events', 'Queues/Deliveries', 'Events/TargetDlq']) {
      const policy = resourceByPath(template, 'AWS::SQS::QueuePolicy', `${queue}/Policy/Resource`).Properties!;
      expect(policy.PolicyDocument.Statement.some((s: any) => s.Effect === 'Deny' && asArray(s.Action).includes('sqs:SendMessage'))).toBe(false);
    }
  });

  it('no queue has a physical name (nested stacks, several deployments per account, replacements)', () => {
    for (const queue of Object.values(resources(template, 'AWS::SQS::Queue'))) {
      expect(queue.Properties!.QueueName).toBeUndefined();
    }
  });

  it('work queues follow removalPolicy (retain here) and the DLQs are retained', () => {
    for (const path of ['Queues/Events', 'Queues/Deliveries', 'Queues/EventsDlq', 'Queues/DeliveriesDlq', 'Events/TargetDlq']) {
      const queue = resources(template, 'AWS::SQS::Queue')[queueId(path)]!;
      expect(queue.DeletionPolicy, path).toBe('Retain');
      expect(queue.UpdateReplacePolicy, path).toBe('Retain');
    }
  });

  it('every consumed queue has a visibility timeout of at least 6 × its consumer timeout', () => {
    const mappings = Object.values(resources(template, 'AWS::Lambda::EventSourceMapping'));
    expect(mappings).toHaveLength(2);
    for (const mapping of mappings) {
      const fn = resources(template, 'AWS::Lambda::Function')[mapping.Properties!.FunctionName.Ref]!;
      const queue = resources(template, 'AWS::SQS::Queue')[mapping.Properties!.EventSourceArn['Fn::GetAtt'][0]]!;
      expect(queue.Properties!.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Properties!.Timeout);
    }
  });
});

describe('event source mappings', () => {
  it.each([
    ['DispatcherFunction', 'Queues/Deliveries', 50],
    ['FanoutFunction', 'Queues/Events', 10],
  ])('%s reads %s in batches of 10 with partial failures and max concurrency %i', (fn, queue, concurrency) => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionId(fn) },
      EventSourceArn: { 'Fn::GetAtt': [queueId(queue), 'Arn'] },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: concurrency },
    });
  });
});

describe('EventBridge', () => {
  it('the rule on the Hookline bus sends every event of the source to the events queue, with its own DLQ', () => {
    const rule = resourceByPath(template, 'AWS::Events::Rule', 'Events/ToEventsQueue/Resource');
    expect(rule.Properties!.EventBusName).toEqual({ Ref: logicalIdByPath(template, 'AWS::Events::EventBus', 'Events/Bus/Resource') });
    expect(rule.Properties!.EventPattern).toEqual({ source: ['hookline'] });
    expect(rule.Properties!.Targets).toEqual([
      {
        Id: 'Target0',
        Arn: { 'Fn::GetAtt': [queueId('Queues/Events'), 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId('Events/TargetDlq'), 'Arn'] } },
        RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
      },
    ]);
  });

  it('EventBridge may send to the events queue and the target DLQ only on behalf of that rule', () => {
    const ruleArn = { 'Fn::GetAtt': [logicalIdByPath(template, 'AWS::Events::Rule', 'Events/ToEventsQueue/Resource'), 'Arn'] };
    for (const queue of ['Queues/Events', 'Events/TargetDlq']) {
      const policy = resourceByPath(template, 'AWS::SQS::QueuePolicy', `${queue}/Policy/Resource`).Properties!;
      expect(policy.Queues).toEqual([{ Ref: queueId(queue) }]);
      const grantsToEventBridge = policy.PolicyDocument.Statement.filter(
        (statement: any) => statement.Effect === 'Allow' && statement.Principal?.Service === 'events.amazonaws.com',
      );
      expect(grantsToEventBridge).toHaveLength(1);
      expect(grantsToEventBridge[0].Condition).toEqual({ ArnEquals: { 'aws:SourceArn': ruleArn } });
      expect(asArray(grantsToEventBridge[0].Action)).toContain('sqs:SendMessage');
      expect(asArray<string>(grantsToEventBridge[0].Action).every((a) => /^sqs:(SendMessage|GetQueue\w+)$/.test(a))).toBe(true);
    }
  });
});

describe('functions', () => {
  const handlers = [
    ['ApiFunction', 'api', 29],
    ['FanoutFunction', 'fanout', 60],
    ['DispatcherFunction', 'dispatcher', 60],
  ] as const;

  it('are the only three functions (no LogRetention or other custom-resource handlers)', () => {
    template.resourceCountIs('AWS::Lambda::Function', 3);
    expect(Object.keys(template.findResources('Custom::LogRetention'))).toHaveLength(0);
  });

  it.each(handlers)('%s: Node 22 on arm64, 512 MB, X-Ray, own log group and role, no reserved concurrency', (name, handler, timeout) => {
    const fn = resources(template, 'AWS::Lambda::Function')[functionId(name)]!.Properties!;
    expect(fn.Runtime).toBe('nodejs22.x');
    expect(fn.Architectures).toEqual(['arm64']);
    expect(fn.MemorySize).toBe(512);
    expect(fn.Timeout).toBe(timeout);
    expect(fn.TracingConfig).toEqual({ Mode: 'Active' });
    expect(fn.LoggingConfig).toEqual({ LogGroup: { Ref: logGroupId(name) } });
    expect(fn.Role).toEqual({ 'Fn::GetAtt': [roleId(name), 'Arn'] });
    expect(fn.Handler).toBe('index.handler');
    expect(fn.ReservedConcurrentExecutions).toBeUndefined();
    const env = fn.Environment.Variables as Record<string, unknown>;
    expect(env).toEqual({
      [ENV.subscriptionsTable]: { Ref: tableId('Subscriptions') },
      [ENV.eventsTable]: { Ref: tableId('Events') },
      [ENV.deliveriesTable]: { Ref: tableId('Deliveries') },
      [ENV.tokensTable]: { Ref: tableId('Tokens') },
      [ENV.eventsQueueUrl]: { Ref: queueId('Queues/Events') },
      [ENV.deliveriesQueueUrl]: { Ref: queueId('Queues/Deliveries') },
      [ENV.settings]: expect.any(String),
      ...(handler === 'api' ? { [ENV.inboundSourcesTable]: { Ref: tableId('InboundSources') } } : {}),
      // The fan-out never sees a secret: it is not even told where the key ring is.
      ...(handler === 'fanout' ? {} : { [ENV.sealingKeySecret]: { Ref: sealingKeyId() } }),
      // Operator events go to the deployment's bus.
      // Operator events go to the deployment's bus; a slow endpoint's cap is held to half the concurrency.
      ...(handler === 'dispatcher'
        ? { [ENV.eventBusName]: { Ref: expect.stringMatching(/^HooklineEventsBus/) }, [ENV.dispatcherConcurrency]: '50' }
        : {}),
      POWERTOOLS_SERVICE_NAME: `hookline-${handler}`,
      POWERTOOLS_METRICS_NAMESPACE: 'Hookline',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    });
    const { stackName: _stackName, ...settingsInContext } = cdkJsonContext().hookline;
    const settingsKeys = Object.keys(parseDeploymentSettings({}));
    const expected = parseDeploymentSettings(
      Object.fromEntries(Object.entries(settingsInContext).filter(([key]) => settingsKeys.includes(key))),
    );
    expect(JSON.parse(env[ENV.settings] as string)).toEqual(expected);
  });

  it('every log group (functions, API access and execution logs) keeps a month', () => {
    const groups = Object.values(resources(template, 'AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(5);
    for (const group of groups) expect(group.Properties!.RetentionInDays).toBe(30);
  });

  it.each(handlers)('%s bundle was built by esbuild: minified, source-mapped, AWS SDK bundled in', (name) => {
    const fn = resources(template, 'AWS::Lambda::Function')[functionId(name)]!;
    const assetDir = join(outdir, fn.Metadata!['aws:asset:path']);
    const bundle = join(assetDir, 'index.js');
    expect(existsSync(bundle)).toBe(true);
    expect(existsSync(`${bundle}.map`)).toBe(true);
    const code = readFileSync(bundle, 'utf8');
    expect(code).toMatch(/sourceMappingURL=index\.js\.map/);
    // Minified output has long lines; esbuild's unminified CJS output averages well under 100 chars.
    expect(statSync(bundle).size / code.split('\n').length).toBeGreaterThan(200);
    // Only the optional SigV4a signers may stay external: the SDK probes for them inside try/catch.
    const optional = ['@aws-sdk/signature-v4-crt', '@aws-sdk/signature-v4a'];
    const externalSdk = [...code.matchAll(/require\(["'](@aws-sdk\/[^"']+|@smithy\/[^"']+)["']\)/g)].map((m) => m[1]);
    expect(externalSdk.filter((name) => !optional.includes(name!))).toEqual([]);
  });
});

describe('the key ring secret', () => {
  it('is the one Secrets Manager secret, named under the prefix, its key generated as 64 hex digits, kept with the tables', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    const secret = resources(template, 'AWS::SecretsManager::Secret')[sealingKeyId()]!;
    expect(secret.Properties!.Name).toBe('hookline/Hookline/sealing-key');
    expect(secret.Properties!.GenerateSecretString).toMatchObject({
      SecretStringTemplate: JSON.stringify({ current: '1' }),
      GenerateStringKey: '1',
      PasswordLength: 64,
      ExcludeUppercase: true,
      ExcludePunctuation: true,
      IncludeSpace: false,
      ExcludeCharacters: 'ghijklmnopqrstuvwxyz',
    });
    const subscriptions = resources(template, 'AWS::DynamoDB::Table')[tableId('Subscriptions')]!;
    expect(secret.DeletionPolicy).toBe(subscriptions.DeletionPolicy);
  });

  it('only the API and the dispatcher roles may read it', () => {
    const readers = Object.entries(resources(template, 'AWS::IAM::Policy'))
      .filter(([, policy]) =>
        (policy.Properties!.PolicyDocument.Statement as any[]).some((statement) => asArray(statement.Resource).map(flatten).includes(sealingKey())),
      )
      .flatMap(([, policy]) => asArray(policy.Properties!.Roles).map(flatten))
      .sort();
    expect(readers).toEqual([`<${roleId('ApiFunction')}>`, `<${roleId('DispatcherFunction')}>`].sort());
  });
});

describe('IAM: least privilege', () => {
  const table = (name: TableSchema['logicalName']) => `<${tableId(name)}.Arn>`;
  const queue = (path: string) => `<${queueId(path)}.Arn>`;
  const logs = (name: string) => ({ [`<${logGroupId(name)}.Arn>`]: ['logs:CreateLogStream', 'logs:PutLogEvents'] });
  const xray = { '*': sorted(XRAY_ACTIONS) };

  const QUERY = ['dynamodb:Query'];

  it('API: the table calls its code makes (tokens: GetItem + PutItem for portal sessions), sends to both queues, reads the key ring secret only', () => {
    expect(grants(roleId('ApiFunction'))).toEqual({
      [table('InboundSources')]: sorted(TABLE_ACTIONS.api.inboundSources),
      [`${table('InboundSources')}/index/byFleet`]: QUERY,
      ...logs('ApiFunction'),
      ...xray,
      [table('Subscriptions')]: sorted(TABLE_ACTIONS.api.subscriptions),
      [table('Events')]: sorted(TABLE_ACTIONS.api.events),
      [`${table('Events')}/index/byTime`]: QUERY,
      [`${table('Events')}/index/byEventTime`]: QUERY,
      [table('Deliveries')]: sorted(TABLE_ACTIONS.api.deliveries),
      [`${table('Deliveries')}/index/bySubscription`]: QUERY,
      [`${table('Deliveries')}/index/bySubscriptionStatus`]: QUERY,
      [`${table('Deliveries')}/index/byFleet`]: QUERY,
      [table('Tokens')]: ['dynamodb:GetItem', 'dynamodb:PutItem'],
      [queue('Queues/Events')]: SEND,
      [queue('Queues/Deliveries')]: SEND,
      [sealingKey()]: SEALING_KEY_ACTIONS,
    });
  });

  it('no table grant includes an action no Lambda sends (batch writes, transaction, ConditionCheck, Scan, DescribeTable)', () => {
    const all = Object.values(TABLE_ACTIONS).flatMap((byTable) => Object.values(byTable).flat());
    for (const action of all) {
      expect(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:BatchGetItem']).toContain(action);
    }
    // BatchGetItem reads the events a by-time index page names; no other table is read in batches.
    const batchReaders = Object.values(TABLE_ACTIONS).flatMap((byTable) =>
      Object.entries(byTable)
        .filter(([, actions]) => (actions as readonly string[]).includes('dynamodb:BatchGetItem'))
        .map(([name]) => name),
    );
    expect(new Set(batchReaders)).toEqual(new Set(['events']));
    expect(TABLE_ACTIONS.api.events).not.toContain('dynamodb:DeleteItem');
    expect(TABLE_ACTIONS.api.deliveries).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query']);
  });

  it('fan-out: events as fan-out and replay use them, subscriptions read, sends to both queues, consumes the events queue, no secrets', () => {
    expect(grants(roleId('FanoutFunction'))).toEqual({
      ...logs('FanoutFunction'),
      ...xray,
      [table('Events')]: sorted(TABLE_ACTIONS.fanout.events),
      [`${table('Events')}/index/byTime`]: QUERY,
      [`${table('Events')}/index/byEventTime`]: QUERY,
      [table('Subscriptions')]: sorted(TABLE_ACTIONS.fanout.subscriptions),
      [queue('Queues/Deliveries')]: SEND,
      [queue('Queues/Events')]: sorted([...new Set([...SEND, ...CONSUME])]),
    });
  });

  it('dispatcher: subscriptions GetItem + UpdateItem, deliveries read and update, secrets read, consumes deliveries', () => {
    expect(grants(roleId('DispatcherFunction'))).toEqual({
      ...logs('DispatcherFunction'),
      ...xray,
      [table('Subscriptions')]: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      [table('Deliveries')]: sorted(TABLE_ACTIONS.dispatcher.deliveries),
      [`${table('Deliveries')}/index/bySubscription`]: QUERY,
      [`${table('Deliveries')}/index/bySubscriptionStatus`]: QUERY,
      [`${table('Deliveries')}/index/byFleet`]: QUERY,
      [sealingKey()]: ['secretsmanager:GetSecretValue'],
      // Consumes the deliveries queue and sends each retry's next message to it.
      [queue('Queues/Deliveries')]: sorted([...CONSUME, 'sqs:SendMessage']),
      // Operator events only: the statement's condition pins the source (checked below).
      [`<${busId()}.Arn>`]: ['events:PutEvents'],
    });
  });

  it('dispatcher: PutEvents only with the operator source, on its own bus', () => {
    const statements = Object.values(resources(template, 'AWS::IAM::Policy'))
      .flatMap((policy) => policy.Properties!.PolicyDocument.Statement)
      .filter((statement) => asArray(statement.Action).includes('events:PutEvents'));
    expect(statements).toHaveLength(1);
    expect(statements[0].Condition).toEqual({ StringEquals: { 'events:source': ['hookline.operator'] } });
  });

  it('no statement anywhere uses Resource "*" except the X-Ray trace actions', () => {
    const policies = [
      ...Object.values(resources(template, 'AWS::IAM::Policy')).map((p) => p.Properties!.PolicyDocument),
      ...Object.values(resources(template, 'AWS::IAM::Role')).flatMap((r) =>
        asArray(r.Properties!.Policies as any[]).map((p) => p.PolicyDocument),
      ),
    ];
    let wildcardStatements = 0;
    for (const statement of policies.flatMap((doc) => doc.Statement)) {
      if (asArray(statement.Resource).some((r) => flatten(r) === '*')) {
        wildcardStatements += 1;
        expect(sorted(asArray(statement.Action))).toEqual(sorted(XRAY_ACTIONS));
      }
      for (const action of asArray<string>(statement.Action)) {
        if (action.startsWith('secretsmanager:')) {
          const targets = asArray(statement.Resource).map(flatten);
          // One secret, read only: no prefix wildcard, no write or delete anywhere.
          expect(targets, targets.join()).toEqual([sealingKey()]);
          expect(action).toBe('secretsmanager:GetSecretValue');
        }
      }
    }
    expect(wildcardStatements).toBe(3);
  });

  it('no role has a managed policy', () => {
    for (const role of Object.values(resources(template, 'AWS::IAM::Role'))) {
      expect(role.Properties!.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('API Gateway', () => {
  it('is a regional REST API proxying /, /{proxy+} and /inbound/{sourceId} to the API function without gateway auth', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] } });
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: '{proxy+}' });
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'inbound' });
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: '{sourceId}' });
    const methods = Object.values(resources(template, 'AWS::ApiGateway::Method'));
    expect(methods.map((method) => method.Properties!.HttpMethod).sort()).toEqual(['ANY', 'ANY', 'GET', 'POST']);
    for (const method of methods) {
      expect(method.Properties!.AuthorizationType).toBe('NONE');
      expect(method.Properties!.Integration.Type).toBe('AWS_PROXY');
      expect(flatten(method.Properties!.Integration.Uri)).toContain(`<${functionId('ApiFunction')}.Arn>`);
    }
  });

  it('stage: access logs to its log group, X-Ray, ERROR execution logs without data tracing, throttled', () => {
    const stage = resourceByPath(template, 'AWS::ApiGateway::Stage', 'DeploymentStage.v1/Resource').Properties!;
    expect(stage.StageName).toBe('v1');
    expect(stage.TracingEnabled).toBe(true);
    expect(flatten(stage.AccessLogSetting.DestinationArn)).toContain(
      `<${logicalIdByPath(template, 'AWS::Logs::LogGroup', 'Api/AccessLogs/Resource')}>`,
    );
    expect(JSON.parse(stage.AccessLogSetting.Format)).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
    expect(stage.AccessLogSetting.Format).not.toMatch(/authorization|header/i);
    expect(stage.MethodSettings).toEqual([
      {
        HttpMethod: '*',
        ResourcePath: '/*',
        LoggingLevel: 'ERROR',
        DataTraceEnabled: false,
        ThrottlingRateLimit: 100,
        ThrottlingBurstLimit: 200,
      },
      // The unauthenticated inbound route has its own, tighter budget.
      ...['POST', 'GET'].map((HttpMethod) => ({
        HttpMethod,
        ResourcePath: '/~1inbound~1{sourceId}',
        LoggingLevel: 'ERROR',
        DataTraceEnabled: false,
        ThrottlingRateLimit: 50,
        ThrottlingBurstLimit: 100,
      })),
    ]);
  });

  it.each(['DEFAULT_4XX', 'DEFAULT_5XX'])('%s gateway response is a JSON error body', (type) => {
    const response = Object.values(resources(template, 'AWS::ApiGateway::GatewayResponse')).find(
      (r) => r.Properties!.ResponseType === type,
    );
    const body = response!.Properties!.ResponseTemplates['application/json'] as string;
    // $context.error.messageString arrives already quoted; substitute a sample to check the JSON shape.
    expect(JSON.parse(body.replace('$context.error.messageString', '"Missing Authentication Token"'))).toEqual({
      error: { code: '$context.error.responseType', message: 'Missing Authentication Token', requestId: '$context.requestId' },
    });
  });

  it('the account logging role is inline-scoped to log groups of this account and region and retained', () => {
    const account = Object.values(resources(template, 'AWS::ApiGateway::Account'));
    expect(account).toHaveLength(1);
    const role = account[0]!.Properties!.CloudWatchRoleArn['Fn::GetAtt'][0];
    expect(resources(template, 'AWS::IAM::Role')[role]!.DeletionPolicy).toBe('Retain');
    expect(Object.keys(grants(role))).toEqual(['arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*']);
  });
});

describe('alarms and dashboard', () => {
  const alarm = (name: string) => resourceByPath(template, 'AWS::CloudWatch::Alarm', `Monitoring/${name}/Resource`).Properties!;

  it.each([
    ['DeliveriesDlqNotEmpty', 'Queues/DeliveriesDlq'],
    ['EventsDlqNotEmpty', 'Queues/EventsDlq'],
    ['EventsTargetDlqNotEmpty', 'Events/TargetDlq'],
  ])('%s fires on any visible message in %s', (name, queue) => {
    expect(alarm(name)).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId(queue), 'QueueName'] } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('deliveries backlog fires when the oldest message is older than 15 minutes', () => {
    expect(alarm('DeliveriesBacklog')).toMatchObject({
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId('Queues/Deliveries'), 'QueueName'] } }],
      Threshold: 900,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it.each([
    ['DispatcherErrors', 'DispatcherFunction'],
    ['FanoutErrors', 'FanoutFunction'],
  ])('%s fires on any error of %s', (name, fn) => {
    expect(alarm(name)).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId(fn) } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('API 5xx alarm watches this stage only', () => {
    const props = alarm('Api5xx');
    expect(props).toMatchObject({ Namespace: 'AWS/ApiGateway', MetricName: '5XXError', Threshold: 0 });
    expect(props.Dimensions.map((d: { Name: string }) => d.Name).sort()).toEqual(['ApiName', 'Stage']);
  });

  it('alarms have no actions without an alarm topic, and there is one dashboard', () => {
    for (const a of Object.values(resources(template, 'AWS::CloudWatch::Alarm'))) {
      expect(a.Properties!.AlarmActions).toBeUndefined();
    }
    template.resourceCountIs('AWS::CloudWatch::Alarm', 9);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});

describe('outputs', () => {
  it('has the stable output keys scripts rely on', () => {
    expect(Object.keys(template.toJSON().Outputs).sort()).toEqual(
      [
        'ApiUrl',
        'DeliveriesDlqUrl',
        'DeliveriesQueueUrl',
        'DeliveriesTableName',
        'EventBusName',
        'EventsQueueUrl',
        'EventsTableName',
        'InboundSourcesTableName',
        'SealingKeySecretArn',
        'SubscriptionsTableName',
        'TokensTableName',
      ].sort(),
    );
    template.hasOutput('SealingKeySecretArn', { Value: { Ref: sealingKeyId() } });
    template.hasOutput('DeliveriesDlqUrl', { Value: { Ref: queueId('Queues/DeliveriesDlq') } });
    template.hasOutput('TokensTableName', { Value: { Ref: tableId('Tokens') } });
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged error or warning', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
    expect(report.violations.map((v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath)}`)).toEqual([]);
    expect(Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual([]);
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual([]);
  });

  it('acknowledgements are few, resource-scoped and each gives a specific reason', () => {
    const acks = acknowledgements(stack);
    for (const ack of acks) expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThanOrEqual(60);
    const relative = (path: string) => path.replace(/^Hookline\/Hookline\//, '');
    expect(acks.map((ack) => `${relative(ack.path)} ${ack.id}`).sort()).toEqual(
      [
        'ApiFunction/Role AwsSolutions-IAM5[Resource::*]',
        'ApiFunction/Function AwsSolutions-L1',
        'FanoutFunction/Role AwsSolutions-IAM5[Resource::*]',
        'FanoutFunction/Function AwsSolutions-L1',
        'DispatcherFunction/Role AwsSolutions-IAM5[Resource::*]',
        'DispatcherFunction/Function AwsSolutions-L1',
        'Events/TargetDlq AwsSolutions-SQS3',
        'SealingKey/Secret AwsSolutions-SMG4',
        'Api/Api AwsSolutions-APIG2',
        'Api/InboundResource AwsSolutions-APIG4',
        'Api/InboundResource AwsSolutions-COG4',
        'Api/Api AwsSolutions-APIG4',
        'Api/Api AwsSolutions-COG4',
        'Api/Api/DeploymentStage.v1 AwsSolutions-APIG3',
        'Api/CloudWatchRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*]',
      ].sort(),
    );
  });
});
