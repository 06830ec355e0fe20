import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
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

/**
 * dynalite for one test file: started before its tests and closed after them. `freshTables()`
 * creates a new set of Hookline's tables, so a case that lists or scans a whole table sees only
 * its own items.
 */
export function useDynalite(prefix: string): { doc: () => DynamoDBDocumentClient; freshTables: () => Promise<Map<string, string>> } {
  let dynalite: Dynalite | undefined;
  let sets = 0;
  beforeAll(async () => {
    dynalite = await startDynalite();
  });
  afterAll(async () => {
    await dynalite?.close();
  });
  const started = (): Dynalite => {
    if (dynalite === undefined) throw new Error('dynalite is not started: use it inside a test or a hook');
    return dynalite;
  };
  return {
    doc: () => started().doc,
    freshTables: () => started().tables(`${prefix}${(sets += 1)}`),
  };
}
