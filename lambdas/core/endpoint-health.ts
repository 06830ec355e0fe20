import type { AttemptOutcome } from './outcome';
import type { CircuitRecord, SubscriptionRecord } from './records';
import type { DeploymentSettings } from './settings';

/**
 * One endpoint cannot hurt the others: a circuit breaker per subscription, and the rule for when
 * its rate limit and concurrency cap apply. Pure; the dispatcher carries the answers out against
 * the subscription item (shared by every dispatcher) and the gate items of the deliveries table.
 *
 * Circuit: closed → (N failed attempts in a row) → open: deliveries wait without a POST, as delayed
 * messages that consume no attempt → after the cool-down one dispatcher claims the probe
 * (half-open) → success closes it, failure reopens it with the cool-down doubled (to a maximum).
 */

export type CircuitSettings = Pick<
  DeploymentSettings,
  'circuitBreakerThreshold' | 'circuitBreakerCooldownSeconds' | 'circuitBreakerMaxCooldownSeconds'
>;

/** What the circuit lets a delivery do now. */
export type CircuitGate =
  | { kind: 'pass' }
  /** Try to become the probe of an open circuit whose cool-down is over. */
  | { kind: 'probe' }
  /** Wait (a delayed message, no attempt) this long before asking again. */
  | { kind: 'wait'; seconds: number };

/**
 * Waiting deliveries come back spread over this share of the cool-down, so a circuit that closes
 * releases them at a bounded rate instead of all at once.
 */
const RELEASE_SPREAD = 1;
/** A delivery that finds a probe in flight looks again this soon. */
const PROBE_WAIT_SECONDS = 5;

export function circuitGate(circuit: CircuitRecord | undefined, now: Date, random: () => number = Math.random): CircuitGate {
  if (circuit === undefined) return { kind: 'pass' };
  const nowMs = now.getTime();
  if (circuit.state === 'half-open') {
    if (circuit.probeUntil !== undefined && circuit.probeUntil >= nowMs) return { kind: 'wait', seconds: jittered(PROBE_WAIT_SECONDS, random) };
    return { kind: 'probe' };
  }
  const remainingMs = Date.parse(circuit.openUntil) - nowMs;
  if (remainingMs <= 0) return { kind: 'probe' };
  return { kind: 'wait', seconds: Math.ceil(remainingMs / 1000) + Math.floor(random() * circuit.cooldownSeconds * RELEASE_SPREAD) };
}

/** Whether an attempt's outcome counts against the endpoint's circuit (timeouts, connection errors, 5xx, 429). */
export function countsAgainstCircuit(outcome: AttemptOutcome | 'interrupted'): boolean {
  return outcome === 'retry';
}

/** The circuit after `failures` failed attempts in a row; undefined while it stays closed. */
export function circuitToOpen(failures: number, now: Date, settings: CircuitSettings): CircuitRecord | undefined {
  if (settings.circuitBreakerThreshold === 0 || failures < settings.circuitBreakerThreshold) return undefined;
  return open(now, settings.circuitBreakerCooldownSeconds);
}

/** The circuit after its probe failed: open again, the cool-down doubled up to the maximum. */
export function circuitAfterFailedProbe(previous: CircuitRecord, now: Date, settings: CircuitSettings): CircuitRecord {
  const cooldown = Math.min(previous.cooldownSeconds * 2, settings.circuitBreakerMaxCooldownSeconds);
  return { ...open(now, cooldown), since: previous.since };
}

function open(now: Date, cooldownSeconds: number): CircuitRecord {
  return {
    state: 'open',
    since: now.toISOString(),
    openUntil: new Date(now.getTime() + cooldownSeconds * 1000).toISOString(),
    cooldownSeconds,
  };
}

function jittered(seconds: number, random: () => number): number {
  return seconds + Math.floor(random() * seconds);
}

/**
 * The concurrency cap that applies to a subscription now; undefined when none does. A webhook's own
 * `maxConcurrency` always applies; the deployment's `endpointMaxConcurrency` applies once the
 * endpoint is slow. A slow endpoint's cap is also held to half the dispatcher's concurrency (when
 * known): each POST to it occupies a whole dispatcher invocation, since a batch ends with its slowest
 * record, so a cap at or above the dispatcher's concurrency would let one endpoint take all of it.
 */
export function concurrencyCap(
  subscription: Pick<SubscriptionRecord, 'maxConcurrency' | 'slowSince'>,
  settings: Pick<DeploymentSettings, 'endpointMaxConcurrency'>,
  dispatcherConcurrency?: number,
): number | undefined {
  const slow = subscription.slowSince !== undefined;
  const cap = subscription.maxConcurrency ?? (slow && settings.endpointMaxConcurrency > 0 ? settings.endpointMaxConcurrency : undefined);
  if (cap === undefined || !slow || dispatcherConcurrency === undefined) return cap;
  return Math.min(cap, Math.max(1, Math.floor(dispatcherConcurrency / 2)));
}

/** The rate limit that applies to a subscription; undefined when none does. */
export function rateLimit(
  subscription: Pick<SubscriptionRecord, 'rateLimitPerSecond'>,
  settings: Pick<DeploymentSettings, 'defaultRateLimitPerSecond'>,
): number | undefined {
  const limit = subscription.rateLimitPerSecond ?? settings.defaultRateLimitPerSecond;
  return limit > 0 ? limit : undefined;
}

/** What `GET …/webhooks/{id}` shows as `health`. */
export interface HealthView {
  state: 'closed' | 'open' | 'half-open';
  consecutiveFailures: number;
  /** When the circuit opened. */
  since?: string;
  /** When the next probe may go out, while open. */
  nextProbeAt?: string;
  lastError?: string;
  /** Attempts take longer than the deployment's slow threshold, so the concurrency cap applies. */
  slow: boolean;
}

export function healthView(subscription: SubscriptionRecord): HealthView {
  const { circuit } = subscription;
  return {
    state: circuit?.state ?? 'closed',
    consecutiveFailures: subscription.consecutiveFailures ?? 0,
    ...(circuit === undefined ? {} : { since: circuit.since }),
    ...(circuit?.state === 'open' ? { nextProbeAt: circuit.openUntil } : {}),
    ...(subscription.lastError === undefined ? {} : { lastError: subscription.lastError }),
    slow: subscription.slowSince !== undefined,
  };
}
