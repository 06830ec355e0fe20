import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttemptErrorKind, AttemptRecord, DeliveryRecord, DeliveryStatus, EventRecord } from '../../lambdas/core/records';
import { DEFAULT_MAX_EXCERPT_BYTES } from '../../lambdas/shared/http-delivery';
import { FaultReceiver, type Fault } from './support/fault-receiver';
import { startPipelineStack, type PipelineStack } from './support/pipeline-stack';
import { tableResolver } from './support/resolver';
import { storeSubscription, waitFor } from './support/subscriptions';
import { selfSignedCertificate } from './support/tls';

/**
 * The receiver fault matrix on the local runtime: real endpoints on 127.0.0.1 misbehave in every
 * way the issue lists, and each delivery's final status, attempts, error kinds and the retry delays
 * actually applied are checked, as is that nothing is lost or sent to the wrong endpoint.
 * Test-sized schedule: 1 s between attempts, 3 attempts, Retry-After capped at 3 s.
 */

const SETTINGS = {
  allowPrivateTargets: ['127.0.0.0/8'],
  retryDelaysSeconds: [1],
  retryJitter: 0,
  maxAttempts: 3,
  retryAfterMaxSeconds: 3,
};
const FIFTY_MB = 50 * 1024 * 1024;

interface ExpectedAttempt {
  statusCode?: number;
  errorKind?: AttemptErrorKind;
  /** Exact seconds, or an inclusive range (an HTTP-date has whole-second resolution). */
  retryInSeconds?: number | [number, number];
}

interface Case {
  name: string;
  fault?: (index: number) => Fault;
  /** For cases that are not about the HTTP endpoint (DNS, TLS). */
  url?: () => string;
  timeoutSeconds?: number;
  status: DeliveryStatus;
  attempts: ExpectedAttempt[];
  /** Ends in the deliveries DLQ (schedule exhausted on a retryable failure). */
  dlq?: boolean;
}

const retryAt = (fault: Fault) => (index: number): Fault => (index === 0 ? fault : { status: 200 });
const always = (fault: Fault) => (): Fault => fault;
const httpDateIn = (seconds: number) => new Date(Date.now() + seconds * 1000).toUTCString();

let tlsPort = 0;
let tlsHandshakes = 0;

