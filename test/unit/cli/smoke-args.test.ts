import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockAwsClient } from '../../support/aws-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { smokeTargetFromArgs } from '../../../cli/smoke';
import { writeInstanceFile } from '../../../local/instance-file';

const cloudFormation = mockAwsClient(CloudFormationClient);
const dirs: string[] = [];
afterEach(() => cloudFormation.reset());
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('npm run smoke: target', () => {
  it('a stack: the prefixed ApiUrl and EventBusName outputs, the token in its tokens table, the public receiver URL', async () => {
    cloudFormation.on(DescribeStacksCommand, { StackName: 'Shop' }).resolves({
      Stacks: [
        {
          StackName: 'Shop',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [
            { OutputKey: 'BlueApiUrl', OutputValue: 'https://abc.execute-api.eu-west-1.amazonaws.com/v1/' },
            { OutputKey: 'BlueEventBusName', OutputValue: 'shop-bus' },
            { OutputKey: 'GreenApiUrl', OutputValue: 'https://other' },
          ],
        },
      ],
    });
    const target = await smokeTargetFromArgs(
      ['--stack', 'Shop', '--output-prefix', 'Blue', '--region', 'eu-west-1', '--receiver-url', 'https://tunnel.example/hook', '--event-source', 'shop'],
      {},
    );
    expect(target).toMatchObject({
      tokens: { kind: 'stack', stack: 'Shop', outputPrefix: 'Blue', region: 'eu-west-1' },
      apiUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/v1/',
      eventBus: 'shop-bus',
      eventSource: 'shop',
      eventBridge: { region: 'eu-west-1' },
      receiverUrl: 'https://tunnel.example/hook',
      waitSeconds: 60,
    });
  });

  it('a stack without a reachable receiver URL is a usage error that says why', async () => {
    await expect(smokeTargetFromArgs(['--stack', 'Shop'], {})).rejects.toThrow(/--receiver-url is required with --stack.*127\.0\.0\.1/);
    expect(cloudFormation.calls()).toHaveLength(0);
  });

  it('a stack missing the outputs names them', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'Shop', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [] }] });
    await expect(smokeTargetFromArgs(['--stack', 'Shop', '--receiver-url', 'https://t'], {})).rejects.toThrow(/no ApiUrl \/ EventBusName outputs/);
  });

  it('local mode: the running instance of the data dir, with the local stand-in credentials', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hookline-smoke-args-'));
    dirs.push(dataDir);
    writeInstanceFile(dataDir, {
      pid: process.pid,
      apiUrl: 'http://127.0.0.1:8787',
      region: 'us-east-1',
      sqsEndpoint: 'http://127.0.0.1:1',
      eventBridgeEndpoint: 'http://127.0.0.1:2',
      eventBus: 'hookline-bus',
      queues: { eventsUrl: 'e', eventsDlqUrl: 'ed', deliveriesUrl: 'd', deliveriesDlqUrl: 'dd' },
    });
    const target = await smokeTargetFromArgs(['--wait', '5'], { HOOKLINE_DATA_DIR: dataDir });
    expect(target).toMatchObject({
      tokens: { kind: 'local', dataDir },
      apiUrl: 'http://127.0.0.1:8787',
      eventBus: 'hookline-bus',
      eventSource: 'hookline',
      eventBridge: { endpoint: 'http://127.0.0.1:2', region: 'us-east-1' },
      waitSeconds: 5,
    });
    expect(target.receiverUrl).toBeUndefined();
  });

  it('rejects a bad --wait or --receiver-port', async () => {
    await expect(smokeTargetFromArgs(['--wait', '0'], {})).rejects.toThrow(/--wait/);
    await expect(smokeTargetFromArgs(['--receiver-port', '70000'], {})).rejects.toThrow(/--receiver-port/);
  });
});
