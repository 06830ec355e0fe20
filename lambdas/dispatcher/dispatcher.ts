import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSRecord } from 'aws-lambda';
import { ulid } from 'ulid';
import {
  judgeRefusedClaim,
  nextHop,
  planAttempt,
  planWait,
  type DeliveryPlan,
  type MessageTurn,
  type PlannedOutcome,
} from '../core/delivery-policy';
import {
  circuitAfterFailedProbe,
  circuitGate,
  circuitToOpen,
  concurrencyCap,
  countsAgainstCircuit,
  rateLimit,
} from '../core/endpoint-health';
import { resent } from '../core/delivery-message';
import { encodeQueueBody } from '../core/queue-encoding';
import { buildEnvelope } from '../core/envelope';
import type { OperatorEventDetail, OperatorEventType } from '../core/operator-events';
import { PermanentError } from '../core/errors';
import { classifyAttempt } from '../core/outcome';
import { storedResponseHeaders } from '../core/attempt-excerpt';
import { FIRST_ROUND, type AttemptRecord, type DeliveryMessage, type SubscriptionRecord } from '../core/records';
import { attemptsAllowed } from '../core/schedule';
import type { DeploymentSettings } from '../core/settings';
import { buildDeliveryHeaders } from '../core/signing';
import type { DeliveriesStore, DeliveryIdentity } from '../shared/deliveries-store';
import type { HttpAttemptResult, HttpDelivery } from '../shared/http-delivery';
import { withKeys, type RecordLogger } from '../shared/observability';
import type { SigningSecrets } from '../shared/signing-secrets';
import { processSqsBatch, RequeueError, type SqsHandler } from '../shared/sqs-batch';
import type { SubscriptionsStore } from '../shared/subscriptions-store';
import type { EndpointGates } from '../shared/endpoint-gates';
import { parseDeliveryMessage } from './message';
import { SigningSecretsLoader } from './secrets';
import { SubscriptionCache, DEFAULT_SUBSCRIPTION_TTL_MS } from './subscription-cache';

/** Hookline's own events about endpoints, for operators to route with an EventBridge rule. */
export interface OperatorEvents {
  publish(type: OperatorEventType, detail: OperatorEventDetail): Promise<void>;
}

