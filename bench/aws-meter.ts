import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { request } from 'undici';
import type { TableSchema } from '../lambdas/core/table-schema';
import { failedWriteCost, itemSize, readUnits, writeCost, type Item, type WriteCost } from './dynamo-capacity';

/**
 * A metering proxy in front of the local AWS stand-ins: the handlers' SDK clients are pointed at
 * it with the SDK's own AWS_ENDPOINT_URL_* variables, it forwards every request unchanged and
 * counts what AWS would bill — calls per operation, DynamoDB request units (reading each written
 * item before and after the write, so index writes are counted too), and SQS requests in 64 KB
 * payload chunks. Handler code is untouched.
 */

export interface Upstreams {
  dynamodb: string;
  sqs: string;
  secretsManager: string;
}

export interface MeterCounts {
  /** Calls per `<service>.<operation>`, e.g. `dynamodb.UpdateItem`. */
  calls: Record<string, number>;
  dynamoReadUnits: number;
  dynamoWriteUnits: number;
  /** Write units by target: `table:<name>` and `index:<name>`. */
  dynamoWriteUnitsBy: Record<string, number>;
  /** SQS requests as billed: each 64 KB of a sent payload is one request. */
  sqsBilledRequests: number;
  secretsCalls: number;
}

export interface AwsMeter {
  endpoints: Upstreams;
  snapshot(): MeterCounts;
  reset(): void;
  close(): Promise<void>;
}

const SQS_CHUNK_BYTES = 64 * 1024;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);
const WRITE_OPERATIONS = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);

export async function startAwsMeter(upstreams: Upstreams, tables: Map<string, TableSchema>, region: string): Promise<AwsMeter> {
  let counts = emptyCounts();
  // Unmetered: the meter's own before/after reads.
  const reader = new DynamoDBClient({ region, endpoint: upstreams.dynamodb, credentials: { accessKeyId: 'meter', secretAccessKey: 'meter' } });
  const locks = new Map<string, Promise<void>>();

  const count = (name: string) => {
    counts.calls[name] = (counts.calls[name] ?? 0) + 1;
  };
  const readItem = async (tableName: string, key: Item): Promise<Item | undefined> =>
    (await reader.send(new GetItemCommand({ TableName: tableName, Key: key, ConsistentRead: true }))).Item;

  const dynamo: Meter = async (operation, body, forward) => {
    count(`dynamodb.${operation}`);
    const input = JSON.parse(body) as DynamoInput;
    if (!WRITE_OPERATIONS.has(operation)) {
      const answer = await forward();
      if (answer.status === 200 && (operation === 'GetItem' || operation === 'Query')) {
        const output = JSON.parse(answer.body.toString('utf8')) as { Item?: Item; Items?: Item[] };
        const bytes = operation === 'GetItem' ? (output.Item === undefined ? 0 : itemSize(output.Item)) : (output.Items ?? []).reduce((sum, item) => sum + itemSize(item), 0);
        // Index reads are always eventually consistent.
        counts.dynamoReadUnits += readUnits(bytes, input.ConsistentRead === true && input.IndexName === undefined);
      }
      return answer;
    }
    const schema = tables.get(input.TableName);
    if (schema === undefined) throw new Error(`the meter knows no table ${input.TableName}`);
    const key = keyOf(schema, input);
    // One write per item at a time, so its before/after reads see only its own change.
    const lockKey = `${input.TableName}\n${JSON.stringify(key)}`;
    const previous = locks.get(lockKey) ?? Promise.resolve();
    let release = () => {};
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const chained = previous.then(() => mine);
    locks.set(lockKey, chained);
    await previous;
    try {
      const before = await readItem(input.TableName, key);
      const answer = await forward();
      let cost: WriteCost;
      if (answer.status === 200) cost = writeCost(schema, before, await readItem(input.TableName, key));
      else if (answer.body.toString('utf8').includes('ConditionalCheckFailedException')) cost = failedWriteCost(before, input.Item);
      else cost = { table: 0, indexes: {} };
      add(counts.dynamoWriteUnitsBy, `table:${schema.logicalName}`, cost.table);
      counts.dynamoWriteUnits += cost.table;
      for (const [index, units] of Object.entries(cost.indexes)) {
        add(counts.dynamoWriteUnitsBy, `index:${index}`, units);
        counts.dynamoWriteUnits += units;
      }
      return answer;
    } finally {
      release();
      if (locks.get(lockKey) === chained) locks.delete(lockKey);
    }
  };

  let sqsServer: Proxy | undefined;
  const sqs: Meter = async (operation, body, forward) => {
    if (sqsServer === undefined) throw new Error('the SQS meter is not listening yet');
    count(`sqs.${operation}`);
    const input = JSON.parse(body) as { MessageBody?: string; Entries?: { MessageBody?: string }[] };
    const payload =
      operation === 'SendMessage'
        ? Buffer.byteLength(input.MessageBody ?? '')
        : operation === 'SendMessageBatch'
          ? (input.Entries ?? []).reduce((sum, entry) => sum + Buffer.byteLength(entry.MessageBody ?? ''), 0)
          : 0;
    counts.sqsBilledRequests += Math.max(1, Math.ceil(payload / SQS_CHUNK_BYTES));
    // Queue URLs handed to the handlers point at the meter; the stand-in knows them by its own origin.
    return forward(body.replaceAll(sqsServer.url, upstreams.sqs));
  };

  const secrets: Meter = async (operation, _body, forward) => {
    count(`secretsmanager.${operation}`);
    counts.secretsCalls += 1;
    return forward();
  };

  const servers = await Promise.all([
    startProxy(upstreams.dynamodb, dynamo),
    startProxy(upstreams.sqs, sqs),
    startProxy(upstreams.secretsManager, secrets),
  ]);
  const [dynamoServer, sqsProxy, secretsServer] = servers as [Proxy, Proxy, Proxy];
  sqsServer = sqsProxy;
  return {
    endpoints: { dynamodb: dynamoServer.url, sqs: sqsProxy.url, secretsManager: secretsServer.url },
    snapshot: () => structuredClone(counts),
    reset: () => {
      counts = emptyCounts();
    },
    close: async () => {
      reader.destroy();
      await Promise.all(servers.map((server) => server.close()));
    },
  };
}

