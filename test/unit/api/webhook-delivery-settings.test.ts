import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeploymentSettingsInput } from '../../../lambdas/core/settings';
import { createHarness, FLEET, TABLES, type Harness } from './harness';

let h: Harness | undefined;
afterEach(() => h?.restore());

function harness(settings: DeploymentSettingsInput = {}): Harness {
  h = createHarness({ settings });
  h.ddb.on(PutCommand, { TableName: TABLES.subscriptions }).resolves({});
  return h;
}

describe('tlsVerify', () => {
  it('is true by default and shown', async () => {
    const response = await harness().call('POST', `/fleets/${FLEET}/webhooks`, { body: { url: 'https://example.com/hook' } });
    expect(response.status).toBe(201);
    expect(response.body.tlsVerify).toBe(true);
  });

  it('false is refused, naming tlsVerify, unless the deployment allows insecure TLS', async () => {
    const refused = await harness().call('POST', `/fleets/${FLEET}/webhooks`, { body: { url: 'https://example.com/hook', tlsVerify: false } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toEqual([
      { field: 'tlsVerify', reason: 'can be false only where the deployment allows insecure TLS (setting allowInsecureTls), and this one does not' },
    ]);
    const allowed = await harness({ allowInsecureTls: true }).call('POST', `/fleets/${FLEET}/webhooks`, {
      body: { url: 'https://example.com/hook', tlsVerify: false },
    });
    expect(allowed.status).toBe(201);
    expect(allowed.body.tlsVerify).toBe(false);
    const item = h!.ddb.commandCalls(PutCommand)[0]!.args[0].input.Item as Record<string, unknown>;
    expect(item.tlsVerify).toBe(false);
  });
});

describe('timeoutSeconds', () => {
  it('is capped at 30 s unless the deployment allows long attempts (up to 300 s)', async () => {
    const refused = await harness().call('POST', `/fleets/${FLEET}/webhooks`, { body: { url: 'https://example.com/hook', timeoutSeconds: 120 } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toEqual([{ field: 'timeoutSeconds', reason: 'must be at most 30' }]);
    const long = await harness({ maxAttemptTimeoutSeconds: 300 }).call('POST', `/fleets/${FLEET}/webhooks`, {
      body: { url: 'https://example.com/hook', timeoutSeconds: 300 },
    });
    expect(long.status).toBe(201);
    expect(long.body.timeoutSeconds).toBe(300);
    const tooLong = await harness({ maxAttemptTimeoutSeconds: 300 }).call('POST', `/fleets/${FLEET}/webhooks`, {
      body: { url: 'https://example.com/hook', timeoutSeconds: 301 },
    });
    expect(tooLong.status).toBe(400);
  });
});
