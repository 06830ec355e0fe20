import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { buildEnvelope } from '../lambdas/core/envelope';
import { deliveryIdFor } from '../lambdas/core/ids';
import type { DeliveryEvent, DeliveryMessage } from '../lambdas/core/records';

/** Shapes of the messages and bodies the benchmark feeds Hookline and its baselines. */

export const BENCH_REGION = 'us-east-1';
export const BENCH_ACCOUNT = '000000000000';

/**
 * Event data whose delivery envelope is `envelopeBytes` long (ASCII, so bytes = characters),
 * for the given fleet and an event id/type/timestamp of the lengths the benchmark uses.
 */
export function dataForEnvelopeSize(fleetId: string, envelopeBytes: number): { summary: string; threadId: string } {
  const probe: DeliveryEvent = { id: sampleEventId(0), type: 'thread.completed', timestamp: new Date(0).toISOString(), data: { summary: '', threadId: 'thr_bench' } };
  const overhead = Buffer.byteLength(buildEnvelope(fleetId, probe));
  return { summary: 'x'.repeat(Math.max(0, envelopeBytes - overhead)), threadId: 'thr_bench' };
}

/** Fixed-length event ids (`evt_bench_` + 12 digits), so every envelope of a run has the same size. */
export function sampleEventId(index: number): string {
  return `evt_bench_${String(index).padStart(12, '0')}`;
}

export function deliveryMessage(fleetId: string, subscriptionId: string, event: DeliveryEvent): DeliveryMessage {
  return {
    v: 1,
    deliveryId: deliveryIdFor(fleetId, event.id, subscriptionId, event.timestamp),
    fleetId,
    subscriptionId,
    event,
    reason: 'fanout',
  };
}

/** An SQS record as the Lambda event source mapping hands it to a function. */
export function sqsRecord(body: string, queueName: string, receiveCount = 1, messageId: string = randomUUID()): SQSRecord {
  const now = String(Date.now());
  return {
    messageId,
    receiptHandle: `bench-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: now,
      SenderId: 'AIDABENCH',
      ApproximateFirstReceiveTimestamp: now,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${BENCH_REGION}:${BENCH_ACCOUNT}:${queueName}`,
    awsRegion: BENCH_REGION,
  };
}
