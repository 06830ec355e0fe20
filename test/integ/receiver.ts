/**
 * The integration test's webhook receiver (a Lambda function URL). It records every request it
 * gets in its table and answers by its path, `/r/<run>/<label>/<failures>`: 500 to the first
 * `<failures>` requests of each delivery (the delivery id header, which retries and DLQ redrives
 * keep), 200 after that. So `/…/retry/1` is answered 500 then 200, and `/…/exhaust/<maxAttempts>`
 * fails a whole round (the delivery goes to the DLQ) and accepts the redriven round.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';

const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const TABLE = process.env.RECEIVER_TABLE ?? '';
const PATH = /^\/r\/([a-z0-9-]{1,40})\/([a-z]{1,20})\/(\d{1,2})$/;

/** What the receiver table holds for one request (partition `req#<run>#<label>`). */
export interface RecordedRequest {
  pk: string;
  sk: string;
  deliveryId: string;
  /** 1-based: the how-manieth request of this delivery. */
  seen: number;
  status: number;
  headers: Record<string, string>;
  body: string;
  receivedAtSeconds: number;
}

export function deliveryIdOf(headers: Record<string, string | undefined>): string {
  return headers['webhook-id'] ?? headers['x-webhook-delivery-id'] ?? 'unknown';
}

export async function handler(event: LambdaFunctionURLEvent): Promise<LambdaFunctionURLResult> {
  const match = PATH.exec(event.rawPath);
  if (match === null || event.requestContext.http.method !== 'POST') return { statusCode: 404, body: 'no such receiver' };
  const [, run, label, failures] = match as unknown as [string, string, string, string];
  const headers = Object.fromEntries(Object.entries(event.headers ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const body = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
  const deliveryId = deliveryIdOf(headers);
  const counted = await doc.send(
    new UpdateCommand({
      TableName: TABLE,
      Key: { pk: `count#${run}#${label}#${deliveryId}`, sk: '-' },
      UpdateExpression: 'ADD seen :one',
      ExpressionAttributeValues: { ':one': 1 },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  const seen = Number(counted.Attributes?.seen ?? 1);
  const status = seen <= Number(failures) ? 500 : 200;
  const receivedAtSeconds = Math.floor(event.requestContext.timeEpoch / 1000);
  const record: RecordedRequest = {
    pk: `req#${run}#${label}`,
    sk: `${String(event.requestContext.timeEpoch).padStart(15, '0')}#${event.requestContext.requestId}`,
    deliveryId,
    seen,
    status,
    headers,
    body,
    receivedAtSeconds,
  };
  await doc.send(new PutCommand({ TableName: TABLE, Item: record }));
  return { statusCode: status, body: status === 200 ? 'ok' : 'failing on purpose' };
}
