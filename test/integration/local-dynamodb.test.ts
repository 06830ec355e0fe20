import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
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

  it('refuses an existing table whose layout differs from the schema', async () => {
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

    const events = TABLE_SCHEMAS.find((schema) => schema.logicalName === 'Events') as TableSchema;
    await ensureTables(client, 'old', [{ ...events, globalSecondaryIndexes: [] }]);
    await expect(ensureTables(client, 'old', [events])).rejects.toThrow(/global secondary indexes/);
  });
});