const CASES: Case[] = [
  {
    name: '500 on every attempt',
    fault: always({ status: 500 }),
    status: 'failed',
    attempts: [
      { statusCode: 500, errorKind: 'http', retryInSeconds: 1 },
      { statusCode: 500, errorKind: 'http', retryInSeconds: 1 },
      { statusCode: 500, errorKind: 'http' },
    ],
    dlq: true,
  },
  {
    name: '503 with Retry-After in seconds',
    fault: retryAt({ status: 503, headers: { 'retry-after': '2' } }),
    status: 'succeeded',
    attempts: [{ statusCode: 503, errorKind: 'http', retryInSeconds: 2 }, { statusCode: 200 }],
  },
  {
    name: '503 with Retry-After as an HTTP-date',
    fault: (index) => (index === 0 ? { status: 503, headers: { 'retry-after': httpDateIn(3) } } : { status: 200 }),
    status: 'succeeded',
    attempts: [{ statusCode: 503, errorKind: 'http', retryInSeconds: [2, 3] }, { statusCode: 200 }],
  },
  {
    name: '503 with an absurd Retry-After (clamped to retryAfterMaxSeconds)',
    fault: retryAt({ status: 503, headers: { 'retry-after': '999999999999' } }),
    status: 'succeeded',
    attempts: [{ statusCode: 503, errorKind: 'http', retryInSeconds: 3 }, { statusCode: 200 }],
  },
  {
    name: '503 with an absurd Retry-After date (clamped)',
    fault: retryAt({ status: 503, headers: { 'retry-after': 'Fri, 31 Dec 9999 23:59:59 GMT' } }),
    status: 'succeeded',
    attempts: [{ statusCode: 503, errorKind: 'http', retryInSeconds: 3 }, { statusCode: 200 }],
  },
  {
    name: '429',
    fault: retryAt({ status: 429 }),
    status: 'succeeded',
    attempts: [{ statusCode: 429, errorKind: 'http', retryInSeconds: 1 }, { statusCode: 200 }],
  },
  {
    name: '408',
    fault: retryAt({ status: 408 }),
    status: 'succeeded',
    attempts: [{ statusCode: 408, errorKind: 'http', retryInSeconds: 1 }, { statusCode: 200 }],
  },
  {
    name: 'no answer (timeout)',
    fault: retryAt({ kind: 'hang' }),
    timeoutSeconds: 1,
    status: 'succeeded',
    attempts: [{ errorKind: 'timeout', retryInSeconds: 1 }, { statusCode: 200 }],
  },
  {
    name: 'connection reset mid-response',
    fault: always({ kind: 'reset' }),
    status: 'failed',
    attempts: [
      { errorKind: 'connection', retryInSeconds: 1 },
      { errorKind: 'connection', retryInSeconds: 1 },
      { errorKind: 'connection' },
    ],
    dlq: true,
  },
  {
    name: 'headers sent, body never finishes',
    fault: retryAt({ kind: 'headers-then-stall' }),
    timeoutSeconds: 1,
    status: 'succeeded',
    attempts: [{ errorKind: 'timeout', retryInSeconds: 1 }, { statusCode: 200 }],
  },
  {
    name: 'slow drip of 1 byte/s',
    // Each byte would reset an idle timer; the attempt's deadline must still hold.
    fault: retryAt({ kind: 'drip', intervalMs: 1_000 }),
    timeoutSeconds: 2,
    status: 'succeeded',
    attempts: [{ errorKind: 'timeout', retryInSeconds: 1 }, { statusCode: 200 }],
  },
  {
    name: '50 MB response body',
    fault: always({ kind: 'huge', bytes: FIFTY_MB }),
    status: 'succeeded',
    attempts: [{ statusCode: 200 }],
  },
  {
    // Binary bytes decode to U+FFFD, three bytes each once stored: the cap must hold for what is stored.
    name: '500 with a binary (non-UTF-8) body',
    fault: retryAt({ status: 500, headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(64 * 1024, 0xff) }),
    status: 'succeeded',
    attempts: [{ statusCode: 500, errorKind: 'http', retryInSeconds: 1 }, { statusCode: 200 }],
  },
  {
    name: '301 to another URL',
    fault: always({ status: 301, headers: { location: '/moved-here' } }),
    status: 'failed',
    attempts: [{ statusCode: 301, errorKind: 'http' }],
  },
  {
    name: '302 to another URL',
    fault: always({ status: 302, headers: { location: '/found-here' } }),
    status: 'failed',
    attempts: [{ statusCode: 302, errorKind: 'http' }],
  },
  {
    name: '400',
    fault: always({ status: 400 }),
    status: 'failed',
    attempts: [{ statusCode: 400, errorKind: 'http' }],
  },
  {
    name: 'DNS name that does not resolve',
    url: () => 'http://no-such-host.invalid:9/hook',
    status: 'failed',
    attempts: [
      { errorKind: 'dns', retryInSeconds: 1 },
      { errorKind: 'dns', retryInSeconds: 1 },
      { errorKind: 'dns' },
    ],
    dlq: true,
  },
  {
    name: 'TLS failure (self-signed certificate)',
    url: () => `https://127.0.0.1:${tlsPort}/hook`,
    status: 'failed',
    attempts: [
      { errorKind: 'tls', retryInSeconds: 1 },
      { errorKind: 'tls', retryInSeconds: 1 },
      { errorKind: 'tls' },
    ],
    dlq: true,
  },
];

let stack: PipelineStack;
let receiver: FaultReceiver;
let tlsServer: HttpsServer;