export interface DispatcherDeps {
  subscriptions: SubscriptionsStore;
  deliveries: DeliveriesStore;
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
const DELETED_SUBSCRIPTION_URL = '(subscription deleted)';
const DEFAULT_LEASE_MS = 60_000;
/** Added to the invocation's deadline: clocks differ a little between dispatchers. */
const LEASE_MARGIN_MS = 5_000;
/** Exhausted messages this container is bouncing to the DLQ, so their later receives cost no store call. */
const PARKED_MEMORY = 10_000;
/** `lastTriggeredAt` is kept to this resolution, so a busy endpoint costs one subscription write a minute. */
const LAST_TRIGGERED_RESOLUTION_MS = 60_000;
/** A delivery that finds another dispatcher's probe just claimed looks again in this many seconds (plus jitter). */
const PROBE_TAKEN_WAIT_SECONDS = 5;
/** A duplicate that finds another POST of its delivery in flight looks again this soon (or when the claim runs out). */
const CLAIM_WAIT_SECONDS = 5;

/** One message's attempt, as the dispatcher carries it from claim to plan. */
interface Turn extends MessageTurn {
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

/** What the endpoint's gates granted an attempt. */
interface Passage {
  probe: boolean;
  /** The probe's hold, to give it back when no POST follows. */
  probeUntil?: number;
  /** Concurrency slot held for the POST. */
  slot?: number;
}

/**
 * Deliveries queue → signed POST, one attempt per message. Hookline counts attempts itself: the
 * attempt number travels in the message, so a throttled, crashed or failed invocation costs no
 * attempt, and SQS's receive count is only a poison-message bound. Each attempt is claimed on the
 * delivery record before its POST (at most one POST of a delivery in flight; duplicates make none)
 * and recorded after it, releasing the claim. A retry is a new delayed message, never a message
 * held in flight. The rule for what an outcome means lives in core/delivery-policy.ts.
 */
export function createDispatcher(deps: DispatcherDeps): SqsHandler {
  const now = deps.now ?? (() => new Date());
  const random = deps.random ?? Math.random;
  const { settings } = deps;
  /** lastTriggeredAt writes in flight, by subscription: see touch(). */
  const touching = new Map<string, Promise<void>>();
  const cache = new SubscriptionCache(
    (fleetId, id) => deps.subscriptions.get(fleetId, id),
    () => now().getTime(),
    deps.subscriptionCacheTtlMs ?? DEFAULT_SUBSCRIPTION_TTL_MS,
  );
  const signingSecrets = new SigningSecretsLoader(deps.secrets);
  const parked = new Set<string>();
  /** Per subscription, the latest second this container has sent rate-limited deliveries back for, and how many. */
  const rateSchedule = new Map<string, { second: number; used: number }>();
  /** The second whose rate tokens this container found spent, per subscription. */
  const spentSeconds = new Map<string, number>();
  const expiresAt = (at: Date) => Math.floor(at.getTime() / 1000) + settings.eventRetentionDays * SECONDS_PER_DAY;

  async function handleRecord(record: SQSRecord, deadline: number): Promise<void> {
    if (parked.has(record.messageId)) throw new RequeueError('exhausted; on its way to the DLQ', 0);
    const message = parse(record);
    const logger = withKeys(deps.logger, {
      deliveryId: message.deliveryId,
      subscriptionId: message.subscriptionId,
      fleetId: message.fleetId,
      messageId: record.messageId,
    });
    const startedAt = now();
    const hop = nextHop(message.notBefore, startedAt);
    if (hop !== undefined) {
      await sendAttempt(message, hop);
      deps.metrics.addMetric('waitHops', MetricUnit.Count, 1);
      return;
    }
    try {
      await dispatch(message, record, logger, startedAt, deadline);
    } catch (error) {
      if (error instanceof RequeueError) throw error;
      if (error instanceof PermanentError) logger.error('delivery set aside for the DLQ', { reason: error.message });
      // DynamoDB, Secrets Manager or SQS trouble: the message comes back after the queue's visibility timeout.
      else logger.warn('delivery interrupted; the message will come back', { error });
      throw error;
    }
  }

  function parse(record: SQSRecord): DeliveryMessage {
    try {
      return parseDeliveryMessage(record.body);
    } catch (error) {
      deps.metrics.addMetric('malformedMessages', MetricUnit.Count, 1);
      deps.logger.error('deliveries-queue message set aside for the DLQ', {
        messageId: record.messageId,
        reason: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
  }

  async function dispatch(message: DeliveryMessage, record: SQSRecord, logger: RecordLogger, at: Date, deadline: number) {
    const subscription = await cache.get(message.fleetId, message.subscriptionId);
    if (subscription === undefined || !subscription.enabled) return endAsDisabled(message, subscription, at, logger);
    const allowed = attemptsAllowed(settings, subscription.maxAttempts);
    const secrets = await signingSecrets.load(subscription, at).catch(async (error: unknown) => {
      if (error instanceof PermanentError) {
        await deps.deliveries.endWithoutAttempt(identityOf(message, subscription.url), 'failed', error.message, at.toISOString(), expiresAt(at), parkedAs(record, message));
        parked.add(record.messageId);
      }
      throw error;
    });

    const passage = await passGates(message, record, subscription, at, deadline);
    if (passage === undefined) return;
    let posted = false;
    try {
      const turn = await claim(message, record, subscription, allowed, logger, at, deadline, passage.probe);
      if (turn === undefined) return;
      if (turn.attempt > allowed) {
        // The subscription's maxAttempts was lowered during the round: it has had its attempts.
        const reason = `attempt ${turn.attempt} is past the webhook's maxAttempts ${allowed}`;
        await deps.deliveries.endWithoutAttempt(identityOf(message, subscription.url), 'failed', reason, at.toISOString(), expiresAt(at), {
          ...parkedAs(record, message),
          claimedAttempt: turn.attempt,
        });
        park(record, logger, reason);
      }
      posted = true;
      await postAttempt(turn, secrets, at);
    } finally {
      if (passage.slot !== undefined) await deps.gates.releaseSlot(subscription.id, passage.slot, record.messageId);
      // A probe that made no POST (a duplicate, another POST in flight) hands the circuit back at once.
      if (passage.probeUntil !== undefined && !posted) await deps.subscriptions.releaseProbe(subscription.fleetId, subscription.id, passage.probeUntil);
    }
  }

  /**
   * The endpoint's circuit, rate limit and concurrency cap, in that order. A delivery they hold back
   * waits as a delayed message and consumes no attempt; undefined then.
   */
  async function passGates(message: DeliveryMessage, record: SQSRecord, subscription: SubscriptionRecord, at: Date, deadline: number): Promise<Passage | undefined> {
    const nowMs = at.getTime();
    const circuit = circuitGate(subscription.circuit, at, random);
    if (circuit.kind === 'wait') return defer(message, circuit.seconds, 'circuitOpen');
    const limit = rateLimit(subscription, settings);
    if (limit !== undefined) {
      // The clock of the token is read now, not at the record's start: the POST follows within milliseconds.
      const tokenAt = now().getTime();
      const second = Math.floor(tokenAt / 1000);
      // Once this second's tokens are known to be gone, later deliveries wait without asking the table.
      const spent = spentSeconds.get(subscription.id) === second;
      if (spent || !(await deps.gates.takeRateToken(subscription.id, limit, tokenAt))) {
        if (!spent) {
          if (spentSeconds.size >= PARKED_MEMORY) spentSeconds.clear();
          spentSeconds.set(subscription.id, second);
        }
        return defer(message, rateWait(subscription.id, limit, tokenAt), 'rateLimited');
      }
    }
    const cap = concurrencyCap(subscription, settings, deps.dispatcherConcurrency);
    const slot = cap === undefined ? undefined : await deps.gates.takeSlot(subscription.id, cap, record.messageId, deadline + LEASE_MARGIN_MS, nowMs, random);
    if (cap !== undefined && slot === undefined) return defer(message, 1 + Math.floor(random() * 3), 'concurrencyCapped');
    const passage: Passage = { probe: false, ...(slot === undefined ? {} : { slot }) };
    // The probe is claimed last, once nothing else can hold this delivery back.
    if (circuit.kind === 'probe') {
      const probeUntil = deadline + LEASE_MARGIN_MS;
      if (!(await deps.subscriptions.claimProbe(subscription.fleetId, subscription.id, nowMs, probeUntil))) {
        if (slot !== undefined) await deps.gates.releaseSlot(subscription.id, slot, record.messageId);
        return defer(message, PROBE_TAKEN_WAIT_SECONDS + Math.floor(random() * PROBE_TAKEN_WAIT_SECONDS), 'circuitOpen');
      }
      passage.probe = true;
      passage.probeUntil = probeUntil;
    }
    return passage;
  }

  /** Sends the message again with a delay: the same attempt, later. */
  async function defer(message: DeliveryMessage, seconds: number, metric: string): Promise<undefined> {
    deps.metrics.addMetric(metric, MetricUnit.Count, 1);
    await sendAttempt(message, planWait(seconds, now()));
    return undefined;
  }

  /**
   * How long a rate-limited delivery waits: the earliest coming second that this container has
   * not yet filled with `limit` waiting deliveries, so they come back at the limit's pace, in order,
   * instead of all in the next second.
   */
  function rateWait(subscriptionId: string, limit: number, nowMs: number): number {
    const current = Math.floor(nowMs / 1000);
    let plan = rateSchedule.get(subscriptionId);
    if (plan === undefined || plan.second <= current) plan = { second: current + 1, used: 0 };
    if (plan.used >= limit) plan = { second: plan.second + 1, used: 0 };
    plan.used += 1;
    if (rateSchedule.size >= PARKED_MEMORY) rateSchedule.clear();
    rateSchedule.set(subscriptionId, plan);
    return plan.second - current;
  }

  async function postAttempt(turn: Turn, secrets: Awaited<ReturnType<SigningSecretsLoader['load']>>, at: Date): Promise<void> {
    const { message, subscription } = turn;
    const body = buildEnvelope(message.fleetId, message.event);
    const headers = buildDeliveryHeaders({
      deliveryId: message.deliveryId,
      timestamp: Math.floor(at.getTime() / 1000),
      body,
      secrets,
      headerPrefix: settings.signatureHeaderPrefix,
      userAgent: deps.userAgent,
      ...(subscription.headers === undefined ? {} : { customHeaders: subscription.headers }),
    });
    const watch = watchSlowness(turn);
    let result: HttpAttemptResult;
    try {
      result = await deps.http.post({
        url: subscription.url,
        headers,
        body,
        timeoutMs: (subscription.timeoutSeconds ?? settings.attemptTimeoutSeconds) * 1000,
        // Only where the deployment allows it (allowInsecureTls) can a subscription hold false.
        tlsVerify: subscription.tlsVerify !== false,
      });
    } finally {
      await watch.stop();
    }
    await conclude(turn, classifyAttempt(result), result, at);
  }

  /**
   * Marks the endpoint slow once an attempt has run `slowEndpointMs`, while it still runs: waiting
   * for it to end would let every delivery queued meanwhile start a POST to the slow endpoint, each
   * holding a dispatcher invocation, before the concurrency cap applies.
   */
  function watchSlowness(turn: Turn): { stop(): Promise<void> } {
    if (turn.subscription.slowSince !== undefined) return { stop: async () => undefined };
    let marking: Promise<void> | undefined;
    const timer = setTimeout(() => {
      marking = markSlow(turn);
    }, settings.slowEndpointMs);
    return {
      stop: async () => {
        clearTimeout(timer);
        await marking;
      },
    };
  }

  async function markSlow(turn: Turn): Promise<void> {
    const { subscription } = turn;
    const slowSince = now().toISOString();
    try {
      await deps.subscriptions.setSlow(subscription.fleetId, subscription.id, slowSince);
      turn.subscription = { ...subscription, slowSince };
      cache.update(turn.subscription);
    } catch (error) {
      // The attempt's end marks it instead.
      turn.logger.warn('could not mark the endpoint slow', { error: error instanceof Error ? error.name : String(error) });
    }
  }

  /**
   * Claims the message's attempt. Undefined when there is nothing to POST: a duplicate, a
   * superseded round, an exhausted message on its way to the DLQ (throws), an interrupted attempt
   * (recorded here), or another POST of the delivery in flight (throws: look again later).
   */
  async function claim(
    message: DeliveryMessage,
    record: SQSRecord,
    subscription: SubscriptionRecord,
    allowed: number,
    logger: RecordLogger,
    at: Date,
    deadline: number,
    probe: boolean,
  ): Promise<Turn | undefined> {
    let round = message.round ?? FIRST_ROUND;
    let attempt = message.attempt ?? 1;
    let newRound = attempt === 1;
    let trigger: string | undefined;
    const leaseUntil = deadline + LEASE_MARGIN_MS;
    // Two tries: a refused claim is judged once, and a judged claim (a race lost, a redrive) tried once more.
    for (let tries = 0; tries < 2; tries += 1) {
      const result = await deps.deliveries.claim({
        id: message.deliveryId,
        round,
        attempt,
        holder: record.messageId,
        leaseUntil,
        now: at.getTime(),
        newRound,
        ...(trigger === undefined ? {} : { trigger }),
        expiresAt: expiresAt(at),
      });
      const base = { message, record, subscription, allowed, logger, messageId: record.messageId, probe };
      if (result.claimed) return { ...base, holder: record.messageId, round, attempt, roundNumber: result.roundNumber };
      const verdict = judgeRefusedClaim(
        result.progress,
        { round, attempt, messageId: record.messageId, ...(message.nonce === undefined ? {} : { nonce: message.nonce }) },
        at.getTime(),
        ulid,
      );
      switch (verdict.kind) {
        case 'attempt':
          if (verdict.newRound && verdict.round !== round) trigger = record.messageId;
          ({ round, attempt, newRound } = verdict);
          continue;
        case 'wait':
          // Another POST of this delivery is in flight. Look again soon, as a new delayed message:
          // waiting by visibility would count receives towards the DLQ while the other POST runs.
          await defer(message, Math.min(verdict.seconds, CLAIM_WAIT_SECONDS), 'claimsDeferred');
          return undefined;
        case 'interrupted': {
          const roundNumber = result.progress?.rounds ?? 1;
          const turn: Turn = { ...base, holder: undefined, round: verdict.round, attempt: verdict.attempt, roundNumber };
          logger.warn('an earlier attempt was interrupted; it counts as made', { attempt: verdict.attempt });
          await conclude(turn, 'interrupted', interruptedResult(), at);
          return undefined;
        }
        case 'resend-next':
          await sendAttempt(message, planWait(verdict.waitSeconds, at), { round: verdict.round, attempt: verdict.attempt });
          return undefined;
        case 'to-dlq':
          return park(record, logger, 'exhausted');
        case 'drop':
          deps.metrics.addMetric('duplicatesDropped', MetricUnit.Count, 1);
          logger.debug('message dropped without an attempt', { why: verdict.why, round, attempt });
          return undefined;
      }
    }
    throw new Error(`claim of ${message.deliveryId} refused twice`);
  }

  /** Records the attempt, then carries out the plan for its delivery, subscription and message. */
  async function conclude(turn: Turn, outcome: PlannedOutcome, result: HttpAttemptResult, at: Date): Promise<void> {
    const { message, subscription, logger } = turn;
    // The endpoint's failing streak counts what it answered; an interrupted attempt says nothing of it.
    const failingSince = outcome === 'retry' || outcome === 'failed' ? await recordFailure(turn, outcome, result, at) : undefined;
    const plan = planAttempt({
      outcome,
      attempt: turn.attempt,
      allowed: turn.allowed,
      ...(result.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: result.retryAfterSeconds }),
      ...(failingSince === undefined ? {} : { failingSince }),
      now: at,
      settings,
      random,
    });
    const finishedAt = now();
    const next = plan.message.kind === 'send-next' ? planWait(plan.message.waitSeconds, finishedAt) : undefined;
    const written = await deps.deliveries.recordAttempt({
      identity: identityOf(message, subscription.url),
      round: turn.round,
      attempt: attemptRecord(turn, at, result, plan.retryInSeconds),
      ...(turn.holder === undefined ? {} : { holder: turn.holder }),
      status: plan.status,
      ...(plan.retryInSeconds === undefined
        ? {}
        : { nextAttemptAt: new Date(finishedAt.getTime() + plan.retryInSeconds * 1000).toISOString() }),
      ...(plan.message.kind === 'to-dlq' ? parkedAs(turn.record, message) : {}),
      now: at.toISOString(),
      expiresAt: expiresAt(at),
    });
    if (written === 'stale') {
      // Another dispatcher judged this attempt interrupted after the lease ran out; its record stands.
      logger.warn('attempt result arrived after its claim ran out; not recorded', { attempt: turn.attempt });
      return;
    }
    countAttempt(result, outcome);
    logAttempt(turn, outcome, plan, result);
    await applyToSubscription(turn, outcome, plan, result, at);
    if (plan.message.kind === 'send-next' && next !== undefined) {
      await sendAttempt(message, next, { round: turn.round, attempt: plan.message.attempt });
    } else if (plan.message.kind === 'to-dlq') {
      await announce('delivery.exhausted', subscription, at, {
        deliveryId: message.deliveryId,
        eventType: message.event.type,
        reason: `failed ${turn.attempt} attempts: ${result.errorMessage ?? 'no answer'}`,
      });
      park(turn.record, logger, `schedule exhausted after attempt ${turn.attempt} of ${turn.allowed}`);
    }
  }

  /**
   * A failed attempt on the subscription: the failing clock (auto-disable), the error shown as
   * health, and — for failures that count — the circuit, which opens at the threshold or, after a
   * failed probe, opens again with a longer cool-down. Returns the failing clock's start.
   */
  async function recordFailure(turn: Turn, outcome: PlannedOutcome, result: HttpAttemptResult, at: Date): Promise<string | undefined> {
    const { subscription, logger } = turn;
    const counts = countsAgainstCircuit(outcome);
    const lastError = (result.errorMessage ?? `HTTP ${result.statusCode ?? '?'}`).slice(0, 300);
    const stored = await deps.subscriptions.recordFailure(subscription.fleetId, subscription.id, { now: at.toISOString(), lastError, countsForCircuit: counts });
    if (stored === undefined) return undefined;
    cache.update({ ...subscription, consecutiveFailures: stored.consecutiveFailures, lastError, ...(stored.failingSince === undefined ? {} : { failingSince: stored.failingSince }) });
    if (!counts) return stored.failingSince;
    const reopened = turn.probe && subscription.circuit !== undefined ? circuitAfterFailedProbe(subscription.circuit, at, settings) : undefined;
    const opened = reopened ?? (subscription.circuit === undefined ? circuitToOpen(stored.consecutiveFailures, at, settings) : undefined);
    if (opened !== undefined && (await deps.subscriptions.openCircuit(subscription.fleetId, subscription.id, opened, reopened === undefined ? 'closed' : 'half-open'))) {
      cache.invalidate(subscription.fleetId, subscription.id);
      if (reopened === undefined) {
        deps.metrics.addMetric('circuitOpened', MetricUnit.Count, 1);
        logger.warn('circuit opened: deliveries to this endpoint wait for a probe', { consecutiveFailures: stored.consecutiveFailures, nextProbeAt: opened.openUntil });
        await announce('circuit.opened', subscription, at, { reason: lastError, consecutiveFailures: stored.consecutiveFailures, nextProbeAt: opened.openUntil });
      } else {
        logger.info('probe failed; circuit stays open', { nextProbeAt: opened.openUntil, cooldownSeconds: opened.cooldownSeconds });
      }
    }
    return stored.failingSince;
  }

  /** Publishes an operator event; a failure to publish is logged and never fails the delivery. */
  async function announce(type: OperatorEventType, subscription: SubscriptionRecord, at: Date, detail: Omit<OperatorEventDetail, 'fleetId' | 'webhookId' | 'at'> = {}): Promise<void> {
    if (deps.operatorEvents === undefined) return;
    try {
      await deps.operatorEvents.publish(type, { fleetId: subscription.fleetId, webhookId: subscription.id, ...detail, at: at.toISOString() });
    } catch (error) {
      deps.logger.warn('could not publish an operator event', { type, error: error instanceof Error ? error.name : String(error) });
    }
  }

  async function applyToSubscription(turn: Turn, outcome: PlannedOutcome, plan: DeliveryPlan, result: HttpAttemptResult, at: Date) {
    const { subscription, logger } = turn;
    if (outcome === 'interrupted') return;
    await touch(subscription, at, logger);
    await trackSlowness(subscription, result);
    if (plan.disableReason !== undefined) {
      await disableSubscription(subscription, plan.disableReason, at, logger);
      return;
    }
    // The endpoint answered in a way that does not count against it: the streak and the circuit end.
    const closes = outcome === 'succeeded' || (turn.probe && !countsAgainstCircuit(outcome));
    const hasState = subscription.failingSince !== undefined || subscription.consecutiveFailures !== undefined || subscription.circuit !== undefined;
    if (closes && (hasState || turn.probe)) {
      const { failingSince, consecutiveFailures: _c, circuit, lastError: _e, ...rest } = subscription;
      if (outcome === 'succeeded') {
        await deps.subscriptions.clearFailing(subscription.fleetId, subscription.id);
        cache.update(rest);
      } else {
        // A probe answered (a 4xx): the endpoint is up, so the circuit closes; the answer was still a
        // failure, so the failing clock (auto-disable) keeps running.
        await deps.subscriptions.closeCircuit(subscription.fleetId, subscription.id);
        cache.update({ ...rest, ...(failingSince === undefined ? {} : { failingSince }) });
      }
      if (circuit !== undefined) {
        deps.metrics.addMetric('circuitClosed', MetricUnit.Count, 1);
        logger.info('circuit closed: the probe succeeded');
        await announce('circuit.closed', subscription, at);
      }
    }
  }

  /** Marks the endpoint slow (it then comes under the concurrency cap) or fast again; writes only on a change. */
  async function trackSlowness(subscription: SubscriptionRecord, result: HttpAttemptResult): Promise<void> {
    const slow = result.errorKind === 'timeout' || result.latencyMs >= settings.slowEndpointMs;
    if (slow === (subscription.slowSince !== undefined)) return;
    await deps.subscriptions.setSlow(subscription.fleetId, subscription.id, slow ? now().toISOString() : undefined);
    cache.invalidate(subscription.fleetId, subscription.id);
  }

  /**
   * Keeps `lastTriggeredAt` to the minute: a write only when the stored one is older. The records
   * of a batch to one endpoint share one write: each of them would otherwise see the same stale
   * time and send its own conditional write, every refused one still billed a write unit.
   */
  async function touch(subscription: SubscriptionRecord, at: Date, logger: RecordLogger): Promise<void> {
    const stale = new Date(at.getTime() - LAST_TRIGGERED_RESOLUTION_MS).toISOString();
    if (subscription.lastTriggeredAt !== undefined && subscription.lastTriggeredAt >= stale) return;
    const key = `${subscription.fleetId}\n${subscription.id}`;
    const running = touching.get(key);
    if (running !== undefined) return running;
    const write = (async () => {
      try {
        await deps.subscriptions.touch(subscription.fleetId, subscription.id, at.toISOString(), stale);
        cache.update({ ...subscription, lastTriggeredAt: at.toISOString() });
      } catch (error) {
        // Informational only: the attempt is recorded, and the next one tries again.
        logger.warn('could not update lastTriggeredAt', { error });
      } finally {
        touching.delete(key);
      }
    })();
    touching.set(key, write);
    return write;
  }

  /** Sends the message of an attempt to come (or the next hop of a long wait): a new message, a new nonce. */
  async function sendAttempt(
    message: DeliveryMessage,
    wait: { delaySeconds: number; notBefore?: string },
    changes: { round?: string; attempt?: number } = {},
  ): Promise<void> {
    const body = resent(message, { ...changes, ...(wait.notBefore === undefined ? {} : { notBefore: wait.notBefore }) });
    await deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: deps.deliveriesQueueUrl,
        MessageBody: encodeQueueBody(body),
        DelaySeconds: wait.delaySeconds,
        // The fleet is the tenant of the deliveries queue's fair queueing.
        MessageGroupId: message.fleetId,
      }),
    );
  }

