import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { EventBus, Rule, type IEventBus } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import type { IQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from './nag';
import { hooklineQueue } from './queues';

/** EventBridge's own maxima: a put it cannot complete within a day or 185 tries is dead-lettered. */
export const TARGET_MAX_EVENT_AGE = Duration.hours(24);
export const TARGET_RETRY_ATTEMPTS = 185;

export interface HooklineEventsProps {
  /** settings.eventSource. */
  readonly eventSource: string;
  readonly eventsQueue: IQueue;
  /** A bus the app already has; absent, Hookline creates its own. */
  readonly eventBus?: IEventBus;
  readonly deadLetterQueueRemovalPolicy: RemovalPolicy;
}

/**
 * Hookline's event bus and the rule that puts every event of the deployment's `source` on the
 * events queue. All detail types match: the fan-out dead-letters an unknown type with a logged
 * reason, which an EventBridge pattern could not do.
 */
export class HooklineEvents extends Construct {
  readonly bus: IEventBus;
  readonly rule: Rule;
  /** Events EventBridge could not put on the events queue. */
  readonly targetDlq: Queue;

  constructor(scope: Construct, id: string, props: HooklineEventsProps) {
    super(scope, id);
    this.bus = props.eventBus ?? new EventBus(this, 'Bus');
    this.targetDlq = hooklineQueue(this, 'TargetDlq', { removalPolicy: props.deadLetterQueueRemovalPolicy });
    acknowledge(
      this.targetDlq,
      'AwsSolutions-SQS3',
      'This queue is itself the dead-letter queue of the EventBridge rule target (DeadLetterConfig), ' +
        'a relation cdk-nag only recognises between queues and Lambda functions.',
    );
    this.rule = new Rule(this, 'ToEventsQueue', {
      eventBus: this.bus,
      description: 'Every Hookline event of the deployment source goes to the events queue for fan-out.',
      // On a shared bus other sources pass by: only this deployment's source reaches its queue.
      eventPattern: { source: [props.eventSource] },
      targets: [
        new SqsQueue(props.eventsQueue, {
          deadLetterQueue: this.targetDlq,
          maxEventAge: TARGET_MAX_EVENT_AGE,
          retryAttempts: TARGET_RETRY_ATTEMPTS,
        }),
      ],
    });
  }
}
