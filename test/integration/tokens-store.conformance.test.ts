import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { TABLE_SCHEMAS } from '../../lambdas/core/table-schema';
import { TokensStore } from '../../lambdas/shared/tokens-store';
import { ensureTables, startDynamoDb, type DynamoDbStandIn } from '../../local/dynamodb';
import { describeTokensStoreConformance } from '../support/conformance/tokens-store';

let dynamo: DynamoDbStandIn;
let client: DynamoDBClient;
let tables = 0;

beforeAll(async () => {
  dynamo = await startDynamoDb();
  client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});

afterAll(async () => {
  await dynamo?.close();
});

// Each case lists the whole table, so each gets tables of its own.
describeTokensStoreConformance('DynamoDB on dynalite', async () => {
  const names = await ensureTables(client, `tokens${(tables += 1)}`, TABLE_SCHEMAS);
  return new TokensStore(DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }), names.get('Tokens') as string);
});