  /** Leaves the message visible until the queue's redrive policy moves it to the DLQ. */
  function park(record: SQSRecord, logger: RecordLogger, reason: string): never {
    if (parked.size >= PARKED_MEMORY) parked.clear();
    if (!parked.has(record.messageId)) {
      parked.add(record.messageId);
      deps.metrics.addMetric('exhausted', MetricUnit.Count, 1);
      logger.info('delivery failed; its message goes on to the DLQ', { reason });
    }
    throw new RequeueError(reason, 0);
  }

  async function disableSubscription(subscription: SubscriptionRecord, reason: string, at: Date, logger: RecordLogger) {
    const changed = await deps.subscriptions.disable(subscription.fleetId, subscription.id, reason, at.toISOString());
    cache.invalidate(subscription.fleetId, subscription.id);
    const ended = await deps.deliveries.endPendingAsDisabled(subscription.id, reason, at.toISOString());
    if (changed) {
      deps.metrics.addMetric('subscriptionsDisabled', MetricUnit.Count, 1);
      await announce('subscription.disabled', subscription, at, { reason });
    }
    logger.warn('subscription disabled', { reason, pendingDeliveriesEnded: ended, alreadyDisabled: !changed });
  }

  async function endAsDisabled(message: DeliveryMessage, subscription: SubscriptionRecord | undefined, at: Date, logger: RecordLogger) {
    // The store keeps the URL of an earlier attempt; the placeholder shows only when there was none.
    const url = subscription?.url ?? DELETED_SUBSCRIPTION_URL;
    const reason = subscription === undefined ? 'the subscription was deleted' : 'the subscription is disabled';
    await deps.deliveries.endWithoutAttempt(identityOf(message, url), 'disabled', reason, at.toISOString(), expiresAt(at));
    deps.metrics.addMetric('deliveriesDisabled', MetricUnit.Count, 1);
    logger.info('delivery ended without an attempt', { reason });
  }

