import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * Every item of a table, a page at a time, read consistently: for whole-table maintenance such as
 * `hookline secrets rekey`, never for a request path.
 */
export async function* scanPages<T>(doc: DynamoDBDocumentClient, tableName: string, pageSize: number): AsyncGenerator<T[]> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const result = await doc.send(new ScanCommand({ TableName: tableName, Limit: pageSize, ExclusiveStartKey: startKey, ConsistentRead: true }));
    yield (result.Items ?? []) as T[];
    startKey = result.LastEvaluatedKey;
  } while (startKey !== undefined);
}
