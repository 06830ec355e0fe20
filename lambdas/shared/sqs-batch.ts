import type { Logger } from '@aws-lambda-powertools/logger';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { PermanentError, RetryableError } from '../core/errors';
import { MAX_VISIBILITY_SECONDS } from '../core/settings';

/**
 * Per-record processing of an SQS batch with partial batch responses. A record handler that
 * returns normally has its message deleted by the event source mapping; one that throws is
 * reported as a batch item failure, and the error's class decides when the message comes back:
 *
 * - {@link RequeueError}: after `visibilitySeconds` (a scheduled retry, or 0 to fast-forward
 *   towards the DLQ through the queue's redrive policy);
 * - PermanentError: at once (visibility 0), so it reaches the DLQ after maxReceiveCount receives
 *   instead of looping — an invalid message is set aside, never silently dropped;
 * - anything else: after the queue's own visibility timeout (a transient fault; at-least-once).
 */
export class RequeueError extends RetryableError {
  override name = 'RequeueError';

  constructor(
    message: string,
    readonly visibilitySeconds: number,
  ) {
    super(message);
  }
}

/** What a queue-driven handler factory returns; Lambda's partial batch response. */
export type SqsHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

export interface SqsBatchDeps {
  sqs: SQSClient;
  queueUrl: string;
  logger: Pick<Logger, 'warn'>;
}

function visibilityAfter(error: unknown): number | undefined {
  if (error instanceof RequeueError) return Math.min(Math.max(Math.round(error.visibilitySeconds), 0), MAX_VISIBILITY_SECONDS);
  if (error instanceof PermanentError) return 0;
  return undefined;
}

export async function processSqsBatch(
  deps: SqsBatchDeps,
  event: SQSEvent,
  context: Context | undefined,
  handleRecord: (record: SQSRecord) => Promise<void>,
): Promise<SQSBatchResponse> {
  // A processor holds one batch's state: one per invocation keeps concurrent local invocations apart.
  const processor = new BatchProcessor(EventType.SQS);
  const run = async (record: SQSRecord): Promise<void> => {
    try {
      await handleRecord(record);
    } catch (error) {
      const visibility = visibilityAfter(error);
      if (visibility !== undefined) await changeVisibility(deps, record, visibility);
      throw error;
    }
  };
  return processPartialResponse(event, run, processor, {
    ...(context === undefined ? {} : { context }),
    throwOnFullBatchFailure: false,
  });
}

async function changeVisibility(deps: SqsBatchDeps, record: SQSRecord, seconds: number): Promise<void> {
  try {
    await deps.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: deps.queueUrl,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: seconds,
      }),
    );
  } catch (error) {
    // The message still comes back after the queue's visibility timeout, only later than planned.
    deps.logger.warn('could not change message visibility', {
      messageId: record.messageId,
      visibilitySeconds: seconds,
      error: error instanceof Error ? error.name : String(error),
    });
  }
}
