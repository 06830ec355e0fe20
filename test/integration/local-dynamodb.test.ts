import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DELIVERIES_BY_SUBSCRIPTION_INDEX, DELIVERY_SUMMARY_ATTRIBUTES, TABLE_SCHEMAS, type TableSchema } from '../../lambdas/core/table-schema';
import { ensureTables, startDynamoDb, type DynamoDbStandIn } from '../../local/dynamodb';
import { localClientConfig } from './local-support';

let server: DynamoDbStandIn;
let client: DynamoDBClient;
let documents: DynamoDBDocumentClient;

beforeAll(async () => {
  server = await startDynamoDb();
  client = new DynamoDBClient(localClientConfig(server.endpoint));
  documents = DynamoDBDocumentClient.from(client);
});

afterAll(async () => {
  client?.destroy();
  await server?.close();
});

describe('local DynamoDB (dynalite)', () => {
  it('creates every table of the schema with its keys and indexes', async () => {
    const names = await ensureTables(client, 'ddb', TABLE_SCHEMAS);
    expect([...names.entries()]).toEqual(TABLE_SCHEMAS.map((schema) => [schema.logicalName, `ddb-${schema.logicalName}`]));

    for (const schema of TABLE_SCHEMAS) {
      const { Table: table } = await client.send(new DescribeTableCommand({ TableName: `ddb-${schema.logicalName}` }));
      expect(table?.TableStatus).toBe('ACTIVE');
      expect(table?.KeySchema).toEqual([
        { AttributeName: schema.partitionKey.name, KeyType: 'HASH' },
        ...(schema.sortKey === undefined ? [] : [{ AttributeName: schema.sortKey.name, KeyType: 'RANGE' }]),
      ]);
      const indexes = (table?.GlobalSecondaryIndexes ?? []).map((index) => ({
        name: index.IndexName,
        keys: index.KeySchema?.map((key) => `${key.AttributeName}/${key.KeyType}`),
        projection: index.Projection?.ProjectionType,
        nonKey: index.Projection?.NonKeyAttributes,
      }));
      expect(indexes).toEqual(
        schema.globalSecondaryIndexes.map((index) => ({
          name: index.indexName,
          keys: [`${index.partitionKey.name}/HASH`, ...(index.sortKey === undefined ? [] : [`${index.sortKey.name}/RANGE`])],
          projection: index.nonKeyAttributes === undefined ? 'ALL' : 'INCLUDE',
          nonKey: index.nonKeyAttributes === undefined ? undefined : [...index.nonKeyAttributes],
        })),
      );
      expect(table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    }
  });

  it('queries an INCLUDE index with only the projected attributes', async () => {
    const table = 'ddb-Deliveries';
    await documents.send(
      new PutCommand({
        TableName: table,
        Item: { id: 'dlv_1', subscriptionId: 'wh_1', createdKey: '2025-01-01T00:00:00Z#dlv_1', status: 'pending', attempts: [{ attempt: 1 }] },
      }),
    );
    const { Items } = await documents.send(
      new QueryCommand({
        TableName: table,
        IndexName: DELIVERIES_BY_SUBSCRIPTION_INDEX,
        KeyConditionExpression: 'subscriptionId = :s',
        ExpressionAttributeValues: { ':s': 'wh_1' },
      }),
    );
    expect(Items).toEqual([{ id: 'dlv_1', subscriptionId: 'wh_1', createdKey: '2025-01-01T00:00:00Z#dlv_1', status: 'pending' }]);
    expect(DELIVERY_SUMMARY_ATTRIBUTES).toContain('status');
  });

  it('keeps existing tables and their items when run again', async () => {
    await ensureTables(client, 'ddb', TABLE_SCHEMAS);
    const { TableNames } = await client.send(new ListTablesCommand({}));
    expect(TableNames?.filter((name) => name.startsWith('ddb-')).sort()).toEqual(TABLE_SCHEMAS.map((schema) => `ddb-${schema.logicalName}`).sort());
    const { Items } = await documents.send(
      new QueryCommand({
        TableName: 'ddb-Deliveries',
        IndexName: DELIVERIES_BY_SUBSCRIPTION_INDEX,
        KeyConditionExpression: 'subscriptionId = :s',
        ExpressionAttributeValues: { ':s': 'wh_1' },
      }),
    );
    expect(Items).toHaveLength(1);
  });

  it('refuses an existing table whose keys differ from the schema', async () => {
    await client.send(
      new CreateTableCommand({
        TableName: 'old-Tokens',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'tokenId', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'tokenId', KeyType: 'HASH' }],
      }),
    );
    const tokens = TABLE_SCHEMAS.find((schema) => schema.logicalName === 'Tokens') as TableSchema;
    await expect(ensureTables(client, 'old', [tokens])).rejects.toThrow(/old-Tokens does not match .*key schema/);
  });

  it('rebuilds a table whose indexes differ from the schema, keeping every item', async () => {
    const events = TABLE_SCHEMAS.find((schema) => schema.logicalName === 'Events') as TableSchema;
    // A data directory written by a release whose events table had no index at all.
    await ensureTables(client, 'older', [{ ...events, globalSecondaryIndexes: [] }]);
    const items = Array.from({ length: 60 }, (_, index) => ({ fleetId: 'f', id: `evt_${String(index).padStart(3, '0')}`, type: 't' }));
    for (const item of items) await documents.send(new PutCommand({ TableName: 'older-Events', Item: item }));

    await ensureTables(client, 'older', [events]);

    const { Table } = await client.send(new DescribeTableCommand({ TableName: 'older-Events' }));
    expect(Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName).sort()).toEqual(events.globalSecondaryIndexes.map((index) => index.indexName).sort());
    const { Items } = await documents.send(new ScanCommand({ TableName: 'older-Events' }));
    expect(Items?.map((item) => item.id).sort()).toEqual(items.map((item) => item.id));
    const { TableNames } = await client.send(new ListTablesCommand({}));
    expect(TableNames).not.toContain('older-Events-rebuild');
  });

  it('finishes a rebuild that stopped after its table was dropped', async () => {
    const events = TABLE_SCHEMAS.find((schema) => schema.logicalName === 'Events') as TableSchema;
    // What a crash between the drop and the copy back leaves: the items only in the holding table.
    await client.send(
      new CreateTableCommand({
        TableName: 'crashed-Events-rebuild',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'fleetId', AttributeType: 'S' },
          { AttributeName: 'id', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'fleetId', KeyType: 'HASH' },
          { AttributeName: 'id', KeyType: 'RANGE' },
        ],
      }),
    );
    await waitForTable('crashed-Events-rebuild');
    await documents.send(new PutCommand({ TableName: 'crashed-Events-rebuild', Item: { fleetId: 'f', id: 'evt_kept' } }));

    await ensureTables(client, 'crashed', [events]);

    const { Items } = await documents.send(new ScanCommand({ TableName: 'crashed-Events' }));
    expect(Items).toEqual([{ fleetId: 'f', id: 'evt_kept' }]);
    const { TableNames } = await client.send(new ListTablesCommand({}));
    expect(TableNames).not.toContain('crashed-Events-rebuild');
  });

  async function waitForTable(name: string): Promise<void> {
    for (let tries = 0; tries < 500; tries += 1) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
      if (Table?.TableStatus === 'ACTIVE') return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`${name} did not become ACTIVE`);
  }
});
