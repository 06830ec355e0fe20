import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TABLE_SCHEMAS } from '../../lambdas/core/table-schema';
import { ensureTables, startDynamoDb } from '../../local/dynamodb';

/** Local mode's DynamoDB stand-in with clients for the stores; `tables(prefix)` creates a fresh set of Hookline's tables. */
export async function startDynalite() {
  const dynamo = await startDynamoDb();
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return {
    client,
    doc,
    tables: (prefix: string) => ensureTables(client, prefix, TABLE_SCHEMAS),
    close: () => dynamo.close(),
  };
}

export type Dynalite = Awaited<ReturnType<typeof startDynalite>>;