beforeAll(async () => {
  receiver = new FaultReceiver();
  await receiver.start();
  tlsServer = createHttpsServer(selfSignedCertificate(), (_req, res) => res.end('should never be reached'));
  tlsServer.on('tlsClientError', () => {
    tlsHandshakes += 1;
  });
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  tlsPort = (tlsServer.address() as AddressInfo).port;
  stack = await startPipelineStack({
    settings: SETTINGS,
    pipeline: { resolver: tableResolver({}), dispatcherConcurrency: 6, batchSize: 2 },
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await receiver?.stop();
  tlsServer?.closeAllConnections();
  await new Promise<void>((resolve) => (tlsServer ? tlsServer.close(() => resolve()) : resolve()));
});

function expectRetryIn(actual: number | undefined, expected: ExpectedAttempt['retryInSeconds'], label: string): void {
  if (Array.isArray(expected)) {
    expect(actual, label).toBeGreaterThanOrEqual(expected[0]);
    expect(actual, label).toBeLessThanOrEqual(expected[1]);
  } else {
    expect(actual, label).toBe(expected);
  }
}

/** The next attempt starts `retryInSeconds` after the end of the previous one, give or take the queue's polling. */
function expectDelayApplied(previous: AttemptRecord, next: AttemptRecord, label: string): void {
  const gap = Date.parse(next.at) - Date.parse(previous.at);
  const planned = (previous.retryInSeconds ?? 0) * 1000 + previous.latencyMs;
  expect(gap, `${label}: gap after attempt ${previous.attempt}`).toBeGreaterThanOrEqual(planned - 250);
  // Generous above: queue polling and a loaded CI machine add latency, never a shortcut.
  expect(gap, `${label}: gap after attempt ${previous.attempt}`).toBeLessThanOrEqual(planned + 5_000);
}

describe('receiver fault matrix', () => {
  it('every fault ends with the right status, attempts, error kinds and applied delays; nothing lost or misdelivered', { timeout: 60_000 }, async () => {
    const planned = await Promise.all(
      CASES.map(async (fault, index) => {
        const fleetId = `fault-${index}`;
        const path = `/case-${index}`;
        const url = fault.url?.() ?? receiver.endpoint(path, fault.fault ?? always({ status: 200 }));
        const { subscription } = await storeSubscription(stack, {
          fleetId,
          url,
          ...(fault.timeoutSeconds === undefined ? {} : { timeoutSeconds: fault.timeoutSeconds }),
        });
        return { fault, fleetId, path, subscriptionId: subscription.id };
      }),
    );
    const published = await Promise.all(
      planned.map(async (plan, index) => {
        const event: EventRecord = await stack.publish(plan.fleetId, 'thread.completed', { case: plan.fault.name }, `evt-fault-${index}`);
        return { ...plan, event, deliveryId: stack.deliveryId(event, plan.subscriptionId) };
      }),
    );

    const settled = await Promise.all(
      published.map(async (plan) => ({
        ...plan,
        record: await stack.settled(plan.deliveryId, (record) => record.status !== 'pending' && record.attemptCount >= plan.fault.attempts.length, 30_000),
      })),
    );

    for (const { fault, record } of settled) {
      const label = fault.name;
      expect(record.status, label).toBe(fault.status);
      expect(record.attemptCount, label).toBe(fault.attempts.length);
      expect(record.attempts, label).toHaveLength(fault.attempts.length);
      fault.attempts.forEach((expected, index) => {
        const attempt = record.attempts[index] as AttemptRecord;
        expect(attempt.attempt, label).toBe(index + 1);
        expect(attempt.statusCode, `${label} attempt ${index + 1} status`).toBe(expected.statusCode);
        expect(attempt.errorKind, `${label} attempt ${index + 1} kind`).toBe(expected.errorKind);
        expectRetryIn(attempt.retryInSeconds, expected.retryInSeconds, `${label} attempt ${index + 1} retryInSeconds`);
        if (index > 0) expectDelayApplied(record.attempts[index - 1] as AttemptRecord, attempt, label);
      });
      const last = fault.attempts[fault.attempts.length - 1] as ExpectedAttempt;
      expect(record.errorKind, label).toBe(last.errorKind);
      expect(record.nextAttemptAt, label).toBeUndefined();
    }

    // Deadlines: a timeout is the subscription's timeout, not more, however the bytes trickle in.
    const byName = (name: string) => settled.find((plan) => plan.fault.name === name) as (typeof settled)[number];
    for (const [name, seconds] of [
      ['no answer (timeout)', 1],
      ['headers sent, body never finishes', 1],
      ['slow drip of 1 byte/s', 2],
    ] as const) {
      const latency = byName(name).record.attempts[0]?.latencyMs ?? 0;
      expect(latency, name).toBeGreaterThanOrEqual(seconds * 1000 - 50);
      expect(latency, name).toBeLessThan(seconds * 1000 + 1_500);
    }

    // 50 MB: reading stopped at the excerpt cap; the sender was cut off long before the end.
    const huge = byName('50 MB response body');
    expect(huge.record.responseContentLength).toBe(FIFTY_MB);
    expect(Buffer.byteLength(huge.record.attempts[0]?.responseBodyExcerpt ?? '')).toBeLessThanOrEqual(DEFAULT_MAX_EXCERPT_BYTES);
    const hugeStats = await waitFor('the 50 MB answer to be cut off', () => {
      const stats = receiver.huge.get(huge.path);
      return stats?.closedEarly ? stats : undefined;
    });
    expect(hugeStats.pulled).toBeLessThan(16 * 1024 * 1024);

    const binary = byName('500 with a binary (non-UTF-8) body').record.attempts[0];
    // Chunked, so the length is what was read before reading stopped.
    expect(binary?.responseContentLength).toBeGreaterThanOrEqual(DEFAULT_MAX_EXCERPT_BYTES);
    expect(Buffer.byteLength(binary?.responseBodyExcerpt ?? '')).toBeGreaterThan(0);
    expect(Buffer.byteLength(binary?.responseBodyExcerpt ?? '')).toBeLessThanOrEqual(DEFAULT_MAX_EXCERPT_BYTES);

    // Redirects are not followed.
    expect(receiver.at('/moved-here')).toHaveLength(0);
    expect(receiver.at('/found-here')).toHaveLength(0);
    // The TLS endpoint saw a handshake per attempt and not one request.
    expect(tlsHandshakes).toBeGreaterThanOrEqual(3);

    // Nothing misdelivered: every request at an endpoint is its own delivery, signed for its own fleet.
    for (const request of receiver.requests) {
      const plan = settled.find((candidate) => candidate.path === request.path);
      expect(plan, `unexpected request to ${request.path}`).toBeDefined();
      expect(request.headers['webhook-id']).toBe(plan?.deliveryId);
      expect(JSON.parse(request.body)).toMatchObject({ id: plan?.event.id, fleetId: plan?.fleetId, data: { case: plan?.fault.name } });
    }
    for (const plan of settled.filter((candidate) => candidate.fault.url === undefined)) {
      expect(receiver.at(plan.path), plan.fault.name).toHaveLength(plan.fault.attempts.length);
    }

    // Nothing lost: the exhausted ones wait in the DLQ, the queues are otherwise empty.
    const { queues } = stack.runtime;
    const exhausted = settled.filter((plan) => plan.fault.dlq === true).map((plan) => plan.deliveryId).sort();
    await waitFor('the exhausted deliveries in the DLQ', async () => ((await stack.depth(queues.deliveriesDlqUrl)) === exhausted.length ? true : undefined));
    const parked = (await stack.drain(queues.deliveriesDlqUrl)).map((body) => (JSON.parse(body) as { deliveryId: string }).deliveryId).sort();
    expect(parked).toEqual(exhausted);
    // A waiting retry is a delayed message now (e.g. the 410 subscription's other delivery): once it
    // comes due it is handled (ended as disabled) and the queue empties; nothing stays behind.
    await waitFor('the deliveries queue to empty', async () => ((await stack.depth(queues.deliveriesUrl)) === 0 ? true : undefined), 20_000);
    expect(await stack.depth(queues.eventsUrl)).toBe(0);
  });

  it('410 disables the subscription; its other pending delivery ends disabled without another POST', { timeout: 30_000 }, async () => {
    const fleetId = 'fault-gone';
    const path = '/gone';
    // The first delivery is told to come back in 3 s; the second delivery meanwhile gets 410.
    const url = receiver.endpoint(path, (index) => (index === 0 ? { status: 503, headers: { 'retry-after': '3' } } : { status: 410 }));
    const { subscription } = await storeSubscription(stack, { fleetId, url });
    const first = await stack.publish(fleetId, 'thread.completed', { n: 1 }, 'evt-gone-1');
    const firstId = stack.deliveryId(first, subscription.id);
    await stack.settled(firstId, (record) => record.attemptCount === 1);
    const second = await stack.publish(fleetId, 'thread.completed', { n: 2 }, 'evt-gone-2');
    const secondId = stack.deliveryId(second, subscription.id);

    const gone = await stack.settled(secondId, (record) => record.status === 'disabled');
    expect(gone).toMatchObject({ attemptCount: 1, httpStatusCode: 410 });
    const pendingEnded: DeliveryRecord = await stack.settled(firstId, (record) => record.status === 'disabled');
    expect(pendingEnded.attemptCount).toBe(1);
    expect(pendingEnded.errorMessage).toMatch(/410/);
    const disabled = await stack.subscriptions.get(fleetId, subscription.id, true);
    expect(disabled).toMatchObject({ enabled: false, disabledReason: expect.stringMatching(/410/) });

    // The first delivery's retry comes back after its 3 s and ends without a POST (its message is deleted).
    await waitFor('the retry message to be handled', async () => ((await stack.depth(stack.runtime.queues.deliveriesUrl)) === 0 ? true : undefined), 15_000);
    expect(receiver.at(path)).toHaveLength(2);
    const after = await stack.deliveries.get(firstId);
    expect(after).toMatchObject({ status: 'disabled', attemptCount: 1 });
    expect(await stack.depth(stack.runtime.queues.deliveriesDlqUrl)).toBe(0);
  });
});
