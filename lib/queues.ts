import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Queue, QueueEncryption, type QueueProps } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** SQS's longest retention: a delivery's whole retry schedule must fit in it (see config.ts). */
export const QUEUE_RETENTION = Duration.days(14);
/** AWS's guidance for SQS event sources: visibility at least six times the function timeout. */
export const VISIBILITY_PER_CONSUMER_TIMEOUT = 6;
/** A fan-out record that fails this often is dead-lettered; fan-out is idempotent, so retrying is safe. */
export const EVENTS_MAX_RECEIVE_COUNT = 5;

/**
 * Every Hookline queue: 14-day retention, SQS-managed SSE (EventBridge can deliver to it without
 * a key policy, and there is no per-request KMS cost), TLS-only queue policy. No physical name:
 * CloudFormation names each queue, so nested stacks and several deployments per account never
 * collide, and a replacement never has to reuse a name.
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
  /** The events and deliveries queues: they hold work in progress. */
  readonly removalPolicy: RemovalPolicy;
  /** The DLQs hold failed deliveries and events that wait for a redrive. */
  readonly deadLetterQueueRemovalPolicy: RemovalPolicy;
}

/** The events and deliveries queues with their DLQs. */
export class HooklineQueues extends Construct {
  readonly eventsQueue: Queue;
  readonly eventsDlq: Queue;
  readonly deliveriesQueue: Queue;
  readonly deliveriesDlq: Queue;

  constructor(scope: Construct, id: string, props: HooklineQueuesProps) {
    super(scope, id);

    this.eventsDlq = hooklineQueue(this, 'EventsDlq', { removalPolicy: props.deadLetterQueueRemovalPolicy });
    this.eventsQueue = hooklineQueue(this, 'Events', {
      removalPolicy: props.removalPolicy,
      visibilityTimeout: Duration.seconds(VISIBILITY_PER_CONSUMER_TIMEOUT * props.fanoutTimeout.toSeconds()),
      deadLetterQueue: { queue: this.eventsDlq, maxReceiveCount: EVENTS_MAX_RECEIVE_COUNT },
    });

    // The DLQs keep SQS's default RedriveAllowPolicy (allowAll: any queue of this account and
    // region may name them as its DLQ; SQS Developer Guide, "Using policies for dead-letter
    // queues"). A byQueue policy naming the deliveries queue's ARN on the DLQ, while the deliveries
    // queue's RedrivePolicy names the DLQ, is a cycle CloudFormation can only break with a physical
    // name (which breaks nested stacks and replacements) or a custom resource that sets the
    // attribute after both exist (one more Lambda and role to patch and audit, and an attribute
    // CloudFormation does not know, so drift detection misses it). What allowAll leaves open is a
    // principal of this account that can already configure its own queue's redrive policy; a
    // redrive without a destination sends such a message back to its own source queue, and one
    // that reaches the deliveries queue anyway is refused by the dispatcher (its nonce matches no
    // exhausted delivery). DENY_DIRECT_SENDS closes the other way in: no caller SendMessages to a DLQ.
    this.deliveriesDlq = hooklineQueue(this, 'DeliveriesDlq', { removalPolicy: props.deadLetterQueueRemovalPolicy });
    this.deliveriesQueue = hooklineQueue(this, 'Deliveries', {
      removalPolicy: props.removalPolicy,
      visibilityTimeout: Duration.seconds(VISIBILITY_PER_CONSUMER_TIMEOUT * props.dispatcherTimeout.toSeconds()),
      // SQS moves a delivery to the DLQ on the receive after its last attempt, which is what
      // lets the console's "Start DLQ redrive" send it back as a fresh round.
      deadLetterQueue: { queue: this.deliveriesDlq, maxReceiveCount: props.deliveriesMaxReceiveCount },
    });

    for (const dlq of [this.eventsDlq, this.deliveriesDlq]) dlq.addToResourcePolicy(denyDirectSends(dlq));
  }
}

/**
 * Only SQS itself puts messages on these DLQs (the source queue's redrive policy), so no IAM
 * principal may SendMessage to them, whatever its identity policy says: a forged "failed
 * delivery" could otherwise wait there for an operator's redrive. The condition leaves AWS
 * service principals alone, so the deny cannot stand in the way of SQS's own move, however SQS
 * authorizes it (aws:PrincipalIsAWSService, IAM User Guide, "AWS global condition context keys").
 */
export function denyDirectSends(dlq: Queue): PolicyStatement {
  return new PolicyStatement({
    sid: 'DenyDirectSends',
    effect: Effect.DENY,
    principals: [new AnyPrincipal()],
    actions: ['sqs:SendMessage'],
    resources: [dlq.queueArn],
    conditions: { Bool: { 'aws:PrincipalIsAWSService': 'false' } },
  });
}
