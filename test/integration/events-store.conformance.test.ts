import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { TABLE_SCHEMAS } from '../../lambdas/core/table-schema';
import { EventsStore } from '../../lambdas/shared/events-store';
import { ensureTables, startDynamoDb, type DynamoDbStandIn } from '../../local/dynamodb';
import { describeEventsStoreConformance } from '../support/conformance/events-store';

let dynamo: DynamoDbStandIn;
let store: EventsStore;

beforeAll(async () => {
  dynamo = await startDynamoDb();
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const names = await ensureTables(client, 'conformance', TABLE_SCHEMAS);
  store = new EventsStore(DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }), names.get('Events') as string);
});

afterAll(async () => {
  await dynamo?.close();
});

describeEventsStoreConformance('DynamoDB on dynalite', () => store);
