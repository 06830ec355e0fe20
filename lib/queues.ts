import { Duration, Names, Stack } from 'aws-cdk-lib';
import { Queue, QueueEncryption, RedrivePermission, type QueueProps } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** SQS's longest retention: a delivery's whole retry schedule must fit in it (see config.ts). */
export const QUEUE_RETENTION = Duration.days(14);
/** AWS's guidance for SQS event sources: visibility at least six times the function timeout. */
export const VISIBILITY_PER_CONSUMER_TIMEOUT = 6;
/** A fan-out record that fails this often is dead-lettered; fan-out is idempotent, so retrying is safe. */
export const EVENTS_MAX_RECEIVE_COUNT = 5;

/**
 * Every Hookline queue: 14-day retention, SQS-managed SSE (EventBridge can deliver to it without
 * a key policy, and there is no per-request KMS cost), TLS-only queue policy.
 */
export function hooklineQueue(scope: Construct, id: string, props: QueueProps = {}): Queue {
  return new Queue(scope, id, {
    retentionPeriod: QUEUE_RETENTION,
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    ...props,
  });
}

export interface HooklineQueuesProps {
  /** Deliveries queue maxReceiveCount (settings.deliveriesMaxReceiveCount): a poison-message bound. */
  readonly deliveriesMaxReceiveCount: number;
  readonly dispatcherTimeout: Duration;
  readonly fanoutTimeout: Duration;
}

/** The events and deliveries queues with their DLQs. */
export class HooklineQueues extends Construct {
  readonly eventsQueue: Queue;
  readonly eventsDlq: Queue;
  readonly deliveriesQueue: Queue;
  readonly deliveriesDlq: Queue;

  constructor(scope: Construct, id: string, props: HooklineQueuesProps) {
    super(scope, id);

    this.eventsDlq = hooklineQueue(this, 'EventsDlq');
    this.eventsQueue = hooklineQueue(this, 'Events', {
      visibilityTimeout: Duration.seconds(VISIBILITY_PER_CONSUMER_TIMEOUT * props.fanoutTimeout.toSeconds()),
      deadLetterQueue: { queue: this.eventsDlq, maxReceiveCount: EVENTS_MAX_RECEIVE_COUNT },
    });

    // The DLQ's RedriveAllowPolicy names the deliveries queue, whose RedrivePolicy names the DLQ;
    // with GetAtt on both sides CloudFormation sees a cycle, so the deliveries queue gets a
    // deterministic name and the DLQ refers to it by a formatted ARN instead.
    // Queue names are per account and region, like stack names, so the stack name keeps two
    // deployments apart even when their construct paths (and so the hash) are the same.
    const stackName = Stack.of(this).stackName.slice(0, 32);
    const unique = Names.uniqueResourceName(this, { maxLength: 34, separator: '-' });
    const deliveriesQueueName = `${stackName}-${unique}-deliveries`;
    const deliveriesQueueArn = Stack.of(this).formatArn({ service: 'sqs', resource: deliveriesQueueName });
    this.deliveriesDlq = hooklineQueue(this, 'DeliveriesDlq', {
      redriveAllowPolicy: {
        redrivePermission: RedrivePermission.BY_QUEUE,
        sourceQueues: [Queue.fromQueueArn(this, 'DeliveriesSource', deliveriesQueueArn)],
      },
    });
    this.deliveriesQueue = hooklineQueue(this, 'Deliveries', {
      queueName: deliveriesQueueName,
      visibilityTimeout: Duration.seconds(VISIBILITY_PER_CONSUMER_TIMEOUT * props.dispatcherTimeout.toSeconds()),
      // SQS moves a delivery to the DLQ on the receive after its last attempt, which is what
      // lets the console's "Start DLQ redrive" send it back as a fresh round.
      deadLetterQueue: { queue: this.deliveriesDlq, maxReceiveCount: props.deliveriesMaxReceiveCount },
    });
  }
}
