import { createHash, createHmac } from 'node:crypto';

/**
 * One DynamoDB UpdateItem signed with SigV4 by hand (node:crypto only): the least work any
 * service must do to write an attempt's record to DynamoDB. The fair floor of section 1 adds it
 * to the bare POST; it imports no Hookline or SDK code on purpose.
 */
export interface BareStoreWrite {
  path: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
}

const REGION = 'us-east-1';
const SERVICE = 'dynamodb';
const TARGET = 'DynamoDB_20120810.UpdateItem';

/** A record write shaped like an attempt's (identity, status, result, lease released), for delivery `id`. */
export function bareStoreWrite(host: string, id: string, statusCode: number, latencyMs: number, credentials: { accessKeyId: string; secretAccessKey: string }): BareStoreWrite {
  const now = new Date();
  const iso = now.toISOString();
  const body = JSON.stringify({
    TableName: 'bench-deliveries',
    Key: { id: { S: id } },
    UpdateExpression:
      'SET #status = :status, webhookUrl = :url, lastAttemptAt = :at, latencyMs = :latency, httpStatusCode = :code, attemptCount = if_not_exists(attemptCount, :zero) + :one REMOVE leaseUntil, leaseHolder',
    ConditionExpression: 'leaseHolder = :holder',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: {
      ':status': { S: 'succeeded' },
      ':url': { S: 'http://127.0.0.1/hook' },
      ':at': { S: iso },
      ':latency': { N: String(latencyMs) },
      ':code': { N: String(statusCode) },
      ':zero': { N: '0' },
      ':one': { N: '1' },
      ':holder': { S: id },
    },
  });
  const amzDate = iso.replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const payloadHash = createHash('sha256').update(body).digest('hex');
  const headers: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.0',
    host,
    'x-amz-date': amzDate,
    'x-amz-target': TARGET,
  };
  const names = Object.keys(headers).sort();
  const canonical = ['POST', '/', '', ...names.map((name) => `${name}:${headers[name]}`), '', names.join(';'), payloadHash].join('\n');
  const scope = `${day}/${REGION}/${SERVICE}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), REGION), SERVICE), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  delete headers.host;
  return { path: '/', method: 'POST', headers, body };
}
