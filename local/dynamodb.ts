import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  ScanCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  type AttributeDefinition,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type AttributeValue,
  type KeySchemaElement,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { IndexSchema, KeyAttribute, TableSchema } from '../lambdas/core/table-schema';
import { closeServer, listenOnLoopback } from './listen';

export interface DynamoDbStandIn {
  /** `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_DYNAMODB`. */
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * DynamoDB on dynalite, in process, on a free loopback port: in memory, or in the LevelDB directory
 * `path` so tables and items survive a restart. dynalite has no UpdateTimeToLive,
 * TransactWriteItems or PartiQL; Hookline uses none of them at run time.
 */
export async function startDynamoDb(options: { path?: string } = {}): Promise<DynamoDbStandIn> {
  const server = dynalite({
    ...(options.path === undefined ? {} : { path: options.path }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const endpoint = await listenOnLoopback(server);
  return { endpoint, close: () => closeServer(server) };
}

/** Table name of a schema: `<namePrefix>-<logicalName>`. */
export function tableName(namePrefix: string, schema: TableSchema): string {
  return `${namePrefix}-${schema.logicalName}`;
}

/**
 * Creates each table of `schemas` that does not exist yet. An existing table is kept with its items
 * when its layout is the schema's. One whose indexes differ (a data directory written by an older
 * release) is rebuilt with its items, since dynalite cannot add an index to a table; one whose keys
 * differ is refused, since its items cannot be carried over.
 */
export async function ensureTables(
  client: DynamoDBClient,
  namePrefix: string,
  schemas: readonly TableSchema[],
): Promise<Map<TableSchema['logicalName'], string>> {
  const names = new Map<TableSchema['logicalName'], string>();
  for (const schema of schemas) {
    const input = createTableInput(tableName(namePrefix, schema), schema);
    // A rebuild interrupted after its table was dropped finishes first: the items wait in the holding table.
    if (await describe(client, holdingTableName(input.TableName))) await finishRebuild(client, input);
    const existing = await describe(client, input.TableName);
    if (existing === undefined) {
      try {
        await client.send(new CreateTableCommand(input));
      } catch (error) {
        if (!(error instanceof ResourceInUseException)) throw error;
      }
    } else {
      const problem = layoutDifference(input, existing);
      if (problem === 'key schema') {
        throw new Error(`Table ${input.TableName} does not match lambdas/core/table-schema.ts (${problem}); delete the local data directory to recreate it`);
      }
      if (problem !== undefined) await rebuildTable(client, input);
    }
    await waitUntilActive(client, input.TableName);
    names.set(schema.logicalName, input.TableName);
  }
  return names;
}

function holdingTableName(name: string): string {
  return `${name}-rebuild`;
}

/**
 * Gives `input.TableName` the wanted indexes, keeping every item: the items are copied to a holding
 * table with the same keys, the table is dropped and created anew, and the items are copied back.
 * Each step can be repeated, so a crash in the middle is finished by the next start.
 */
async function rebuildTable(client: DynamoDBClient, input: CreateTableCommandInput & { TableName: string }): Promise<void> {
  const holding = holdingTableName(input.TableName);
  const { GlobalSecondaryIndexes: _indexes, ...keysOnly } = input;
  await client.send(new CreateTableCommand({ ...keysOnly, TableName: holding, AttributeDefinitions: keyAttributes(input) }));
  await waitUntilActive(client, holding);
  await copyItems(client, input.TableName, holding);
  await dropTable(client, input.TableName);
  await finishRebuild(client, input);
}

async function finishRebuild(client: DynamoDBClient, input: CreateTableCommandInput & { TableName: string }): Promise<void> {
  const holding = holdingTableName(input.TableName);
  if ((await describe(client, input.TableName)) === undefined) await client.send(new CreateTableCommand(input));
  await waitUntilActive(client, input.TableName);
  await copyItems(client, holding, input.TableName);
  await dropTable(client, holding);
}

/** dynalite drops a table on a timer: the name is free again only once it no longer describes. */
async function dropTable(client: DynamoDBClient, name: string): Promise<void> {
  await client.send(new DeleteTableCommand({ TableName: name }));
  const deadline = Date.now() + ACTIVE_WAIT_MS;
  while ((await describe(client, name)) !== undefined) {
    if (Date.now() > deadline) throw new Error(`Table ${name} was not deleted within ${ACTIVE_WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The attribute definitions of the table's own keys (DynamoDB refuses definitions no key uses). */
function keyAttributes(input: CreateTableCommandInput): AttributeDefinition[] {
  const keys = new Set((input.KeySchema ?? []).map((key) => key.AttributeName));
  return (input.AttributeDefinitions ?? []).filter((definition) => keys.has(definition.AttributeName));
}

async function copyItems(client: DynamoDBClient, from: string, to: string): Promise<void> {
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: from, ExclusiveStartKey: startKey }));
    const items = page.Items ?? [];
    for (let index = 0; index < items.length; index += 25) {
      let pending: Record<string, { PutRequest: { Item: Record<string, AttributeValue> } }[]> | undefined = {
        [to]: items.slice(index, index + 25).map((item) => ({ PutRequest: { Item: item } })),
      };
      for (let round = 0; pending !== undefined && Object.keys(pending).length > 0; round += 1) {
        if (round > 20) throw new Error(`Copying items to ${to} did not finish`);
        const result = await client.send(new BatchWriteItemCommand({ RequestItems: pending }));
        pending = result.UnprocessedItems as typeof pending;
      }
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
}

const ACTIVE_WAIT_MS = 10_000;

/**
 * dynalite answers CreateTable with a CREATING table and activates it on a timer; until then every
 * item operation fails with ResourceNotFoundException, so callers must not see the table earlier.
 */
async function waitUntilActive(client: DynamoDBClient, name: string): Promise<void> {
  const deadline = Date.now() + ACTIVE_WAIT_MS;
  for (;;) {
    const table = await describe(client, name);
    const indexesActive = (table?.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE');
    if (table?.TableStatus === 'ACTIVE' && indexesActive) return;
    if (Date.now() > deadline) throw new Error(`Table ${name} did not become ACTIVE within ${ACTIVE_WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function createTableInput(name: string, schema: TableSchema): CreateTableCommandInput & { TableName: string } {
  const attributes = new Map<string, KeyAttribute['type']>();
  const keyOf = (partition: KeyAttribute, sort?: KeyAttribute): KeySchemaElement[] => {
    attributes.set(partition.name, partition.type);
    const keys: KeySchemaElement[] = [{ AttributeName: partition.name, KeyType: 'HASH' }];
    if (sort !== undefined) {
      attributes.set(sort.name, sort.type);
      keys.push({ AttributeName: sort.name, KeyType: 'RANGE' });
    }
    return keys;
  };
  const keySchema = keyOf(schema.partitionKey, schema.sortKey);
  const indexes: GlobalSecondaryIndex[] = schema.globalSecondaryIndexes.map((index: IndexSchema) => ({
    IndexName: index.indexName,
    KeySchema: keyOf(index.partitionKey, index.sortKey),
    Projection:
      index.nonKeyAttributes === undefined
        ? { ProjectionType: 'ALL' }
        : { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.nonKeyAttributes] },
  }));
  const attributeDefinitions: AttributeDefinition[] = [...attributes].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType }));
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: attributeDefinitions,
    KeySchema: keySchema,
    ...(indexes.length === 0 ? {} : { GlobalSecondaryIndexes: indexes }),
  };
}

async function describe(client: DynamoDBClient, name: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: name }))).Table;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

/** What differs between the wanted table and an existing one, or undefined when they agree. */
function layoutDifference(wanted: CreateTableCommandInput, existing: TableDescription): string | undefined {
  if (keysText(wanted.KeySchema) !== keysText(existing.KeySchema)) return 'key schema';
  const indexText = (indexes: readonly { IndexName?: string; KeySchema?: KeySchemaElement[]; Projection?: { ProjectionType?: string; NonKeyAttributes?: string[] } }[] | undefined): string =>
    (indexes ?? [])
      .map((index) => `${index.IndexName}:${keysText(index.KeySchema)}:${index.Projection?.ProjectionType}:${[...(index.Projection?.NonKeyAttributes ?? [])].sort().join(',')}`)
      .sort()
      .join(';');
  if (indexText(wanted.GlobalSecondaryIndexes) !== indexText(existing.GlobalSecondaryIndexes)) return 'global secondary indexes';
  return undefined;
}

function keysText(keys: readonly KeySchemaElement[] | undefined): string {
  return (keys ?? []).map((key) => `${key.AttributeName}/${key.KeyType}`).join(',');
}
