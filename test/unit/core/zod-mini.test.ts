import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { STACK_BUNDLING } from '../../../bench/sections/bundles';
import { parseDeploymentSettings } from '../../../lambdas/core/settings';
import { parseDeliveryMessage } from '../../../lambdas/dispatcher/message';
import { tracingDefine } from '../../../lib/functions';

/** The fan-out and dispatcher check their settings and messages with zod/mini: the same words, a small bundle. */
describe('zod/mini in the pipeline', () => {
  it.each(['dispatcher', 'fanout'])('the %s bundle has no classic zod and no locale but English', async (handler) => {
    const { metafile } = await build({
      ...STACK_BUNDLING,
      entryPoints: [`lambdas/${handler}/handler.ts`],
      define: tracingDefine('lambda'),
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const output = Object.values(metafile.outputs)[0]!;
    const used = Object.entries(output.inputs).filter(([, input]) => input.bytesInOutput > 0).map(([path]) => path);
    expect(used.filter((path) => path.includes('zod/v4/classic') || path.includes('zod-to-openapi'))).toEqual([]);
    expect(used.filter((path) => /zod\/v4\/locales\/(?!en\.js)/.test(path))).toEqual([]);
  }, 120_000);

  it('refusals read as classic zod wrote them', () => {
    expect(() => parseDeploymentSettings({ maxAttempts: 0 })).toThrow('Invalid Hookline settings: maxAttempts: Too small: expected number to be >=1');
    expect(() => parseDeploymentSettings({ retryJitter: 'x' })).toThrow('retryJitter: Invalid input: expected number, received string');
    expect(() => parseDeploymentSettings({ unknownSetting: 1 })).toThrow('(root): Unrecognized key: "unknownSetting"');
    const body = JSON.stringify({ v: 1, deliveryId: 'nope', fleetId: 'f', subscriptionId: 's', event: { id: 'e', type: 't', timestamp: 'x', data: {} }, reason: 'fanout', attempt: 0 });
    expect(() => parseDeliveryMessage(body)).toThrow(/deliveryId must be a delivery id; event\.timestamp must be an ISO-8601 time; attempt Too small: expected number to be >=1/);
  });

  it('defaults are fresh copies: changing one parse result leaves the next alone', () => {
    const first = parseDeploymentSettings({});
    first.eventCatalog.push('x.y');
    first.retryDelaysSeconds.push(1);
    const second = parseDeploymentSettings({});
    expect(second.eventCatalog).not.toContain('x.y');
    expect(second.retryDelaysSeconds).toHaveLength(8);
  });
});
