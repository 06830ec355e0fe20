import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type Pipeline } from '../../local/pipeline';
import { startApiStack, tokenSecretOf, type ApiAnswer, type ApiStack } from './support/api-stack';
import { FaultReceiver } from './support/fault-receiver';
import { captureOutput, type OutputCapture } from './support/log-capture';
import { tableResolver } from './support/resolver';
import { waitFor } from './support/subscriptions';

/**
 * Secrets after a full run: every route used, deliveries failing and retried, a rotation, bad and
 * good tokens, all at DEBUG log level. No signing secret (nor its key bytes) and no API token
 * appears in any log line of any component, nor in any response except create and rotate.
 */

let stack: ApiStack;
let pipeline: Pipeline;
let receiver: FaultReceiver;
let output: OutputCapture;
const responses: { route: string; answer: ApiAnswer }[] = [];

beforeAll(async () => {
  // From the very start: the stand-ins, the handlers' Powertools loggers and the pipeline all write here.
  output = captureOutput();
  receiver = new FaultReceiver();
  await receiver.start();
  const resolver = tableResolver({ localhost: ['127.0.0.1'] });
  stack = await startApiStack({
    settings: { allowPrivateTargets: ['127.0.0.0/8'], retryDelaysSeconds: [1], retryJitter: 0, maxAttempts: 3 },
    resolve: resolver,
    logLevel: 'DEBUG',
  });
  pipeline = startPipeline(stack.runtime, { resolver, waitTimeSeconds: 1 });
}, 60_000);

afterAll(async () => {
  await pipeline?.stop();
  await stack?.stop();
  await receiver?.stop();
  output?.restore();
});

describe('secrets in logs and responses', () => {
  it('a full run leaks no signing secret or token into any log line or any response but create/rotate', { timeout: 40_000 }, async () => {
    const fleet = 'fleet-secrets';
    const { token } = await stack.issueToken([fleet]);
    const tokenSecret = tokenSecretOf(token);
    const call = async (route: string, method: string, path: string, body?: unknown, callToken: string | null = token): Promise<ApiAnswer> => {
      const answer = await stack.call(method, path, { token: callToken, ...(body === undefined ? {} : { body }) });
      responses.push({ route, answer });
      return answer;
    };

    // Receivers often carry a credential in their URL (Slack-style paths, ?token=): it is the customer's
    // secret, shown to them by the API but never written to a log line.
    const path = '/secret-receiver/T0K3N-IN-PATH';
    const url = `${receiver.endpoint(path, (index) => (index === 0 ? { status: 500, headers: { 'x-echo': 'failure' } } : { status: 200 }))}?token=T0K3N-IN-QUERY`;
    const created = await call('create', 'POST', `/fleets/${fleet}/webhooks`, { url, headers: { 'X-Customer': 'acme' } });
    expect(created.status).toBe(201);
    const webhook = created.body.id as string;
    const first = created.body.secret as string;
    await call('get', 'GET', `/fleets/${fleet}/webhooks/${webhook}`);
    await call('list', 'GET', `/fleets/${fleet}/webhooks`);
    await call('patch', 'PATCH', `/fleets/${fleet}/webhooks/${webhook}`, { name: 'renamed' });

    const published = await call('publish', 'POST', `/fleets/${fleet}/events`, { type: 'thread.completed', data: { n: 1 } });
    expect(published.status).toBe(202);
    const [firstPost] = await waitFor('the first POST', () => (receiver.at(path).length > 0 ? receiver.at(path) : undefined));
    const deliveryId = String(firstPost?.headers['webhook-id']);
    // The first attempt fails (500) and the retry succeeds, signed with the first secret.
    await waitFor('the retried delivery', async () => ((await stack.deliveries.get(deliveryId))?.status === 'succeeded' ? true : undefined));
    const second = receiver.at(path)[1];
    expect(() => new Webhook(first).verify(second?.body ?? '', second?.headers as Record<string, string>)).not.toThrow();

    const rotated = await call('rotate', 'POST', `/fleets/${fleet}/webhooks/${webhook}/rotate`);
    expect(rotated.status).toBe(200);
    const next = rotated.body.secret as string;
    expect(next).not.toBe(first);
    const tested = await call('test', 'POST', `/fleets/${fleet}/webhooks/${webhook}/test`);
    expect(tested.status).toBe(202);
    await waitFor('the test delivery', async () => ((await stack.deliveries.get(tested.body.deliveryId))?.status === 'succeeded' ? true : undefined));
    await call('get delivery', 'GET', `/fleets/${fleet}/deliveries/${deliveryId}`);
    await call('list deliveries', 'GET', `/fleets/${fleet}/webhooks/${webhook}/deliveries`);
    await call('retry', 'POST', `/fleets/${fleet}/deliveries/${deliveryId}/retry`);
    await call('replay', 'POST', `/fleets/${fleet}/webhooks/${webhook}/replay`, {
      since: new Date(Date.now() - 3_600_000).toISOString(),
      until: new Date().toISOString(),
    });
    await waitFor('the retry and replay deliveries', () => (receiver.at(path).length >= 5 ? true : undefined));
    // Deliveries during the grace period carry both signatures; each secret verifies on its own.
    const late = receiver.at(path).at(-1);
    expect(() => new Webhook(next).verify(late?.body ?? '', late?.headers as Record<string, string>)).not.toThrow();
    expect(() => new Webhook(first).verify(late?.body ?? '', late?.headers as Record<string, string>)).not.toThrow();

    // Bad tokens and failed requests are logged too: still nothing secret.
    await call('tampered token', 'GET', `/fleets/${fleet}/webhooks`, undefined, `${token.slice(0, -3)}xyz`);
    await call('wrong fleet', 'GET', '/fleets/other/webhooks');
    await call('bad body', 'POST', `/fleets/${fleet}/webhooks`, { url: 'https://10.0.0.1/', secret: first });
    await call('delete', 'DELETE', `/fleets/${fleet}/webhooks/${webhook}`);

    const forbidden = [first, next, first.slice('whsec_'.length), next.slice('whsec_'.length), token, tokenSecret];
    const logged = output.text();
    for (const value of ['T0K3N-IN-PATH', 'T0K3N-IN-QUERY']) expect(logged.includes(value), `the endpoint's ${value} in the logs`).toBe(false);
    expect(output.logLines().length).toBeGreaterThan(20);
    expect(output.logLines().some((line) => line.message === 'attempt made')).toBe(true);
    for (const value of forbidden) expect(logged.includes(value), `a secret value in the logs`).toBe(false);

    for (const { route, answer } of responses) {
      const allowed = route === 'create' ? [first] : route === 'rotate' ? [next] : [];
      for (const value of forbidden.filter((candidate) => !allowed.some((shown) => shown.includes(candidate) || candidate.includes(shown)))) {
        expect(answer.raw.includes(value), `${route} response contains a secret`).toBe(false);
      }
    }
    // The bad-body echo case: the refused request's secret-looking field is not reflected back.
    expect(responses.find((entry) => entry.route === 'bad body')?.answer.status).toBe(400);
  });
});
