import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StoreConfig } from './store';
import { serveWorker } from './worker';

/**
 * The loopback AWS stand-in of sections 1 and 2: one HTTP server that answers the few DynamoDB (JSON 1.0),
 * Secrets Manager and SQS (JSON 1.1) operations a dispatcher or a fan-out makes, as fast as a server can, so
 * the SDK's real path (middleware stack, serialisation, SigV4, node:http) runs in the dispatcher
 * process and the store costs next to nothing in its own. Items of the subscriptions table are
 * answered from the configuration; writes are counted, not kept: the claim answers a first claim,
 * which is what every delivery of the benchmark is. Also a UDP sink for X-Ray segments.
 */
const config = JSON.parse(readFileSync(process.env.BENCH_STORE_CONFIG_FILE as string, 'utf8')) as StoreConfig;
const subscriptions = new Map<string, string>();
for (const item of config.subscriptionItems) {
  subscriptions.set(`${item.fleetId?.S}\0${item.id?.S}`, JSON.stringify({ Item: item }));
}
/** Each fleet's items oldest first (ids are ULIDs), for the fan-out's paged Query. */
const fleets = new Map<string, { id: string; json: string }[]>();
for (const item of config.subscriptionItems) {
  const fleet = fleets.get(String(item.fleetId?.S)) ?? [];
  fleet.push({ id: String(item.id?.S), json: JSON.stringify(item) });
  fleets.set(String(item.fleetId?.S), fleet);
}
for (const fleet of fleets.values()) fleet.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
let calls = new Map<string, number>();
/** Entries received in SendMessageBatch calls, since the last reset. */
let batchEntries = 0;
let segments = 0;

function answer(target: string, input: Record<string, unknown>): unknown {
  switch (target) {
    case 'DynamoDB_20120810.GetItem': {
      if (input.TableName !== config.subscriptionsTable) return {};
      const key = input.Key as Record<string, { S?: string }>;
      return subscriptions.get(`${key.fleetId?.S}\0${key.id?.S}`) ?? {};
    }
    case 'DynamoDB_20120810.UpdateItem': {
      if (input.TableName === config.subscriptionsTable && input.UpdateExpression === 'SET lastTriggeredAt = :at') {
        // Kept, as DynamoDB would: the next read shows it, so the dispatcher writes it once a minute.
        const key = input.Key as Record<string, { S?: string }>;
        const id = `${key.fleetId?.S}\0${key.id?.S}`;
        const stored = subscriptions.get(id);
        if (stored !== undefined) {
          const item = (JSON.parse(stored) as { Item: Record<string, unknown> }).Item;
          item.lastTriggeredAt = (input.ExpressionAttributeValues as Record<string, unknown>)[':at'];
          subscriptions.set(id, JSON.stringify({ Item: item }));
        }
        return {};
      }
      // A claim reads its round number back; a failure on the subscription the state it leaves.
      const values = (input.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
      if (input.ReturnValues === 'UPDATED_NEW') return { Attributes: { rounds: { N: '1' } } };
      if (input.ReturnValues === 'ALL_NEW') return { Attributes: { failingSince: values[':now'], consecutiveFailures: { N: '1' } } };
      return {};
    }
    case 'DynamoDB_20120810.PutItem':
      return {};
    case 'DynamoDB_20120810.Query':
      return queryPage(input);
    case 'secretsmanager.GetSecretValue': {
      const value = config.secrets[String(input.SecretId)];
      if (value === undefined) throw Object.assign(new Error('secret not found'), { type: 'ResourceNotFoundException' });
      return { ARN: input.SecretId, VersionId: input.VersionId ?? 'v1', SecretString: value };
    }
    case 'AmazonSQS.SendMessage':
      return { MessageId: 'bench', MD5OfMessageBody: '00000000000000000000000000000000' };
    case 'AmazonSQS.SendMessageBatch': {
      // The SDK checks each body's MD5, as it would against SQS.
      const entries = (input.Entries ?? []) as { Id: string; MessageBody: string }[];
      batchEntries += entries.length;
      const successful = entries.map((entry) => ({
        Id: entry.Id,
        MessageId: 'bench',
        MD5OfMessageBody: createHash('md5').update(entry.MessageBody, 'utf8').digest('hex'),
      }));
      return { Successful: successful, Failed: [] };
    }
    default:
      throw Object.assign(new Error(`the benchmark store has no answer for ${target}`), { type: 'UnknownOperationException' });
  }
}

/** One page of a fleet's subscriptions (KeyConditionExpression fleetId = :fleetId), as DynamoDB pages it. */
function queryPage(input: Record<string, unknown>): string {
  if (input.TableName !== config.subscriptionsTable) return '{"Items":[],"Count":0,"ScannedCount":0}';
  const fleetId = String(((input.ExpressionAttributeValues ?? {}) as Record<string, { S?: string }>)[':fleetId']?.S);
  const fleet = fleets.get(fleetId) ?? [];
  const after = (input.ExclusiveStartKey as Record<string, { S?: string }> | undefined)?.id?.S;
  const start = after === undefined ? 0 : fleet.findIndex((item) => item.id > after);
  const limit = typeof input.Limit === 'number' ? input.Limit : fleet.length;
  const page = start < 0 ? [] : fleet.slice(start, start + limit);
  const last = page.at(-1);
  const more = last !== undefined && start + page.length < fleet.length;
  const lastKey = more ? `,"LastEvaluatedKey":${JSON.stringify({ fleetId: { S: fleetId }, id: { S: last.id } })}` : '';
  return `{"Items":[${page.map((item) => item.json).join(',')}],"Count":${page.length},"ScannedCount":${page.length}${lastKey}}`;
}

function handle(request: IncomingMessage, response: ServerResponse): void {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const target = String(request.headers['x-amz-target'] ?? '');
    calls.set(target, (calls.get(target) ?? 0) + 1);
    const contentType = target.startsWith('DynamoDB') ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1';
    let status = 200;
    let body: string;
    try {
      const result = answer(target, JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>);
      body = typeof result === 'string' ? result : JSON.stringify(result);
    } catch (error) {
      status = 400;
      body = JSON.stringify({ __type: (error as { type?: string }).type ?? 'InternalFailure', message: (error as Error).message });
    }
    response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': 'bench' });
    response.end(body);
  });
}

const server = createServer({ keepAliveTimeout: 60_000 }, handle);
const xray = createSocket('udp4');
xray.on('message', () => {
  segments += 1;
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
await new Promise<void>((resolve) => xray.bind(0, '127.0.0.1', resolve));

serveWorker(
  { port: (server.address() as AddressInfo).port, xrayPort: xray.address().port },
  async (body) => {
    if (body.type === 'reset') {
      calls = new Map();
      segments = 0;
      batchEntries = 0;
      return {};
    }
    return { calls: Object.fromEntries(calls), segments, batchEntries };
  },
  () => {
    server.closeAllConnections();
    server.close();
    xray.close();
    process.exit(0);
  },
);
