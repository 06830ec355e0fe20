import { createServer } from 'node:http';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher } from '../../lambdas/dispatcher/dispatcher';
import { createAddressPolicy } from '../../lambdas/core/address';
import { deliveryIdFor } from '../../lambdas/core/ids';
import type { DeliveryMessage, DeliveryRecord } from '../../lambdas/core/records';
import { parseDeploymentSettings } from '../../lambdas/core/settings';
import { createHttpDelivery } from '../../lambdas/shared/http-delivery';
import { startPipeline, type Pipeline } from '../../local/pipeline';
import { startApiStack, type ApiStack, type IssuedToken } from './support/api-stack';
import { guardLoopbackOnly, type LoopbackGuard } from './support/loopback-guard';
import { PUBLIC_V4, tableResolver } from './support/resolver';
import { close, listen, startCountingListener, type CountingListener } from './support/servers';
import { storeSubscription, waitFor } from './support/subscriptions';
import { EndpointGates } from '../../lambdas/shared/endpoint-gates';
import { createDocumentClient } from '../../lambdas/shared/clients';
import { sqsRecord } from '../support/sqs-records';

/**
 * SSRF with allowPrivateTargets off. Every internal target is refused at create with a 400 naming
 * `url` where the API can know it, and always at delivery (error kind `blocked`), while a listener
 * on 127.0.0.1 and ::1 counts connections (must stay 0) and a socket guard refuses, and records,
 * any connection that would leave this machine.
 */

let stack: ApiStack;
let pipeline: Pipeline;
let listener: CountingListener;
let guard: LoopbackGuard;
let admin: IssuedToken;
let rebindLookups = 0;

const resolver = tableResolver({
  'public.example.com': [PUBLIC_V4],
  // What /etc/hosts answers; the API refuses the name itself (RFC 6761), the dispatcher its addresses.
  localhost: ['127.0.0.1', '::1'],
  'localhost.': ['127.0.0.1'],
  'api.localhost': ['127.0.0.1'],
  'loopback.example.com': ['127.0.0.1'],
  'mixed.example.com': [PUBLIC_V4, '127.0.0.1'],
  // Public when the API checks it, loopback once the dispatcher resolves it.
  'rebind.example.com': () => (rebindLookups++ === 0 ? [PUBLIC_V4] : ['127.0.0.1']),
});

/** Hosts of the issue's list; the port is filled in per phase. */
const INTERNAL_HOSTS = [
  '127.0.0.1',
  'localhost',
  '[::1]',
  '10.0.0.1',
  '172.16.0.1',
  '192.168.1.1',
  '169.254.169.254',
  '[fd00::1]',
  '[fe80::1]',
  '[::ffff:127.0.0.1]',
  '0.0.0.0',
  '2130706433',
  '0x7f.0.0.1',
  '017700000001',
  '100.64.0.1',
  'loopback.example.com',
  'mixed.example.com',
  // Beyond the issue's list: other spellings of the same places.
  '127.1',
  '0177.0.0.1',
  'LOCALHOST',
  'localhost.',
  'api.localhost',
  '[::]',
  '[0:0:0:0:0:ffff:7f00:1]',
  '[::ffff:a9fe:a9fe]',
  '[64:ff9b::a9fe:a9fe]',
  '[2002:7f00:1::]',
  '[fd00:ec2::254]',
];

beforeAll(async () => {
  guard = guardLoopbackOnly();
  listener = await startCountingListener();
  stack = await startApiStack({ settings: { allowPrivateTargets: false, retryDelaysSeconds: [1], retryJitter: 0, maxAttempts: 2 }, resolve: resolver, logLevel: 'WARN' });
  admin = await stack.issueToken(['*']);
}, 60_000);

afterAll(async () => {
  await pipeline?.stop();
  await stack?.stop();
  await listener?.stop();
  guard?.restore();
});

describe('SSRF at create', () => {
  it.each(INTERNAL_HOSTS)('https://%s/ is refused with a 400 naming url', async (host) => {
    const created = await stack.call('POST', '/fleets/ssrf/webhooks', { token: admin.token, body: { url: `https://${host}/hook` } });
    expect(created.status).toBe(400);
    expect(created.body.error.details).toEqual([{ field: 'url', reason: expect.any(String) }]);
  });

  it('a PATCH to an internal URL is refused the same way and leaves the webhook as it was', async () => {
    const created = await stack.call('POST', '/fleets/ssrf/webhooks', { token: admin.token, body: { url: 'https://public.example.com/ok' } });
    expect(created.status).toBe(201);
    for (const host of INTERNAL_HOSTS) {
      const patched = await stack.call('PATCH', `/fleets/ssrf/webhooks/${created.body.id}`, { token: admin.token, body: { url: `https://${host}/` } });
      expect(patched.status, host).toBe(400);
      expect(patched.body.error.details[0].field).toBe('url');
    }
    const read = await stack.call('GET', `/fleets/ssrf/webhooks/${created.body.id}`, { token: admin.token });
    expect(read.body.url).toBe('https://public.example.com/ok');
  });

  it('plain http to a public host is refused (no signed payload in clear to the internet)', async () => {
    const created = await stack.call('POST', '/fleets/ssrf/webhooks', { token: admin.token, body: { url: 'http://public.example.com/hook' } });
    expect(created.status).toBe(400);
    expect(created.body.error.details[0].field).toBe('url');
  });
});

