import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { STACK_BUNDLING } from '../../../bench/sections/bundles';
import { parseDeliveryMessage } from '../../../lambdas/dispatcher/message';
import { parseEventsQueueMessage } from '../../../lambdas/fanout/messages';
import { parseDeploymentSettings } from '../../../lambdas/core/settings';
import { ENV, readEnvironment } from '../../../lambdas/shared/environment';

/**
 * The queue messages are checked with zod/mini and the environment with plain code: the same
 * refusals, word for word, without classic zod's 444 KB in the modules that parse them; HTTP
 * delivery runs on Node's own client, so no HTTP library is bundled at all.
 */
describe('lean parsing of queue messages and the environment', () => {
  it.each(['lambdas/dispatcher/message.ts', 'lambdas/fanout/messages.ts', 'lambdas/shared/environment.ts'])(
    '%s, bundled alone, holds no classic zod of its own and no locale but English',
    async (entry) => {
      const { metafile } = await build({
        ...STACK_BUNDLING,
        entryPoints: [entry],
        // The deployment settings (parsed once at cold start) are checked elsewhere; only this module's own parsing counts here.
        external: ['*/core/settings', './settings'],
        write: false,
        metafile: true,
        logLevel: 'silent',
      });
      const used = Object.entries(Object.values(metafile.outputs)[0]!.inputs)
        .filter(([, input]) => input.bytesInOutput > 0)
        .map(([path]) => path);
      expect(used.filter((path) => path.includes('zod/v4/classic'))).toEqual([]);
      expect(used.filter((path) => /zod\/v4\/locales\/(?!en\.js)/.test(path))).toEqual([]);
    },
    120_000,
  );

  it('the dispatcher bundle holds no undici: webhook POSTs go through node:http and node:https', async () => {
    const { metafile } = await build({ ...STACK_BUNDLING, entryPoints: ['lambdas/dispatcher/handler.ts'], write: false, metafile: true, logLevel: 'silent' });
    const output = Object.values(metafile.outputs).find((entry) => entry.entryPoint !== undefined);
    const bundled = Object.entries(output?.inputs ?? {}).filter(([, input]) => input.bytesInOutput > 0).map(([path]) => path);
    expect(bundled.length).toBeGreaterThan(0);
    expect(bundled.filter((path) => path.includes('node_modules/undici/'))).toEqual([]);
  }, 120_000);

  it('the API bundle holds classic zod without its other locales: schemas import zod as a namespace', async () => {
    const { metafile } = await build({ ...STACK_BUNDLING, entryPoints: ['lambdas/api/handler.ts'], write: false, metafile: true, logLevel: 'silent' });
    const output = Object.values(metafile.outputs).find((entry) => entry.entryPoint !== undefined);
    const bundled = Object.entries(output?.inputs ?? {}).filter(([, input]) => input.bytesInOutput > 0).map(([path]) => path);
    expect(bundled.some((path) => path.includes('zod/v4/classic'))).toBe(true);
    expect(bundled.filter((path) => /zod\/v4\/locales\/(?!en\.js)/.test(path))).toEqual([]);
  }, 120_000);

  it('a refused delivery message reads as classic zod wrote it', () => {
    const body = JSON.stringify({
      v: 1,
      deliveryId: 'nope',
      fleetId: 'f',
      subscriptionId: 's',
      event: { id: 'e', type: 't', timestamp: 'x', data: {} },
      reason: 'fanout',
      attempt: 0,
    });
    expect(() => parseDeliveryMessage(body)).toThrow(
      'not a delivery message: deliveryId must be a delivery id; event.timestamp must be an ISO-8601 time; attempt Too small: expected number to be >=1',
    );
    expect(() => parseDeliveryMessage(JSON.stringify({ v: 2 }))).toThrow(/^not a delivery message: v Invalid input: expected 1/);
    expect(() => parseDeliveryMessage('{')).toThrow('message body is not JSON');
  });

  it('a refused events-queue message names the field and the reason', () => {
    const settings = parseDeploymentSettings({});
    const replay = { v: 1, kind: 'replay', fleetId: 'bad fleet', subscriptionId: '', since: 'yesterday', until: '2026-01-01T00:00:00Z' };
    expect(() => parseEventsQueueMessage(JSON.stringify(replay), settings)).toThrow(
      'invalid replay job: fleetId must match [A-Za-z0-9._:-]{1,128}; subscriptionId Too small: expected string to have >=1 characters; since must be an ISO-8601 time from 1970 on',
    );
  });

  it('the environment names every missing or blank variable, and trims what it reads', () => {
    expect(() => readEnvironment(['subscriptionsTable', 'deliveriesTable', 'sealingKeySecret'], { [ENV.deliveriesTable]: '  ', [ENV.sealingKeySecret]: 'k' })).toThrow(
      `Hookline configuration error: ${ENV.subscriptionsTable} must be set and non-empty; ${ENV.deliveriesTable} must be set and non-empty`,
    );
    expect(readEnvironment(['subscriptionsTable'], { [ENV.subscriptionsTable]: ' table ' })).toEqual({ subscriptionsTable: 'table' });
  });
});