  function countAttempt(result: HttpAttemptResult, outcome: PlannedOutcome): void {
    deps.metrics.addMetric('attempts', MetricUnit.Count, 1);
    if (outcome !== 'interrupted') deps.metrics.addMetric('latency', MetricUnit.Milliseconds, result.latencyMs);
    if (outcome === 'succeeded') {
      deps.metrics.addMetric('succeeded', MetricUnit.Count, 1);
      return;
    }
    const byKind = deps.metrics.singleMetric();
    byKind.addDimension('errorKind', result.errorKind ?? 'http');
    byKind.addMetric('failed', MetricUnit.Count, 1);
  }

  function logAttempt(turn: Turn, outcome: PlannedOutcome, plan: DeliveryPlan, result: HttpAttemptResult): void {
    turn.logger.info('attempt made', {
      eventType: turn.message.event.type,
      url: loggableUrl(turn.subscription.url),
      round: turn.roundNumber,
      attempt: turn.attempt,
      allowed: turn.allowed,
      outcome,
      status: plan.status,
      statusCode: result.statusCode,
      latencyMs: result.latencyMs,
      errorKind: result.errorKind,
      errorMessage: result.errorMessage,
      retryInSeconds: plan.retryInSeconds,
    });
  }

  return (event, context?: Context) => {
    const deadline = now().getTime() + (context?.getRemainingTimeInMillis() ?? deps.defaultLeaseMs ?? DEFAULT_LEASE_MS);
    return processSqsBatch({ sqs: deps.sqs, queueUrl: deps.deliveriesQueueUrl, logger: deps.logger }, event, context, (record) =>
      handleRecord(record, deadline),
    );
  };
}

/** What the record keeps of a message going on to the DLQ: its id, and its nonce, which a redriven copy carries. */
function parkedAs(record: SQSRecord, message: DeliveryMessage): { parkedMessageId: string; parkedNonce?: string } {
  return { parkedMessageId: record.messageId, ...(message.nonce === undefined ? {} : { parkedNonce: message.nonce }) };
}

function identityOf(message: DeliveryMessage, webhookUrl: string): DeliveryIdentity {
  return {
    id: message.deliveryId,
    fleetId: message.fleetId,
    subscriptionId: message.subscriptionId,
    eventId: message.event.id,
    eventType: message.event.type,
    webhookUrl,
  };
}

function interruptedResult(): HttpAttemptResult {
  return {
    latencyMs: 0,
    responseHeaders: {},
    errorKind: 'interrupted',
    errorMessage: 'the dispatcher stopped during this attempt; the request may have been sent',
  };
}

function attemptRecord(turn: Turn, at: Date, result: HttpAttemptResult, retryInSeconds: number | undefined): AttemptRecord {
  const entry: AttemptRecord = { round: turn.roundNumber, attempt: turn.attempt, at: at.toISOString(), latencyMs: result.latencyMs };
  if (result.statusCode !== undefined) entry.statusCode = result.statusCode;
  if (result.responseContentLength !== undefined) entry.responseContentLength = result.responseContentLength;
  // A bounded selection: the attempt is stored in its delivery item, billed by size on every later write.
  const responseHeaders = storedResponseHeaders(result.responseHeaders);
  if (responseHeaders !== undefined) entry.responseHeaders = responseHeaders;
  if (result.responseBodyExcerpt !== undefined && result.responseBodyExcerpt !== '') {
    entry.responseBodyExcerpt = result.responseBodyExcerpt;
  }
  if (result.errorKind !== undefined) entry.errorKind = result.errorKind;
  if (result.errorMessage !== undefined) entry.errorMessage = result.errorMessage;
  if (retryInSeconds !== undefined) entry.retryInSeconds = retryInSeconds;
  return entry;
}

/**
 * The endpoint as a log line may show it: scheme, host and port. Its path or query may carry the
 * receiver's own credential (Slack-style paths, `?token=`), which belongs to the customer, not the logs.
 */
function loggableUrl(raw: string): string {
  try {
    return `${new URL(raw).origin}/…`;
  } catch {
    return '(unparsable URL)';
  }
}
