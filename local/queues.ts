import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  QueueNameExists,
  SetQueueAttributesCommand,
  StartMessageMoveTaskCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/** A fan-out record that fails this often is dead-lettered (lib/queues.ts EVENTS_MAX_RECEIVE_COUNT). */
export const EVENTS_MAX_RECEIVE_COUNT = 5;
/** SQS's longest retention, as the construct deploys (lib/queues.ts QUEUE_RETENTION). */
const RETENTION_SECONDS = 14 * 86_400;

export interface HooklineQueues {
  eventsUrl: string;
  eventsArn: string;
  eventsDlqUrl: string;
  eventsDlqArn: string;
  deliveriesUrl: string;
  deliveriesArn: string;
  deliveriesDlqUrl: string;
  deliveriesDlqArn: string;
}

export interface HooklineQueuesOptions {
  /** Queue names are `<namePrefix>-events`, `<namePrefix>-events-dlq`, … */
  namePrefix: string;
  /** settings.deliveriesMaxReceiveCount: the deliveries queue's maxReceiveCount. */
  deliveriesMaxReceiveCount: number;
  visibilitySeconds: { events: number; deliveries: number };
}

/**
 * The events and deliveries queues with the DLQs and redrive settings the CDK construct deploys:
 * events → DLQ after 5 receives; deliveries → DLQ after deliveriesMaxReceiveCount receives, and the deliveries
 * DLQ allows redrive back to the deliveries queue only (RedriveAllowPolicy byQueue).
 */
export async function createHooklineQueues(sqs: SQSClient, options: HooklineQueuesOptions): Promise<HooklineQueues> {
  const { namePrefix, deliveriesMaxReceiveCount, visibilitySeconds } = options;
  const eventsDlq = await createQueue(sqs, `${namePrefix}-events-dlq`, {});
  const events = await createQueue(sqs, `${namePrefix}-events`, {
    VisibilityTimeout: String(visibilitySeconds.events),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: eventsDlq.arn, maxReceiveCount: EVENTS_MAX_RECEIVE_COUNT }),
  });

  // The DLQ names its source before the source exists, as the construct does with a formatted ARN;
  // queue ARNs differ only in their last segment, the name.
  const deliveriesName = `${namePrefix}-deliveries`;
  const deliveriesArn = eventsDlq.arn.replace(/[^:]+$/, deliveriesName);
  const deliveriesDlq = await createQueue(sqs, `${namePrefix}-deliveries-dlq`, {
    RedriveAllowPolicy: JSON.stringify({ redrivePermission: 'byQueue', sourceQueueArns: [deliveriesArn] }),
  });
  const deliveries = await createQueue(sqs, deliveriesName, {
    VisibilityTimeout: String(visibilitySeconds.deliveries),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deliveriesDlq.arn, maxReceiveCount: deliveriesMaxReceiveCount }),
  });
  if (deliveries.arn !== deliveriesArn) throw new Error(`deliveries queue ARN ${deliveries.arn} is not the expected ${deliveriesArn}`);

  return {
    eventsUrl: events.url,
    eventsArn: events.arn,
    eventsDlqUrl: eventsDlq.url,
    eventsDlqArn: eventsDlq.arn,
    deliveriesUrl: deliveries.url,
    deliveriesArn: deliveries.arn,
    deliveriesDlqUrl: deliveriesDlq.url,
    deliveriesDlqArn: deliveriesDlq.arn,
  };
}

/**
 * Creates a queue, or, when it exists with other settings (queues kept in a data dir from a run
 * with other options), updates it as a deployment would; its messages stay.
 */
async function createQueue(sqs: SQSClient, name: string, attributes: Record<string, string>): Promise<{ url: string; arn: string }> {
  const wanted = { MessageRetentionPeriod: String(RETENTION_SECONDS), ...attributes };
  let url: string | undefined;
  try {
    url = (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: wanted }))).QueueUrl;
  } catch (error) {
    if (!(error instanceof QueueNameExists)) throw error;
    url = (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
    if (url !== undefined) await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: wanted }));
  }
  if (url === undefined) throw new Error(`SQS returned no URL for queue ${name}`);
  return { url, arn: await queueArn(sqs, url) };
}

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const result = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const arn = result.Attributes?.QueueArn;
  if (arn === undefined) throw new Error(`SQS returned no ARN for ${queueUrl}`);
  return arn;
}

/** How long redriveDlq waits for a move task SQS runs asynchronously (the stand-in finishes at once). */
const MOVE_TASK_TIMEOUT_MS = 15 * 60_000;
const MOVE_TASK_POLL_MS = 1_000;

/**
 * What the console's "Start DLQ redrive" does: a StartMessageMoveTask from `dlqUrl` to `sourceUrl`,
 * awaited to its end. SQS gives each moved message a new id, a new enqueue time and a receive
 * count of 0, so a redriven delivery starts a fresh round; SQS refuses a destination the DLQ's
 * RedriveAllowPolicy does not allow. Returns how many messages moved.
 */
export async function redriveDlq(sqs: SQSClient, dlqUrl: string, sourceUrl: string): Promise<number> {
  const [dlqArn, sourceArn] = await Promise.all([queueArn(sqs, dlqUrl), queueArn(sqs, sourceUrl)]);
  const started = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: sourceArn }));
  const deadline = Date.now() + MOVE_TASK_TIMEOUT_MS;
  for (;;) {
    const listed = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn, MaxResults: 10 }));
    const task = (listed.Results ?? []).find((entry) => entry.TaskHandle === started.TaskHandle) ?? listed.Results?.[0];
    if (task === undefined) throw new Error(`redrive: SQS lists no move task for ${dlqUrl}`);
    if (task.Status === 'COMPLETED') return task.ApproximateNumberOfMessagesMoved ?? 0;
    if (task.Status === 'FAILED' || task.Status === 'CANCELLED') {
      throw new Error(`redrive from ${dlqUrl} ${task.Status.toLowerCase()} after ${task.ApproximateNumberOfMessagesMoved ?? 0} message(s): ${task.FailureReason ?? 'no reason given'}`);
    }
    if (Date.now() > deadline) throw new Error(`redrive from ${dlqUrl} still ${task.Status ?? 'running'} after ${MOVE_TASK_TIMEOUT_MS / 60_000} minutes`);
    await new Promise((resolve) => setTimeout(resolve, MOVE_TASK_POLL_MS));
  }
}
