import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ENV } from '../../lambdas/shared/environment';
import { readEnvironment, readSettings } from '../../lambdas/shared/environment';
import { createDocumentClient, createSecretsClient, createSqsClient } from '../../lambdas/shared/clients';
import { EVENTS_MAX_RECEIVE_COUNT as DEPLOYED_EVENTS_MAX_RECEIVE_COUNT } from '../../lib/queues';
import { EVENTS_MAX_RECEIVE_COUNT } from '../../local/queues';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { temporaryDirectory } from './local-support';

const started: LocalRuntime[] = [];
const originalEnv = { ...process.env };

afterEach(async () => {
  await Promise.all(started.splice(0).map((runtime) => runtime.stop()));
  for (const key of Object.keys(process.env)) if (!(key in originalEnv)) delete process.env[key];
  Object.assign(process.env, originalEnv);
  vi.restoreAllMocks();
});

async function start(options: Parameters<typeof startLocalRuntime>[0] = {}): Promise<LocalRuntime> {
  const runtime = await startLocalRuntime(options);
  started.push(runtime);
  return runtime;
}

describe('local runtime', () => {
  it('starts quickly on loopback ports and describes itself in the handlers environment', async () => {
    const before = Date.now();
    const runtime = await start({ settings: { maxAttempts: 4, eventSource: 'acme' }, secretPrefix: 'hookline/dev/', region: 'ap-southeast-2' });
    expect(Date.now() - before).toBeLessThan(2_000);

    for (const endpoint of Object.values(runtime.endpoints)) expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(new Set(Object.values(runtime.endpoints)).size).toBe(4);

    const environment = readEnvironment(Object.keys(ENV) as (keyof typeof ENV)[], runtime.env);
    expect(environment).toMatchObject({
      subscriptionsTable: runtime.tables.subscriptions,
      eventsTable: runtime.tables.events,
      deliveriesTable: runtime.tables.deliveries,
      tokensTable: runtime.tables.tokens,
      eventsQueueUrl: runtime.queues.eventsUrl,
      deliveriesQueueUrl: runtime.queues.deliveriesUrl,
      sealingKeySecret: 'hookline/dev/sealing-key',
    });
    expect(readSettings(runtime.env)).toEqual(runtime.settings);
    expect(runtime.settings).toMatchObject({ maxAttempts: 4, eventSource: 'acme' });
    expect(runtime.env).toMatchObject({
      AWS_REGION: 'ap-southeast-2',
      AWS_ENDPOINT_URL_DYNAMODB: runtime.endpoints.dynamodb,
      AWS_ENDPOINT_URL_SQS: runtime.endpoints.sqs,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: runtime.endpoints.secretsManager,
      AWS_ENDPOINT_URL_EVENTBRIDGE: runtime.endpoints.eventBridge,
    });
    expect(runtime.env.AWS_ACCESS_KEY_ID).toBeTruthy();
    expect(runtime.env.AWS_SECRET_ACCESS_KEY).toBeTruthy();
    expect(runtime.tables).toEqual({
      subscriptions: 'hookline-Subscriptions',
      events: 'hookline-Events',
      deliveries: 'hookline-Deliveries',
      tokens: 'hookline-Tokens',
      inboundSources: 'hookline-InboundSources',
    });
  });

  it('deploys the construct redrive settings: events DLQ after 5, deliveries DLQ after deliveriesMaxReceiveCount (not maxAttempts)', async () => {
    const runtime = await start({ settings: { maxAttempts: 4, deliveriesMaxReceiveCount: 7 }, queueVisibilitySeconds: { events: 2, deliveries: 3 } });
    const sqs = new SQSClient({ endpoint: runtime.endpoints.sqs, region: runtime.region, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    try {
      const policy = async (url: string) =>
        (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['RedrivePolicy', 'VisibilityTimeout'] }))).Attributes;
      const events = await policy(runtime.queues.eventsUrl);
      expect(JSON.parse(events!.RedrivePolicy!)).toEqual({ deadLetterTargetArn: runtime.queues.eventsDlqArn, maxReceiveCount: 5 });
      expect(events!.VisibilityTimeout).toBe('2');
      const deliveries = await policy(runtime.queues.deliveriesUrl);
      expect(JSON.parse(deliveries!.RedrivePolicy!)).toEqual({ deadLetterTargetArn: runtime.queues.deliveriesDlqArn, maxReceiveCount: 7 });
      expect(deliveries!.VisibilityTimeout).toBe('3');
      expect(EVENTS_MAX_RECEIVE_COUNT).toBe(DEPLOYED_EVENTS_MAX_RECEIVE_COUNT);
    } finally {
      sqs.destroy();
    }
  });

  it('points SDK clients created without an endpoint, like the handlers ones, at the stand-ins', async () => {
    const runtime = await start();
    process.env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = 'true';
    runtime.applyEnv();
    const warn = vi.spyOn(console, 'warn');

    const documents = createDocumentClient();
    const sqs = createSqsClient();
    const secrets = createSecretsClient();
    const dynamodb = new DynamoDBClient({});
    const events = new EventBridgeClient({});
    try {
      expect((await dynamodb.send(new ListTablesCommand({}))).TableNames).toContain(runtime.tables.events);
      await documents.send(new PutCommand({ TableName: runtime.tables.tokens, Item: { id: 'tok_1', fleets: ['*'] } }));
      expect((await documents.send(new GetCommand({ TableName: runtime.tables.tokens, Key: { id: 'tok_1' } }))).Item).toEqual({ id: 'tok_1', fleets: ['*'] });

      await sqs.send(new SendMessageCommand({ QueueUrl: runtime.queues.deliveriesUrl, MessageBody: 'direct' }));
      const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: runtime.queues.deliveriesUrl, WaitTimeSeconds: 1 }));
      expect(received.Messages?.[0]?.Body).toBe('direct');

      const { ARN } = await secrets.send(new CreateSecretCommand({ Name: 'hookline/local/f/wh', SecretString: 's' }));
      expect((await secrets.send(new GetSecretValueCommand({ SecretId: ARN }))).SecretString).toBe('s');

      const put = await events.send(
        new PutEventsCommand({
          Entries: [{ EventBusName: runtime.eventBus.name, Source: 'hookline', DetailType: 'thread.completed', Detail: '{"fleetId":"f","data":{}}' }],
        }),
      );
      expect(put.FailedEntryCount).toBe(0);
      const routed = await sqs.send(new ReceiveMessageCommand({ QueueUrl: runtime.queues.eventsUrl, WaitTimeSeconds: 1 }));
      expect(JSON.parse(routed.Messages?.[0]?.Body ?? '{}')).toMatchObject({ source: 'hookline', 'detail-type': 'thread.completed' });

      // The SQS client sends to its QueueUrl's origin when that differs from its endpoint, warning each time.
      expect(warn).not.toHaveBeenCalled();
    } finally {
      for (const client of [documents, sqs, secrets, dynamodb, events]) client.destroy();
    }
  });

  it('keeps tables, secrets and queued messages across a restart with a data directory', async () => {
    const directory = await temporaryDirectory();
    try {
      const first = await startLocalRuntime({ dataDir: directory.path });
      const config = (endpoint: string) => ({ endpoint, region: first.region, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
      let documents = createDocumentClientAt(first.endpoints.dynamodb, config);
      let secrets = new SecretsManagerClient(config(first.endpoints.secretsManager));
      let sqs = new SQSClient(config(first.endpoints.sqs));
      await documents.send(new PutCommand({ TableName: first.tables.subscriptions, Item: { fleetId: 'f1', id: 'wh_1', url: 'https://example.com' } }));
      const { ARN } = await secrets.send(new CreateSecretCommand({ Name: 'hookline/local/f1/wh_1', SecretString: '{"current":"whsec_x"}' }));
      await sqs.send(new SendMessageCommand({ QueueUrl: first.queues.deliveriesUrl, MessageBody: 'waiting' }));
      await sqs.send(new SendMessageCommand({ QueueUrl: first.queues.deliveriesUrl, MessageBody: 'retry later', DelaySeconds: 900 }));
      for (const client of [documents, secrets, sqs]) client.destroy();
      await first.stop();

      const second = await start({ dataDir: directory.path });
      documents = createDocumentClientAt(second.endpoints.dynamodb, config);
      secrets = new SecretsManagerClient(config(second.endpoints.secretsManager));
      sqs = new SQSClient(config(second.endpoints.sqs));
      try {
        const item = await documents.send(new GetCommand({ TableName: second.tables.subscriptions, Key: { fleetId: 'f1', id: 'wh_1' } }));
        expect(item.Item).toEqual({ fleetId: 'f1', id: 'wh_1', url: 'https://example.com' });
        expect((await secrets.send(new GetSecretValueCommand({ SecretId: ARN }))).SecretString).toBe('{"current":"whsec_x"}');
        const attributes = await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: second.queues.deliveriesUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed'] }),
        );
        expect(attributes.Attributes).toMatchObject({ ApproximateNumberOfMessages: '1', ApproximateNumberOfMessagesDelayed: '1' });
      } finally {
        for (const client of [documents, secrets, sqs]) client.destroy();
      }
    } finally {
      await Promise.all(started.splice(0).map((runtime) => runtime.stop()));
      await directory.remove();
    }
  });

  it('keeps nothing without a data directory', async () => {
    const first = await start();
    const documents = createDocumentClientAt(first.endpoints.dynamodb, (endpoint) => ({ endpoint, region: first.region, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }));
    await documents.send(new PutCommand({ TableName: first.tables.tokens, Item: { id: 'tok_gone' } }));
    documents.destroy();
    await first.stop();
    const second = await start();
    const again = createDocumentClientAt(second.endpoints.dynamodb, (endpoint) => ({ endpoint, region: second.region, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }));
    try {
      expect((await again.send(new GetCommand({ TableName: second.tables.tokens, Key: { id: 'tok_gone' } }))).Item).toBeUndefined();
    } finally {
      again.destroy();
    }
  });

  it('stops idempotently and closes every port', async () => {
    const runtime = await start();
    await Promise.all([runtime.stop(), runtime.stop()]);
    await runtime.stop();
    for (const endpoint of Object.values(runtime.endpoints)) {
      await expect(fetch(endpoint, { method: 'POST', body: '{}' })).rejects.toThrow();
    }
  });

  it('refuses a second runtime on a data directory in use, and leaves nothing open', async () => {
    const directory = await temporaryDirectory();
    try {
      const first = await start({ dataDir: directory.path });
      const refused = Date.now();
      await expect(startLocalRuntime({ dataDir: directory.path })).rejects.toThrow(/in use by another Hookline local runtime \(process \d+\)/);
      expect(Date.now() - refused).toBeLessThan(1_000);
      await first.stop();
      // Released on stop: the directory opens again, with what the first runtime wrote.
      const second = await start({ dataDir: directory.path });
      expect(second.tables.events).toBe('hookline-Events');
      await second.stop();
    } finally {
      await directory.remove();
    }
  });
});

function createDocumentClientAt(
  endpoint: string,
  config: (endpoint: string) => { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } },
) {
  return DynamoDBDocumentClient.from(new DynamoDBClient(config(endpoint)));
}
