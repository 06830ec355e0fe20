import { describe, expect, it } from 'vitest';
import {
  circuitAfterFailedProbe,
  circuitGate,
  circuitToOpen,
  concurrencyCap,
  countsAgainstCircuit,
  healthView,
  rateLimit,
  type CircuitGate,
  type CircuitSettings,
  type HealthView,
} from '../../../lambdas/core/endpoint-health';
import type { CircuitRecord, SubscriptionRecord } from '../../../lambdas/core/records';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const T = NOW.getTime();
const at = (offsetMs: number) => new Date(T + offsetMs).toISOString();
const SETTINGS: CircuitSettings = { circuitBreakerThreshold: 10, circuitBreakerCooldownSeconds: 30, circuitBreakerMaxCooldownSeconds: 1_800 };

const open = (overrides: Partial<CircuitRecord> = {}): CircuitRecord => ({
  state: 'open',
  since: at(-60_000),
  openUntil: at(10_500),
  cooldownSeconds: 30,
  ...overrides,
});
const halfOpen = (probeUntil: number | undefined): CircuitRecord => {
  const { probeUntil: _none, ...rest } = open({ state: 'half-open', openUntil: at(-1_000) });
  return probeUntil === undefined ? rest : { ...rest, probeUntil };
};

describe('circuitGate: what the circuit lets a delivery do now', () => {
  it.each<[string, CircuitRecord | undefined, number, CircuitGate]>([
    ['closed (no circuit stored) → pass', undefined, 0.5, { kind: 'pass' }],
    // Open, cool-down running: wait out the rest (rounded up) plus a spread over the cool-down.
    ['open, 10.5 s left, no spread → wait 11 s', open(), 0, { kind: 'wait', seconds: 11 }],
    ['open, 10.5 s left, half the spread → wait 11 + 15 s', open(), 0.5, { kind: 'wait', seconds: 26 }],
    ['open, 10.5 s left, the whole spread → wait 11 + 29 s', open(), 0.999, { kind: 'wait', seconds: 40 }],
    ['open with a doubled cool-down spreads over it', open({ cooldownSeconds: 120, openUntil: at(1_000) }), 0.5, { kind: 'wait', seconds: 61 }],
    ['open, a millisecond left → still wait', open({ openUntil: at(1) }), 0, { kind: 'wait', seconds: 1 }],
    // The cool-down is over: become the probe (if this dispatcher wins the claim).
    ['open, the cool-down ends this very moment → probe', open({ openUntil: at(0) }), 0.5, { kind: 'probe' }],
    ['open, the cool-down ended → probe', open({ openUntil: at(-5_000) }), 0.5, { kind: 'probe' }],
    // Half-open: one probe in flight holds it; everyone else looks again soon.
    ['half-open, the probe is live → wait 5 s', halfOpen(T + 20_000), 0, { kind: 'wait', seconds: 5 }],
    ['half-open, the probe is live → wait 5 s plus jitter', halfOpen(T + 20_000), 0.5, { kind: 'wait', seconds: 7 }],
    ['half-open, the probe lease ends this very moment → still wait', halfOpen(T), 0, { kind: 'wait', seconds: 5 }],
    ['half-open, the probe died (lease over) → probe', halfOpen(T - 1), 0.5, { kind: 'probe' }],
    ['half-open without a probe lease → probe', halfOpen(undefined), 0.5, { kind: 'probe' }],
  ])('%s', (_name, circuit, random, expected) => {
    expect(circuitGate(circuit, NOW, () => random)).toEqual(expected);
  });
});

describe('countsAgainstCircuit', () => {
  it.each([
    ['retry', true],
    ['succeeded', false],
    ['failed', false],
    ['disable', false],
    ['interrupted', false],
  ] as const)('%s → %s', (outcome, counts) => {
    expect(countsAgainstCircuit(outcome)).toBe(counts);
  });
});

