import { Duration } from 'aws-cdk-lib';
import type { Stage } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  TreatMissingData,
  type IMetric,
  type Metric,
  type MetricOptions,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface HooklineMonitoringProps {
  readonly eventsQueue: IQueue;
  readonly eventsDlq: IQueue;
  readonly eventsTargetDlq: IQueue;
  readonly deliveriesQueue: IQueue;
  readonly deliveriesDlq: IQueue;
  /** The API's stage: its metrics carry ApiName and Stage, so they are this deployment's alone. */
  readonly apiStage: Stage;
  readonly apiFunction: IFunction;
  readonly fanoutFunction: IFunction;
  readonly dispatcherFunction: IFunction;
  readonly deliveriesAgeThreshold: Duration;
  readonly alarmTopic?: ITopic;
}

/** The delivery metrics a service offers (WebhookService's metric…() helpers). */
export interface DeliveryMetricSource {
  metricDeliveryAttempts(options?: MetricOptions): IMetric;
  metricDeliveriesSucceeded(options?: MetricOptions): IMetric;
  metricDeliveriesFailedByKind(period?: Duration): IMetric;
  metricDeliveriesExhausted(options?: MetricOptions): IMetric;
  metricDeliveryLatency(options?: MetricOptions): IMetric;
}

const ONE_MINUTE = Duration.minutes(1);
const FIVE_MINUTES = Duration.minutes(5);
/** A standard queue's in-flight quota (SQS Developer Guide, "Amazon SQS standard queue quotas"). */
export const SQS_IN_FLIGHT_QUOTA = 120_000;
const IN_FLIGHT_ALARM_THRESHOLD = Math.round(SQS_IN_FLIGHT_QUOTA * 0.8);

