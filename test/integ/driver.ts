/**
 * The integration test's driver, invoked by the IntegTest assertions:
 * - `{ action: 'start' }` issues a throwaway token, subscribes the receiver twice (a delivery that
 *   fails once, and one that fails a whole round of `maxAttempts`) and publishes one event through
 *   the API; the run's secrets are kept in the receiver table for the checks.
 * - `{ action: 'check' }` answers `PASS` once the receiver has seen a signed delivery, a retry and
 *   a DLQ redrive, and a line saying what is still missing otherwise (the assertion polls it). When
 *   the exhausted delivery has reached the DLQ it starts the redrive (StartMessageMoveTask with no
 *   destination: each message goes back to the queue it came from), once.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient, StartMessageMoveTaskCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createToken } from '../../cli/tokens';
import { verify } from '../../client/verify';
import { TokensStore } from '../../lambdas/shared/tokens-store';
import type { RecordedRequest } from './receiver';

const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
const sqs = new SQSClient({});
const env = (name: string): string => process.env[name] ?? '';
const REQUEST_TIMEOUT_MS = 20_000;

interface RunRecord {
  pk: 'run';
  sk: 'current';
  run: string;
  retrySecret: string;
  exhaustSecret: string;
  redriveStarted: boolean;
}

async function api(token: string, method: string, path: string, body: unknown): Promise<any> {
  const response = await fetch(`${env('API_URL').replace(/\/+$/, '')}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

async function start(): Promise<string> {
  const run = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const fleet = `integ-${run}`;
  const { token } = await createToken(new TokensStore(doc, env('TOKENS_TABLE')), { fleets: [fleet], name: `integ ${run}` });
  const receiver = env('RECEIVER_URL').replace(/\/+$/, '');
  const subscribe = (label: string, failures: number) =>
    api(token, 'POST', `/fleets/${fleet}/webhooks`, { url: `${receiver}/r/${run}/${label}/${failures}`, events: [env('EVENT_TYPE')] }) as Promise<{
      secret: string;
    }>;
  const retry = await subscribe('retry', 1);
  const exhaust = await subscribe('exhaust', Number(env('MAX_ATTEMPTS')));
  const record: RunRecord = { pk: 'run', sk: 'current', run, retrySecret: retry.secret, exhaustSecret: exhaust.secret, redriveStarted: false };
  await doc.send(new PutCommand({ TableName: env('RECEIVER_TABLE'), Item: record }));
  await api(token, 'POST', `/fleets/${fleet}/events`, { type: env('EVENT_TYPE'), data: { run } });
  return `STARTED ${run}`;
}

async function requests(run: string, label: string): Promise<RecordedRequest[]> {
  const page = await doc.send(
    new QueryCommand({ TableName: env('RECEIVER_TABLE'), KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `req#${run}#${label}` } }),
  );
  return (page.Items ?? []) as RecordedRequest[];
}

/** An accepted request whose signature verifies with `secret` at the time it arrived. */
function signedAndAccepted(received: RecordedRequest[], secret: string): RecordedRequest | undefined {
  return received.find(
    (r) => r.status === 200 && verify(r.headers, r.body, secret, { nowSeconds: r.receivedAtSeconds, headerPrefix: env('HEADER_PREFIX') }).ok,
  );
}

async function redriveOnce(record: RunRecord): Promise<boolean> {
  if (record.redriveStarted) return true;
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: env('DLQ_URL'), AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  if (Number(attributes.Attributes?.ApproximateNumberOfMessages ?? 0) === 0) return false;
  await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: env('DLQ_ARN') }));
  await doc.send(
    new UpdateCommand({ TableName: env('RECEIVER_TABLE'), Key: { pk: 'run', sk: 'current' }, UpdateExpression: 'SET redriveStarted = :yes', ExpressionAttributeValues: { ':yes': true } }),
  );
  return true;
}

async function check(): Promise<string> {
  const got = await doc.send(new GetCommand({ TableName: env('RECEIVER_TABLE'), Key: { pk: 'run', sk: 'current' } }));
  const record = got.Item as RunRecord | undefined;
  if (record === undefined) return 'no run started';
  const retries = await requests(record.run, 'retry');
  const retried = retries.some((r) => r.status === 500) && signedAndAccepted(retries, record.retrySecret)?.seen === 2;
  const signed = signedAndAccepted(retries, record.retrySecret) !== undefined;
  const exhausted = await requests(record.run, 'exhaust');
  const roundFailed = exhausted.filter((r) => r.status === 500).length >= Number(env('MAX_ATTEMPTS'));
  const redriveStarted = roundFailed && (await redriveOnce(record));
  const redriven = redriveStarted && signedAndAccepted(exhausted, record.exhaustSecret) !== undefined;
  if (signed && retried && redriven) return 'PASS';
  return `WAITING signed=${signed} retried=${retried} roundFailed=${roundFailed} redriveStarted=${redriveStarted} redriven=${redriven}`;
}

export async function handler(event: { action?: string }): Promise<string> {
  if (event.action === 'start') return start();
  if (event.action === 'check') return check();
  throw new Error(`unknown action ${String(event.action)}`);
}