describe('circuitToOpen: the circuit after N failed attempts in a row', () => {
  const opened: CircuitRecord = { state: 'open', since: at(0), openUntil: at(30_000), cooldownSeconds: 30 };
  it.each<[string, number, CircuitSettings, CircuitRecord | undefined]>([
    ['below the threshold → stays closed', 9, SETTINGS, undefined],
    ['no failures → stays closed', 0, SETTINGS, undefined],
    ['at the threshold → opens for the cool-down', 10, SETTINGS, opened],
    ['past the threshold (a race) → opens', 11, SETTINGS, opened],
    ['threshold 1 → the first failure opens it', 1, { ...SETTINGS, circuitBreakerThreshold: 1 }, opened],
    ['threshold 0 (breaker off) → never opens', 1_000, { ...SETTINGS, circuitBreakerThreshold: 0 }, undefined],
    ['threshold 0, no failures → closed', 0, { ...SETTINGS, circuitBreakerThreshold: 0 }, undefined],
    ['another cool-down', 10, { ...SETTINGS, circuitBreakerCooldownSeconds: 90 }, { ...opened, openUntil: at(90_000), cooldownSeconds: 90 }],
  ])('%s', (_name, failures, settings, expected) => {
    expect(circuitToOpen(failures, NOW, settings)).toEqual(expected);
  });
});

describe('circuitAfterFailedProbe: open again, the cool-down doubled up to the maximum', () => {
  it.each<[number, number]>([
    [30, 60],
    [60, 120],
    [900, 1_800],
    // Doubling past the maximum stops at it, and stays there.
    [1_000, 1_800],
    [1_800, 1_800],
  ])('cool-down %i s → %i s', (previous, expected) => {
    const before = halfOpen(T + 1_000);
    const after = circuitAfterFailedProbe({ ...before, cooldownSeconds: previous }, NOW, SETTINGS);
    expect(after).toEqual({ state: 'open', since: before.since, openUntil: at(expected * 1000), cooldownSeconds: expected });
    // The probe lease does not survive the reopening.
    expect(after).not.toHaveProperty('probeUntil');
  });

  it('keeps when the circuit first opened, not when the probe failed', () => {
    const after = circuitAfterFailedProbe(open({ since: '2026-02-28T00:00:00.000Z' }), NOW, SETTINGS);
    expect(after.since).toBe('2026-02-28T00:00:00.000Z');
  });

  it('repeated failed probes reach the maximum and never pass it', () => {
    let circuit = circuitToOpen(10, NOW, SETTINGS) as CircuitRecord;
    const cooldowns: number[] = [];
    for (let probe = 0; probe < 10; probe += 1) {
      circuit = circuitAfterFailedProbe(circuit, NOW, SETTINGS);
      cooldowns.push(circuit.cooldownSeconds);
    }
    expect(cooldowns).toEqual([60, 120, 240, 480, 960, 1_800, 1_800, 1_800, 1_800, 1_800]);
  });
});

describe('concurrencyCap: the cap that applies to a subscription now', () => {
  const SLOW = '2026-03-01T11:00:00.000Z';
  it.each<[string, { maxConcurrency?: number; slowSince?: string }, number, number | undefined]>([
    // The webhook's own setting applies always, slow or not.
    ['own maxConcurrency, fast', { maxConcurrency: 3 }, 10, 3],
    ['own maxConcurrency, slow', { maxConcurrency: 3, slowSince: SLOW }, 10, 3],
    ['own maxConcurrency above the default, slow', { maxConcurrency: 50, slowSince: SLOW }, 10, 50],
    ['own maxConcurrency with the deployment default off', { maxConcurrency: 2 }, 0, 2],
    // The deployment default applies only to a slow endpoint.
    ['no own setting, fast → none', {}, 10, undefined],
    ['no own setting, slow → the default', { slowSince: SLOW }, 10, 10],
    ['no own setting, slow, default 0 (off) → none', { slowSince: SLOW }, 0, undefined],
  ])('%s', (_name, subscription, endpointMaxConcurrency, expected) => {
    expect(concurrencyCap(subscription, { endpointMaxConcurrency })).toBe(expected);
  });
});