/** Alarms on everything that means a delivery is stuck or lost, and one dashboard. */
export class HooklineMonitoring extends Construct {
  readonly deliveriesDlqAlarm: Alarm;
  readonly eventsDlqAlarm: Alarm;
  readonly eventsTargetDlqAlarm: Alarm;
  readonly deliveriesAgeAlarm: Alarm;
  readonly dispatcherErrorsAlarm: Alarm;
  readonly fanoutErrorsAlarm: Alarm;
  readonly api5xxAlarm: Alarm;
  readonly deliveriesInFlightAlarm: Alarm;
  readonly dispatcherThrottlesAlarm: Alarm;
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, private readonly props: HooklineMonitoringProps) {
    super(scope, id);
    const dlqDepth = (queue: IQueue): Metric =>
      queue.metricApproximateNumberOfMessagesVisible({ period: ONE_MINUTE, statistic: 'Maximum' });

    this.deliveriesDlqAlarm = this.alarm('DeliveriesDlqNotEmpty', {
      metric: dlqDepth(props.deliveriesDlq),
      threshold: 0,
      description: 'Deliveries exhausted their retries and wait in the deliveries DLQ; redrive them from the SQS console.',
    });
    this.eventsDlqAlarm = this.alarm('EventsDlqNotEmpty', {
      metric: dlqDepth(props.eventsDlq),
      threshold: 0,
      description: 'Events failed fan-out five times (or were invalid) and wait in the events DLQ; see the fan-out logs.',
    });
    this.eventsTargetDlqAlarm = this.alarm('EventsTargetDlqNotEmpty', {
      metric: dlqDepth(props.eventsTargetDlq),
      threshold: 0,
      description: 'EventBridge could not put events on the events queue; they wait in the rule target DLQ.',
    });
    // A waiting retry is a delayed message, which this metric does not count, so only a backlog
    // the dispatcher is not draining keeps the oldest message this old.
    this.deliveriesAgeAlarm = this.alarm('DeliveriesBacklog', {
      metric: props.deliveriesQueue.metricApproximateAgeOfOldestMessage({ period: FIVE_MINUTES, statistic: 'Maximum' }),
      threshold: props.deliveriesAgeThreshold.toSeconds(),
      description: 'The oldest message in the deliveries queue is older than the backlog threshold.',
    });
    this.dispatcherErrorsAlarm = this.alarm('DispatcherErrors', {
      metric: props.dispatcherFunction.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
      threshold: 0,
      description: 'Dispatcher invocations failed (crash or timeout); failed endpoints are batch item failures, not errors.',
    });
    this.fanoutErrorsAlarm = this.alarm('FanoutErrors', {
      metric: props.fanoutFunction.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
      threshold: 0,
      description: 'Fan-out invocations failed (crash or timeout).',
    });
    this.api5xxAlarm = this.alarm('Api5xx', {
      metric: props.apiStage.metricServerError({ period: FIVE_MINUTES, statistic: 'Sum' }),
      threshold: 0,
      description: 'The API answered 5xx.',
    });

    // SQS allows about 120,000 in-flight messages on a standard queue; past it long polls return
    // nothing, for every tenant (SQS Developer Guide, "Amazon SQS standard queue quotas"). Retries
    // hold nothing in flight, so nearing it means the dispatchers are stuck, not busy.
    this.deliveriesInFlightAlarm = this.alarm('DeliveriesInFlightNearQuota', {
      metric: props.deliveriesQueue.metricApproximateNumberOfMessagesNotVisible({ period: ONE_MINUTE, statistic: 'Maximum' }),
      threshold: IN_FLIGHT_ALARM_THRESHOLD,
      description: `More than 80 % of SQS's ~${SQS_IN_FLIGHT_QUOTA.toLocaleString('en-US')} in-flight messages are held on the deliveries queue.`,
    });
    // A throttled batch costs no attempt, but returns only after the visibility timeout: deliveries slow down.
    this.dispatcherThrottlesAlarm = this.alarm('DispatcherThrottles', {
      metric: props.dispatcherFunction.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }),
      threshold: 0,
      description: 'Dispatcher invocations were throttled: raise dispatcherReservedConcurrency or the account limit, or lower dispatcherMaxConcurrency.',
    });

    this.dashboard = this.buildDashboard();
  }

  get alarms(): readonly Alarm[] {
    return [
      this.deliveriesDlqAlarm,
      this.eventsDlqAlarm,
      this.eventsTargetDlqAlarm,
      this.deliveriesAgeAlarm,
      this.dispatcherErrorsAlarm,
      this.fanoutErrorsAlarm,
      this.api5xxAlarm,
      this.deliveriesInFlightAlarm,
      this.dispatcherThrottlesAlarm,
    ];
  }

  /** A dashboard row of the dispatcher's own delivery metrics, beside the queue widgets above it. */
  addDeliveryMetrics(source: DeliveryMetricSource): void {
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Delivery attempts',
        width: 6,
        left: [
          source.metricDeliveryAttempts({ label: 'attempts', period: FIVE_MINUTES }),
          source.metricDeliveriesSucceeded({ label: 'succeeded', period: FIVE_MINUTES }),
          source.metricDeliveriesExhausted({ label: 'exhausted (to DLQ)', period: FIVE_MINUTES }),
        ],
      }),
      new GraphWidget({ title: 'Failed attempts by kind', width: 6, left: [source.metricDeliveriesFailedByKind(FIVE_MINUTES)] }),
      new GraphWidget({
        title: 'Delivery latency (ms)',
        width: 6,
        left: [
          source.metricDeliveryLatency({ statistic: 'p50', label: 'p50', period: FIVE_MINUTES }),
          source.metricDeliveryLatency({ statistic: 'p99', label: 'p99', period: FIVE_MINUTES }),
        ],
      }),
      new GraphWidget({
        title: 'Deliveries queue',
        width: 6,
        left: [
          this.props.deliveriesQueue.metricApproximateNumberOfMessagesVisible({ label: 'visible' }),
          this.props.deliveriesDlq.metricApproximateNumberOfMessagesVisible({ label: 'DLQ' }),
        ],
      }),
    );
  }

  private alarm(id: string, options: { metric: IMetric; threshold: number; description: string }): Alarm {
    const alarm = new Alarm(this, id, {
      metric: options.metric,
      threshold: options.threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // No data means an idle queue or function, which is healthy.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: options.description,
    });
    if (this.props.alarmTopic !== undefined) {
      const action = new SnsAction(this.props.alarmTopic);
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
    return alarm;
  }

  private buildDashboard(): Dashboard {
    const p = this.props;
    const functions: [string, IFunction][] = [
      ['api', p.apiFunction],
      ['fan-out', p.fanoutFunction],
      ['dispatcher', p.dispatcherFunction],
    ];
    const perFunction = (metric: (fn: IFunction) => Metric): IMetric[] =>
      functions.map(([label, fn]) => metric(fn).with({ label }));
    const dashboard = new Dashboard(this, 'Dashboard');
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Queue depth (visible / in flight or waiting to retry)',
        width: 12,
        left: [
          p.eventsQueue.metricApproximateNumberOfMessagesVisible({ label: 'events visible' }),
          p.deliveriesQueue.metricApproximateNumberOfMessagesVisible({ label: 'deliveries visible' }),
          p.deliveriesQueue.metricApproximateNumberOfMessagesNotVisible({ label: 'deliveries in flight / retrying' }),
        ],
      }),
      new GraphWidget({
        title: 'DLQ depth',
        width: 12,
        left: [
          p.deliveriesDlq.metricApproximateNumberOfMessagesVisible({ label: 'deliveries DLQ' }),
          p.eventsDlq.metricApproximateNumberOfMessagesVisible({ label: 'events DLQ' }),
          p.eventsTargetDlq.metricApproximateNumberOfMessagesVisible({ label: 'EventBridge target DLQ' }),
        ],
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Age of oldest message (s)',
        width: 12,
        left: [
          p.eventsQueue.metricApproximateAgeOfOldestMessage({ label: 'events', statistic: 'Maximum' }),
          p.deliveriesQueue.metricApproximateAgeOfOldestMessage({ label: 'deliveries', statistic: 'Maximum' }),
        ],
      }),
      new AlarmStatusWidget({ title: 'Alarms', width: 12, alarms: [...this.alarms] }),
    );
    dashboard.addWidgets(
      new GraphWidget({ title: 'Function errors', width: 8, left: perFunction((fn) => fn.metricErrors({ statistic: 'Sum' })) }),
      new GraphWidget({
        title: 'Function duration p99 (ms)',
        width: 8,
        left: perFunction((fn) => fn.metricDuration({ statistic: 'p99' })),
      }),
      new GraphWidget({ title: 'Function throttles', width: 8, left: perFunction((fn) => fn.metricThrottles({ statistic: 'Sum' })) }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'API latency (ms)',
        width: 12,
        left: [p.apiStage.metricLatency({ statistic: 'p50', label: 'p50' }), p.apiStage.metricLatency({ statistic: 'p99', label: 'p99' })],
      }),
      new GraphWidget({
        title: 'API errors',
        width: 12,
        left: [
          p.apiStage.metricServerError({ statistic: 'Sum', label: '5xx' }),
          p.apiStage.metricClientError({ statistic: 'Sum', label: '4xx' }),
        ],
      }),
    );
    return dashboard;
  }
}
