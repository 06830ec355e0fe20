import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { randomUUID } from 'node:crypto';

/** An SQS record as Lambda's event source mapping hands it to a handler; a JSON body unless a string is given. */
export function sqsRecord(body: unknown, options: { messageId?: string; receiveCount?: number } = {}): SQSRecord {
  const messageId = options.messageId ?? randomUUID();
  const receiveCount = options.receiveCount ?? 1;
  return {
    messageId,
    // A new receive gets a new receipt handle, as SQS gives one.
    receiptHandle: `rh-${messageId}-${receiveCount}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDATEST',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:hookline-test',
    awsRegion: 'us-east-1',
  };
}

export function sqsEvent(...records: SQSRecord[]): SQSEvent {
  return { Records: records };
}