describe('SSRF at delivery', () => {
  it('every internal target is blocked at delivery with no connection, including DNS rebinding', { timeout: 40_000 }, async () => {
    const fleetId = 'ssrf-delivery';
    // Rebinding: the API sees a public address and accepts the URL...
    const rebind = await stack.call('POST', `/fleets/${fleetId}/webhooks`, {
      token: admin.token,
      body: { url: `https://rebind.example.com:${listener.port}/hook` },
    });
    expect(rebind.status).toBe(201);
    // ...and the others are planted directly, as if the API had been bypassed or the rules had changed.
    const planted = await Promise.all(
      INTERNAL_HOSTS.map(async (host) => {
        const port = host.startsWith('[') ? listener.port6 : listener.port;
        const { subscription } = await storeSubscription(stack, { fleetId, url: `http://${host}:${port}/hook` });
        return subscription;
      }),
    );
    const targets = [...planted.map((subscription) => ({ id: subscription.id, url: subscription.url })), { id: rebind.body.id as string, url: rebind.body.url as string }];

    pipeline = startPipeline(stack.runtime, { resolver, waitTimeSeconds: 1, dispatcherConcurrency: 2 });
    const published = await stack.call('POST', `/fleets/${fleetId}/events`, { token: admin.token, body: { type: 'thread.completed', data: { probe: true } } });
    expect(published.status).toBe(202);
    const event = await waitFor('the stored event', () => stack.events.get(fleetId, published.body.id));

    const records = await Promise.all(
      targets.map((target) =>
        waitFor(`delivery to ${target.url}`, async () => {
          const record = await stack.deliveries.get(deliveryIdFor(fleetId, event.id, target.id, event.timestamp));
          // A claimed attempt not yet recorded has no status: wait for the record.
          return record?.status !== undefined && record.status !== 'pending' ? { target, record } : undefined;
        }),
      ),
    );
    for (const { target, record } of records) {
      expect(record, target.url).toMatchObject({ status: 'failed', attemptCount: 1, errorKind: 'blocked' });
      expect(record.attempts[0]?.statusCode, target.url).toBeUndefined();
    }
    expect(records.find(({ target }) => target.url.includes('rebind'))?.record.errorMessage).toMatch(/127\.0\.0\.1/);
    expect(listener.connections()).toBe(0);
    expect(guard.violations).toEqual([]);
  });

  it('a redirect to an internal address is not followed: failed, not retried, no connection', { timeout: 20_000 }, async () => {
    // The redirecting endpoint must itself be reachable, so this deployment allows exactly its address.
    const settings = parseDeploymentSettings({ allowPrivateTargets: ['127.0.0.2/32'], maxAttempts: 3, retryDelaysSeconds: [1] });
    const redirector = createServer((req, res) => {
      const to = req.url === '/metadata' ? 'http://169.254.169.254/latest/meta-data/' : `http://127.0.0.1:${listener.port}/internal`;
      res.writeHead(req.url === '/metadata' ? 307 : 302, { location: to }).end();
    });
    const port = await listen(redirector, '127.0.0.2');
    const http = createHttpDelivery({ policy: createAddressPolicy(settings.allowPrivateTargets), resolve: resolver });
    const sqs = new SQSClient({});
    const logger = new Logger({ serviceName: 'ssrf-redirect', logLevel: 'ERROR' });
    const dispatcher = createDispatcher({
      subscriptions: stack.subscriptions,
      deliveries: stack.deliveries,
      gates: new EndpointGates(createDocumentClient(), stack.runtime.tables.deliveries),
      secrets: stack.secrets,
      sqs,
      deliveriesQueueUrl: stack.runtime.queues.deliveriesUrl,
      settings,
      http,
      userAgent: 'Hookline/test',
      logger,
      metrics: new Metrics({ namespace: 'HooklineTest', serviceName: 'ssrf-redirect' }),
    });
    try {
      const fleetId = 'ssrf-redirect';
      const outcomes: DeliveryRecord[] = [];
      for (const [path, status] of [
        ['/loopback', 302],
        ['/metadata', 307],
      ] as const) {
        const { subscription } = await storeSubscription(stack, { fleetId, url: `http://127.0.0.2:${port}${path}` });
        const event = { id: `evt-redirect-${status}`, type: 'thread.completed', timestamp: new Date().toISOString(), data: {} };
        const message: DeliveryMessage = {
          v: 1,
          deliveryId: deliveryIdFor(fleetId, event.id, subscription.id, event.timestamp),
          fleetId,
          subscriptionId: subscription.id,
          event,
          reason: 'fanout',
        };
        const response = await dispatcher({ Records: [sqsRecord(message, { messageId: `m-${message.deliveryId}` })] });
        // Not retried: the message is done with (deleted by the event source mapping).
        expect(response.batchItemFailures).toEqual([]);
        const record = await stack.deliveries.get(message.deliveryId);
        expect(record).toMatchObject({ status: 'failed', attemptCount: 1, httpStatusCode: status, errorKind: 'http' });
        expect(record?.attempts[0]?.retryInSeconds).toBeUndefined();
        outcomes.push(record as DeliveryRecord);
      }
      expect(outcomes).toHaveLength(2);
      expect(listener.connections()).toBe(0);
      expect(guard.violations).toEqual([]);
    } finally {
      await http.close();
      sqs.destroy();
      await close(redirector);
    }
  });
});
