import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { planWait, type MessageTurn } from '../core/delivery-policy';
import { resent } from '../core/delivery-message';
import type { OperatorEventDetail, OperatorEventType } from '../core/operator-events';
import { encodeQueueBody } from '../core/queue-encoding';
import type { DeliveryMessage, SubscriptionRecord } from '../core/records';
import type { DeploymentSettings } from '../core/settings';
import type { DeliveriesStorePort, DeliveryIdentity } from '../shared/deliveries-store';
import type { EndpointGates } from '../shared/endpoint-gates';
import type { HttpDelivery } from '../shared/http-delivery';
import type { RecordLogger } from '../shared/observability';
import type { SigningSecrets } from '../shared/signing-secrets';
import { RequeueError } from '../shared/sqs-batch';
import type { SubscriptionsStorePort } from '../shared/subscriptions-store';
import { SigningSecretsLoader } from './secrets';
import { SubscriptionCache } from './subscription-cache';
import { METRICS, type HeldBackMetric } from '../core/metrics';

/** Hookline's own events about endpoints, for operators to route with an EventBridge rule. */
export interface OperatorEvents {
  publish(type: OperatorEventType, detail: OperatorEventDetail): Promise<void>;
}

/** What the dispatcher reads and writes of subscriptions: the record, and the endpoint's health on it. */
export type DispatcherSubscriptions = Pick<
  SubscriptionsStorePort,
  'get' | 'claimProbe' | 'releaseProbe' | 'recordFailure' | 'openCircuit' | 'closeCircuit' | 'clearFailing' | 'setSlow' | 'touch' | 'disable'
>;

/** What the dispatcher writes of deliveries: claims, attempt results, and the ends of deliveries it does not attempt. */
export type DispatcherDeliveries = Pick<DeliveriesStorePort, 'claim' | 'recordAttempt' | 'endWithoutAttempt' | 'endPendingAsDisabled'>;

export interface DispatcherDeps {
  subscriptions: DispatcherSubscriptions;
  deliveries: DispatcherDeliveries;
  gates: EndpointGates;
  operatorEvents?: OperatorEvents;
  secrets: Pick<SigningSecrets, 'get'>;
  sqs: SQSClient;
  deliveriesQueueUrl: string;
  settings: DeploymentSettings;
  /** The dispatcher's maximum concurrency, when known: a slow endpoint's cap leaves the others half of it. */
  dispatcherConcurrency?: number;
  http: HttpDelivery;
  /** `Hookline/<version>`. */
  userAgent: string;
  logger: Logger;
  metrics: Metrics;
  now?: () => Date;
  random?: () => number;
  subscriptionCacheTtlMs?: number;
  /** A claim's lease when the invocation has no deadline (tests, local calls without a context). */
  defaultLeaseMs?: number;
}

const SECONDS_PER_DAY = 86_400;
/** Added to the invocation's deadline: clocks differ a little between dispatchers. */
export const LEASE_MARGIN_MS = 5_000;
/** Exhausted messages this container is bouncing to the DLQ, so their later receives cost no store call. */
export const PARKED_MEMORY = 10_000;

/**
 * What one dispatcher container keeps between records: its dependencies, its clock and the small
 * memories (subscription cache, parked messages, rate schedule) that save store calls. Every stage
 * function takes it first, so the stages are plain functions rather than closures in one factory.
 */
export interface DispatchContext {
  deps: DispatcherDeps;
  settings: DeploymentSettings;
  now: () => Date;
  random: () => number;
  cache: SubscriptionCache;
  signingSecrets: SigningSecretsLoader;
  /** Messages this container is bouncing to the DLQ. */
  parked: Set<string>;
  /** Per subscription, the latest second this container has sent rate-limited deliveries back for, and how many. */
  rateSchedule: Map<string, { second: number; used: number }>;
  /** The second whose rate tokens this container found spent, per subscription. */
  spentSeconds: Map<string, number>;
  /** lastTriggeredAt writes in flight, by subscription: see touch() in outcome.ts. */
  touching: Map<string, Promise<void>>;
}

