import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createApi } from '../../../lambdas/api/api';
import { proxyEvent as buildProxyEvent } from '../../support/proxy-event';
import type { ApiDeps } from '../../../lambdas/api/deps';
import type { Resolver } from '../../../lambdas/api/endpoint-check';
import { newSubscriptionId, newTokenId } from '../../../lambdas/core/ids';
import type { SubscriptionRecord, TokenRecord } from '../../../lambdas/core/records';
import { formatApiToken, generateApiTokenSecret, hashTokenSecret } from '../../../lambdas/core/secrets';
import { parseDeploymentSettings, type DeploymentSettingsInput } from '../../../lambdas/core/settings';
import { DeliveriesStore } from '../../../lambdas/shared/deliveries-store';
import { DeliveryLog } from '../../../lambdas/shared/delivery-log';
import { EventLog } from '../../../lambdas/shared/event-log';
import { EventsStore } from '../../../lambdas/shared/events-store';
import { SubscriptionsStore } from '../../../lambdas/shared/subscriptions-store';
import { TokensStore } from '../../../lambdas/shared/tokens-store';
import { sealedSecrets, TEST_KEY_RING_JSON, TEST_SEALING_KEY_ARN, testSigningSecrets } from '../../support/sealing-key';

export const TABLES = { subscriptions: 'subs', events: 'events', deliveries: 'deliveries', tokens: 'tokens' };
export const QUEUES = {
  eventsUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/events',
  deliveriesUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/deliveries',
};
export const FLEET = 'fleet-a';
export const OTHER_FLEET = 'fleet-b';
export const NOW = new Date('2024-05-10T12:00:00.000Z');
/** The key ring secret the API reads (mocked to answer the test key ring). */
export const SECRET_ARN = TEST_SEALING_KEY_ARN;

