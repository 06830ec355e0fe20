import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHooklineInteg, INTEG_SETTINGS, INTEG_WAIT } from '../integ/webhook-service-integ';
import { flatten, testApp } from './helpers';

// The IntegTest that runs on real AWS (`npx integ-runner`, README) is synthesized here with no
// credentials: the test stack, the assertions stack integ-runner deploys after it, and the
// integ manifest it reads.
let outdir: string;
let stack: Template;
let assertions: Template;
let manifestFiles: string[];

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'hookline-integ-'));
  const app = testApp({ bundle: false, outdir });
  const built = buildHooklineInteg(app);
  const assembly = app.synth();
  stack = Template.fromStack(built.stack);
  const deployAssert = assembly.stacks.find((s) => s.stackName !== built.stack.stackName);
  if (deployAssert === undefined) throw new Error('no assertions stack was synthesized');
  assertions = Template.fromJSON(deployAssert.template);
  manifestFiles = readdirSync(outdir);
}, 120_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

function resourcesOf(template: Template, type: string): Record<string, any>[] {
  return Object.values(template.findResources(type));
}

function driverEnvironment(): Record<string, unknown> {
  const driver = resourcesOf(stack, 'AWS::Lambda::Function').find((fn) => fn.Properties.Environment?.Variables?.DLQ_ARN !== undefined);
  if (driver === undefined) throw new Error('no driver function');
  return driver.Properties.Environment.Variables;
}

describe('integration test on AWS (synthesized)', () => {
  it('writes the integ manifest integ-runner reads, naming the test case', () => {
    expect(manifestFiles).toContain('integ.json');
    const manifest = JSON.parse(readFileSync(join(outdir, 'integ.json'), 'utf8'));
    expect(Object.keys(manifest.testCases)).toEqual(['HooklineIntegTest/DefaultTest']);
    const testCase = manifest.testCases['HooklineIntegTest/DefaultTest'];
    expect(testCase.stacks).toEqual(['HooklineInteg']);
    expect(testCase.assertionStack).toMatch(/DeployAssert/);
  });

  it('deploys the service with the short retry schedule, and everything goes with the stack', () => {
    const dispatcher = resourcesOf(stack, 'AWS::Lambda::Function').find((fn) => fn.Properties.Environment?.Variables?.HOOKLINE_SETTINGS !== undefined);
    const settings = JSON.parse(dispatcher!.Properties.Environment.Variables.HOOKLINE_SETTINGS);
    expect(settings).toMatchObject({ ...INTEG_SETTINGS, eventCatalog: [...INTEG_SETTINGS.eventCatalog], retryDelaysSeconds: [...INTEG_SETTINGS.retryDelaysSeconds] });
    for (const queue of resourcesOf(stack, 'AWS::SQS::Queue')) expect(queue.DeletionPolicy).toBe('Delete');
    for (const table of resourcesOf(stack, 'AWS::DynamoDB::Table')) expect(table.DeletionPolicy).toBe('Delete');
  });

  it('the receiver is a public function URL the driver subscribes; the driver reaches the API, the tokens and the DLQ', () => {
    const urls = resourcesOf(stack, 'AWS::Lambda::Url');
    expect(urls).toHaveLength(1);
    expect(urls[0]!.Properties.AuthType).toBe('NONE');
    const env = driverEnvironment();
    expect(flatten(env.RECEIVER_URL)).toMatch(/^<Receiver\w*\.FunctionUrl>$/);
    expect(flatten(env.DLQ_ARN)).toMatch(/^<HooklineQueuesDeliveriesDlq\w*\.Arn>$/);
    expect(flatten(env.TOKENS_TABLE)).toMatch(/^<HooklineTablesTokens\w*>$/);
    expect(env.MAX_ATTEMPTS).toBe(String(INTEG_SETTINGS.maxAttempts));
    expect(env.EVENT_TYPE).toBe(INTEG_SETTINGS.eventCatalog[0]);
    // The redrive: StartMessageMoveTask on the deliveries DLQ, SendMessage back on the deliveries queue.
    const statements = resourcesOf(stack, 'AWS::IAM::Policy')
      .filter((p) => JSON.stringify(p.Properties.Roles).includes('DriverServiceRole'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const on = (action: string) => statements.filter((s) => ([] as string[]).concat(s.Action).includes(action)).map((s) => flatten(s.Resource));
    expect(on('sqs:StartMessageMoveTask')).toEqual([expect.stringMatching(/^<HooklineQueuesDeliveriesDlq\w*\.Arn>$/)]);
    expect(on('sqs:SendMessage')).toEqual([expect.stringMatching(/^<HooklineQueuesDeliveries(?!Dlq)\w*\.Arn>$/)]);
  });

  it('asserts start, then polls the check until it answers PASS (signed delivery, retry and redrive)', () => {
    const calls = resourcesOf(assertions, 'Custom::DeployAssert@SdkCallLambdainvoke').map((r) => ({
      payload: JSON.parse(r.Properties.parameters.Payload.replace(/^"|"$/g, '').replace(/\\"/g, '"')),
      expected: JSON.parse(r.Properties.expected),
      waits: r.Properties.stateMachineArn !== undefined,
    }));
    expect(calls).toMatchSnapshot();
    expect(calls).toEqual(
      expect.arrayContaining([
        { payload: { action: 'start' }, expected: { $ObjectLike: { StatusCode: 200 } }, waits: false },
        { payload: { action: 'check' }, expected: { $ObjectLike: { Payload: '"PASS"' } }, waits: true },
      ]),
    );
    // The poll: a Step Functions waiter with the configured interval and total time.
    const machines = resourcesOf(assertions, 'AWS::StepFunctions::StateMachine');
    expect(machines).toHaveLength(1);
    const definition = JSON.stringify(machines[0]!.Properties.DefinitionString);
    expect(definition).toContain(`IntervalSeconds\\":${INTEG_WAIT.interval.toSeconds()}`);
    expect(definition).toContain(`MaxAttempts\\":${INTEG_WAIT.totalTimeout.toSeconds() / INTEG_WAIT.interval.toSeconds()}`);
  });
});