export function createDispatchContext(deps: DispatcherDeps, cacheTtlMs: number): DispatchContext {
  const now = deps.now ?? (() => new Date());
  return {
    deps,
    settings: deps.settings,
    now,
    random: deps.random ?? Math.random,
    cache: new SubscriptionCache(
      (fleetId, id) => deps.subscriptions.get(fleetId, id),
      () => now().getTime(),
      cacheTtlMs,
    ),
    signingSecrets: new SigningSecretsLoader(deps.secrets),
    parked: new Set<string>(),
    rateSchedule: new Map(),
    spentSeconds: new Map(),
    touching: new Map(),
  };
}

/** One message's attempt, as the dispatcher carries it from claim to outcome. */
export interface Turn extends MessageTurn {
  message: DeliveryMessage;
  record: SQSRecord;
  subscription: SubscriptionRecord;
  allowed: number;
  roundNumber: number;
  logger: RecordLogger;
  /** The claim's holder; undefined when recording an interrupted attempt, whose claim has run out. */
  holder: string | undefined;
  /** This attempt is the probe of an open circuit. */
  probe: boolean;
}

/** The retention expiry of what the dispatcher writes at `at`. */
export function expiresAt(ctx: DispatchContext, at: Date): number {
  return Math.floor(at.getTime() / 1000) + ctx.settings.eventRetentionDays * SECONDS_PER_DAY;
}

/** Sends the message of an attempt to come (or the next hop of a long wait): a new message, a new nonce. */
export async function sendAttempt(
  ctx: DispatchContext,
  message: DeliveryMessage,
  wait: { delaySeconds: number; notBefore?: string },
  changes: { round?: string; attempt?: number } = {},
): Promise<void> {
  const body = resent(message, { ...changes, ...(wait.notBefore === undefined ? {} : { notBefore: wait.notBefore }) });
  await ctx.deps.sqs.send(
    new SendMessageCommand({
      QueueUrl: ctx.deps.deliveriesQueueUrl,
      MessageBody: encodeQueueBody(body),
      DelaySeconds: wait.delaySeconds,
      // The fleet is the tenant of the deliveries queue's fair queueing.
      MessageGroupId: message.fleetId,
    }),
  );
}

/** Sends the message again with a delay: the same attempt, later. */
export async function defer(ctx: DispatchContext, message: DeliveryMessage, seconds: number, metric: HeldBackMetric): Promise<void> {
  ctx.deps.metrics.addMetric(metric, MetricUnit.Count, 1);
  await sendAttempt(ctx, message, planWait(seconds, ctx.now()));
}

/** Leaves the message visible until the queue's redrive policy moves it to the DLQ. */
export function park(ctx: DispatchContext, record: SQSRecord, logger: RecordLogger, reason: string): never {
  const { parked } = ctx;
  if (parked.size >= PARKED_MEMORY) parked.clear();
  if (!parked.has(record.messageId)) {
    parked.add(record.messageId);
    ctx.deps.metrics.addMetric(METRICS.exhausted, MetricUnit.Count, 1);
    logger.info('delivery failed; its message goes on to the DLQ', { reason });
  }
  throw new RequeueError(reason, 0);
}

/** Publishes an operator event; a failure to publish is logged and never fails the delivery. */
export async function announce(
  ctx: DispatchContext,
  type: OperatorEventType,
  subscription: SubscriptionRecord,
  at: Date,
  detail: Omit<OperatorEventDetail, 'fleetId' | 'webhookId' | 'at'> = {},
): Promise<void> {
  const { deps } = ctx;
  if (deps.operatorEvents === undefined) return;
  try {
    await deps.operatorEvents.publish(type, { fleetId: subscription.fleetId, webhookId: subscription.id, ...detail, at: at.toISOString() });
  } catch (error) {
    deps.logger.warn('could not publish an operator event', { type, error: error instanceof Error ? error.name : String(error) });
  }
}

/** What the record keeps of a message going on to the DLQ: its id, and its nonce, which a redriven copy carries. */
export function parkedAs(record: SQSRecord, message: DeliveryMessage): { parkedMessageId: string; parkedNonce?: string } {
  return { parkedMessageId: record.messageId, ...(message.nonce === undefined ? {} : { parkedNonce: message.nonce }) };
}

export function identityOf(message: DeliveryMessage, webhookUrl: string): DeliveryIdentity {
  return {
    id: message.deliveryId,
    fleetId: message.fleetId,
    subscriptionId: message.subscriptionId,
    eventId: message.event.id,
    eventType: message.event.type,
    webhookUrl,
  };
}
