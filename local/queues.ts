import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type MessageAttributeValue,
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

async function createQueue(sqs: SQSClient, name: string, attributes: Record<string, string>): Promise<{ url: string; arn: string }> {
  const created = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: { MessageRetentionPeriod: String(RETENTION_SECONDS), ...attributes },
    }),
  );
  if (created.QueueUrl === undefined) throw new Error(`SQS returned no URL for queue ${name}`);
  return { url: created.QueueUrl, arn: await queueArn(sqs, created.QueueUrl) };
}

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const result = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const arn = result.Attributes?.QueueArn;
  if (arn === undefined) throw new Error(`SQS returned no ARN for ${queueUrl}`);
  return arn;
}

/**
 * What the console's "Start DLQ redrive" does (fauxqs lacks StartMessageMoveTask): moves every
 * message visible in `dlqUrl` to `sourceUrl` with the same body and message attributes, deleting
 * each from the DLQ only once it is on the source queue. SQS gives the moved message a new id and
 * a receive count of 0, so a redriven delivery starts a fresh round. Honours the DLQ's
 * RedriveAllowPolicy as the console does. Returns how many messages moved.
 */
export async function redriveDlq(sqs: SQSClient, dlqUrl: string, sourceUrl: string): Promise<number> {
  await assertRedriveAllowed(sqs, dlqUrl, sourceUrl);
  let moved = 0;
  for (;;) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        WaitTimeSeconds: 0,
      }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) return moved;
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: sourceUrl,
        Entries: messages.map((message, index) => ({
          Id: String(index),
          MessageBody: message.Body ?? '',
          ...(message.MessageAttributes === undefined ? {} : { MessageAttributes: copyAttributes(message.MessageAttributes) }),
        })),
      }),
    );
    const sentIds = new Set((sent.Successful ?? []).map((entry) => entry.Id));
    const toDelete = messages
      .map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? '' }))
      .filter((entry) => sentIds.has(entry.Id));
    if (toDelete.length > 0) {
      const deleted = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: dlqUrl, Entries: toDelete }));
      // A message sent but not deleted would be moved twice; say so rather than count it once.
      if ((deleted.Failed ?? []).length > 0) throw new Error(`redrive: ${deleted.Failed?.length} message(s) were copied but not removed from ${dlqUrl}`);
    }
    moved += toDelete.length;
    if (toDelete.length < messages.length) {
      throw new Error(`redrive: ${messages.length - toDelete.length} message(s) could not be sent to ${sourceUrl}; they stay in the DLQ`);
    }
  }
}

async function assertRedriveAllowed(sqs: SQSClient, dlqUrl: string, sourceUrl: string): Promise<void> {
  const result = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['RedriveAllowPolicy'] }));
  const raw = result.Attributes?.RedriveAllowPolicy;
  if (raw === undefined) return;
  const policy = JSON.parse(raw) as { redrivePermission?: string; sourceQueueArns?: string[] };
  if (policy.redrivePermission === 'allowAll') return;
  const sourceArn = await queueArn(sqs, sourceUrl);
  if (policy.redrivePermission === 'byQueue' && (policy.sourceQueueArns ?? []).includes(sourceArn)) return;
  throw new Error(`redrive from ${dlqUrl} to ${sourceUrl} is not allowed by the DLQ's RedriveAllowPolicy`);
}

function copyAttributes(attributes: Record<string, MessageAttributeValue>): Record<string, MessageAttributeValue> {
  const copy: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(attributes)) {
    copy[name] = {
      DataType: value.DataType,
      ...(value.StringValue === undefined ? {} : { StringValue: value.StringValue }),
      ...(value.BinaryValue === undefined ? {} : { BinaryValue: value.BinaryValue }),
    };
  }
  return copy;
}