interface DynamoInput {
  TableName: string;
  Key?: Item;
  Item?: Item;
  ConsistentRead?: boolean;
  IndexName?: string;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/** Counts one request; `forward` sends it (or a rewritten body) on and returns the upstream's answer. */
type Meter = (operation: string, body: string, forward: (body?: string) => Promise<Answer>) => Promise<Answer>;

interface Proxy {
  url: string;
  close(): Promise<void>;
}

function emptyCounts(): MeterCounts {
  return { calls: {}, dynamoReadUnits: 0, dynamoWriteUnits: 0, dynamoWriteUnitsBy: {}, sqsBilledRequests: 0, secretsCalls: 0 };
}

function add(target: Record<string, number>, key: string, value: number): void {
  target[key] = (target[key] ?? 0) + value;
}

function keyOf(schema: TableSchema, input: DynamoInput): Item {
  const source = input.Key ?? input.Item ?? {};
  const key: Record<string, AttributeValue> = {};
  for (const attribute of [schema.partitionKey, schema.sortKey]) {
    if (attribute === undefined) continue;
    const value = source[attribute.name];
    if (value === undefined) throw new Error(`a write to ${input.TableName} has no ${attribute.name}`);
    key[attribute.name] = value;
  }
  return key;
}

async function startProxy(upstream: string, meter: Meter): Promise<Proxy> {
  const server: Server = createServer((req, res) => {
    handle(upstream, meter, req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`meter: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(upstream: string, meter: Meter, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const target = String(req.headers['x-amz-target'] ?? '');
  const operation = target.slice(target.lastIndexOf('.') + 1) || 'unknown';
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && name !== 'host') headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const forward = async (rewritten?: string): Promise<Answer> => {
    const sent = rewritten === undefined ? body : Buffer.from(rewritten);
    if (rewritten !== undefined) headers['content-length'] = String(sent.length);
    const answer = await request(`${upstream}${req.url ?? '/'}`, { method: (req.method ?? 'POST') as 'POST', headers, body: sent });
    const responseHeaders: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) responseHeaders[name] = value;
    }
    return { status: answer.statusCode, headers: responseHeaders, body: Buffer.from(await answer.body.arrayBuffer()) };
  };
  const answer = await meter(operation, body.toString('utf8'), forward);
  res.writeHead(answer.status, { ...answer.headers, 'content-length': String(answer.body.length) });
  res.end(answer.body);
}