/** Public addresses for example hosts, private ones for the SSRF cases, NXDOMAIN otherwise. */
export const fakeResolver: Resolver = async (hostname) => {
  const table: Record<string, string[]> = {
    'example.com': ['93.184.216.34'],
    'hooks.example.com': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
    'internal.example.com': ['10.0.0.5'],
    'mixed.example.com': ['93.184.216.34', '127.0.0.1'],
    'metadata.example.com': ['169.254.169.254'],
  };
  const answers = table[hostname];
  if (answers === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

export function makeToken(fleets: string[]): { token: string; record: TokenRecord } {
  const id = newTokenId();
  const secret = generateApiTokenSecret();
  return {
    token: formatApiToken(id, secret),
    record: { id, secretHash: hashTokenSecret(secret), fleets, createdAt: NOW.toISOString() },
  };
}

/** A subscription record whose secret is sealed, under the test key ring, for its own fleet and id. */
export function subscription(overrides: Partial<SubscriptionRecord> = {}): SubscriptionRecord {
  const fleetId = overrides.fleetId ?? FLEET;
  const id = overrides.id ?? newSubscriptionId(NOW.getTime());
  return {
    fleetId,
    id,
    url: 'https://example.com/hook',
    enabled: true,
    ...sealedSecrets(fleetId, id),
    createdAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
    ...overrides,
  };
}

export interface CallOptions {
  body?: unknown;
  /** Sent as is (for malformed JSON cases). */
  rawBody?: string;
  headers?: Record<string, string>;
  query?: Record<string, string | string[]>;
  /** `null` sends no Authorization header. */
  token?: string | null;
}

export interface CallResult {
  status: number;
  headers: Record<string, string>;
  body: any;
  raw: string;
}

export interface LogLine {
  level: 'info' | 'error';
  message: string;
  attributes: Record<string, unknown>;
}

export function proxyEvent(method: string, path: string, options: CallOptions & { authorization?: string } = {}): APIGatewayProxyEvent {
  const { token: _token, ...eventOptions } = options;
  return buildProxyEvent(method, path, { ...eventOptions, requestId: 'req-test-1' });
}

/**
 * The API over the real stores, with the AWS SDK clients mocked (aws-sdk-client-mock). A token
 * granting FLEET is registered; tests add the table answers each route needs.
 */
export function createHarness(options: { settings?: DeploymentSettingsInput; deps?: Partial<ApiDeps>; fleets?: string[] } = {}) {
  const ddb = mockClient(DynamoDBDocumentClient);
  const sqs = mockClient(SQSClient);
  const sm = mockClient(SecretsManagerClient);
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', credentials }), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const sqsClient = new SQSClient({ region: 'us-east-1', credentials });
  const secretsClient = new SecretsManagerClient({ region: 'us-east-1', credentials });
  const { token, record: tokenRecord } = makeToken(options.fleets ?? [FLEET]);
  ddb.on(GetCommand, { TableName: TABLES.tokens, Key: { id: tokenRecord.id } }).resolves({ Item: tokenRecord });
  sm.on(GetSecretValueCommand, { SecretId: TEST_SEALING_KEY_ARN }).resolves({ SecretString: TEST_KEY_RING_JSON, VersionId: 'kv-1' });
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
  sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
    Successful: input.Entries.map((entry) => ({ Id: entry.Id, MessageId: `m-${entry.Id}`, MD5OfMessageBody: '' })),
    Failed: [],
  }));

  const logs: LogLine[] = [];
  const settings = parseDeploymentSettings({ allowPrivateTargets: false, ...options.settings });
  const api = createApi({
    settings,
    subscriptions: new SubscriptionsStore(doc, TABLES.subscriptions),
    events: new EventsStore(doc, TABLES.events),
    deliveries: new DeliveriesStore(doc, TABLES.deliveries),
    eventLog: new EventLog(doc, TABLES.events),
    deliveryLog: new DeliveryLog(doc, TABLES.deliveries),
    tokens: new TokensStore(doc, TABLES.tokens),
    secrets: testSigningSecrets(secretsClient),
    sqs: sqsClient,
    queues: QUEUES,
    logger: {
      info: (message, attributes) => logs.push({ level: 'info', message, attributes }),
      error: (message, attributes) => logs.push({ level: 'error', message, attributes }),
    },
    now: () => NOW,
    resolve: fakeResolver,
    ...options.deps,
  });

  async function call(method: string, path: string, callOptions: CallOptions = {}): Promise<CallResult> {
    const authorization = callOptions.token === null ? undefined : `Bearer ${callOptions.token ?? token}`;
    const result = await api(proxyEvent(method, path, { ...callOptions, ...(authorization ? { authorization } : {}) }), {
      awsRequestId: 'aws-req-1',
    });
    const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([name, value]) => [name, String(value)]));
    // The console's HTML and assets are the only bodies that are not JSON.
    const json = result.body !== '' && !/^text\/(html|css|javascript)/.test(headers['content-type'] ?? '');
    return { status: result.statusCode, headers, raw: result.body, body: json ? JSON.parse(result.body) : undefined };
  }

  /** Parsed bodies of every message sent to a queue, single and batched. */
  function sent(queueUrl: string): any[] {
    const single = sqs
      .commandCalls(SendMessageCommand)
      .filter((c) => c.args[0].input.QueueUrl === queueUrl)
      .map((c) => JSON.parse(c.args[0].input.MessageBody as string));
    const batched = sqs
      .commandCalls(SendMessageBatchCommand)
      .filter((c) => c.args[0].input.QueueUrl === queueUrl)
      .flatMap((c) => (c.args[0].input.Entries ?? []).map((entry) => JSON.parse(entry.MessageBody as string)));
    return [...single, ...batched];
  }

  function restore(): void {
    ddb.restore();
    sqs.restore();
    sm.restore();
  }

  return { api, ddb, sqs, sm, call, sent, token, tokenRecord, logs, settings, restore };
}

export type Harness = ReturnType<typeof createHarness>;