describe('concurrencyCap: a slow endpoint holds at most half the dispatchers', () => {
  const SLOW = '2026-03-01T11:00:00.000Z';
  it.each<[string, { maxConcurrency?: number; slowSince?: string }, number, number | undefined, number | undefined]>([
    ['slow, default 10, 50 dispatchers → 10', { slowSince: SLOW }, 10, 50, 10],
    ['slow, default 10, 4 dispatchers → 2', { slowSince: SLOW }, 10, 4, 2],
    ['slow, default 10, 2 dispatchers → 1', { slowSince: SLOW }, 10, 2, 1],
    ['slow, default 10, 1 dispatcher → 1 (never 0)', { slowSince: SLOW }, 10, 1, 1],
    ['slow, own 50, 20 dispatchers → 10', { maxConcurrency: 50, slowSince: SLOW }, 10, 20, 10],
    ['fast, own 50, 20 dispatchers → 50 (the endpoint keeps up)', { maxConcurrency: 50 }, 10, 20, 50],
    ['fast, no own setting → none', {}, 10, 4, undefined],
    ['slow, default off → none', { slowSince: SLOW }, 0, 4, undefined],
    ['slow, dispatcher concurrency unknown → the default', { slowSince: SLOW }, 10, undefined, 10],
  ])('%s', (_name, subscription, endpointMaxConcurrency, dispatchers, expected) => {
    expect(concurrencyCap(subscription, { endpointMaxConcurrency }, dispatchers)).toBe(expected);
  });
});

describe('rateLimit: the limit that applies to a subscription', () => {
  it.each<[string, number | undefined, number, number | undefined]>([
    ['none set, default 0 → none', undefined, 0, undefined],
    ['none set, a deployment default → the default', undefined, 50, 50],
    ['own limit, default 0 → own', 5, 0, 5],
    ['own limit overrides the default (lower)', 5, 50, 5],
    ['own limit overrides the default (higher)', 500, 50, 500],
  ])('%s', (_name, rateLimitPerSecond, defaultRateLimitPerSecond, expected) => {
    const subscription = rateLimitPerSecond === undefined ? {} : { rateLimitPerSecond };
    expect(rateLimit(subscription, { defaultRateLimitPerSecond })).toBe(expected);
  });
});

describe('healthView: what GET …/webhooks/{id} shows as health', () => {
  const base: SubscriptionRecord = {
    fleetId: 'fleet-1',
    id: 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CD',
    url: 'https://hook.example/receive',
    enabled: true,
    sealedSecret: 'v1.1.AAAAAAAAAAAAAAAA.c2VhbGVk.AAAAAAAAAAAAAAAAAAAAAA',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  };
  it.each<[string, Partial<SubscriptionRecord>, HealthView]>([
    ['a healthy endpoint', {}, { state: 'closed', consecutiveFailures: 0, slow: false }],
    ['failing, circuit still closed', { consecutiveFailures: 4, lastError: 'endpoint answered HTTP 503', failingSince: at(-60_000) }, { state: 'closed', consecutiveFailures: 4, lastError: 'endpoint answered HTTP 503', slow: false }],
    ['open: when it opened and when the next probe may go', { consecutiveFailures: 10, circuit: open() }, { state: 'open', consecutiveFailures: 10, since: at(-60_000), nextProbeAt: at(10_500), slow: false }],
    ['half-open: no next probe time (one is in flight)', { consecutiveFailures: 12, circuit: halfOpen(T + 5_000) }, { state: 'half-open', consecutiveFailures: 12, since: at(-60_000), slow: false }],
    ['slow', { slowSince: at(-1_000) }, { state: 'closed', consecutiveFailures: 0, slow: true }],
  ])('%s', (_name, overrides, expected) => {
    expect(healthView({ ...base, ...overrides })).toEqual(expected);
  });

  it('shows nothing of the URL, headers or secret', () => {
    const view = JSON.stringify(healthView({ ...base, headers: { authorization: 'Bearer t0ken' }, circuit: open(), lastError: 'timeout' }));
    expect(view).not.toContain('t0ken');
    expect(view).not.toContain(base.sealedSecret.split('.')[3]);
    expect(view).not.toContain(base.url);
  });
});
