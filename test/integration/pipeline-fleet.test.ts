import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSubscriptionId } from '../../lambdas/core/ids';
import { generateSigningSecret } from '../../lambdas/core/secrets';
import { putEvent, startHarness, waitFor, type PipelineHarness } from './pipeline-helpers';

let harness: PipelineHarness;

beforeAll(async () => {
  harness = await startHarness({ pipeline: { dispatcherConcurrency: 3 } });
});

afterAll(async () => {
  await harness?.stop();
});

describe('a large fleet', { timeout: 60_000 }, () => {
  it('fans one event out to 1,000 subscriptions, each delivered once with its own delivery id', async () => {
    const fleetId = 'fleet-large';
    const count = 1_000;
    const url = harness.receiver.endpoint('/fleet');
    // One signing secret, sealed for each subscription: a sealed value opens only on its own record.
    const value = { current: generateSigningSecret() };
    const now = new Date().toISOString();
    const ids = Array.from({ length: count }, () => newSubscriptionId());
    for (let index = 0; index < ids.length; index += 50) {
      await Promise.all(
        ids.slice(index, index + 50).map(async (id) =>
          harness.subscriptions.create({
            fleetId,
            id,
            url,
            enabled: true,
            ...(await harness.secrets.seal(fleetId, id, value)),
            createdAt: now,
            updatedAt: now,
          }),
        ),
      );
    }

    await putEvent(harness, fleetId, 'agent.created', { agentId: 'a-1' });
    const posts = await waitFor('every delivery', () => (harness.receiver.at('/fleet').length >= count ? harness.receiver.at('/fleet') : undefined), 45_000);
    expect(new Set(posts.map((post) => post.headers['webhook-id'])).size).toBe(count);
    await waitFor('the event marked fanned out', async () => {
      const page = await harness.events.listByTime(fleetId, { since: '2000-01-01T00:00:00.000Z', until: '2100-01-01T00:00:00.000Z' }, { limit: 1 });
      return page.items[0]?.fannedOutAt;
    });
  });
});
