import { describe, expect, it } from 'vitest';
import {
  DEFAULT_EVENT_CATALOG,
  DEFAULT_RETRY_DELAYS_SECONDS,
  parseDeploymentSettings,
  TEST_EVENT_TYPE,
} from '../../../lambdas/core/settings';
import { readEnvironment, readSettings } from '../../../lambdas/shared/environment';

describe('deployment settings', () => {
  it('applies the catalog defaults', () => {
    const settings = parseDeploymentSettings({});
    expect(settings.maxAttempts).toBe(9);
    // A poison-message bound with slack, no longer tied to maxAttempts (AWS asks for ≥ 5 behind Lambda).
    expect(settings.deliveriesMaxReceiveCount).toBe(10);
    expect(settings.retryDelaysSeconds).toEqual([5, 30, 120, 600, 3_600, 10_800, 21_600, 36_000]);
    expect(settings.retryJitter).toBe(0.2);
    expect(settings.attemptTimeoutSeconds).toBe(10);
    expect(settings.signatureHeaderPrefix).toBe('X-Webhook');
    expect(settings.allowPrivateTargets).toBe(false);
    expect(settings.eventRetentionDays).toBe(30);
    expect(settings.rotationGraceHours).toBe(24);
    expect(settings.eventCatalog).toEqual([...DEFAULT_EVENT_CATALOG]);
    expect(settings.eventCatalog).not.toContain(TEST_EVENT_TYPE);
    expect(DEFAULT_RETRY_DELAYS_SECONDS.reduce((a, b) => a + b, 0) / 3600).toBeCloseTo(20.2, 1);
  });

  it.each([
    [{ maxAttempts: 0 }, 'maxAttempts'],
    [{ attemptTimeoutSeconds: 31 }, 'attemptTimeoutSeconds'],
    [{ deliveriesMaxReceiveCount: 4 }, 'deliveriesMaxReceiveCount'],
    [{ deliveriesMaxReceiveCount: 1_001 }, 'deliveriesMaxReceiveCount'],
    [{ retryAfterMaxSeconds: 43_201 }, 'retryAfterMaxSeconds'],
    [{ eventCatalog: ['thread.completed', 'thread.completed'] }, 'eventCatalog'],
    [{ eventCatalog: ['webhook.test'] }, 'eventCatalog'],
    [{ eventCatalog: ['NotDotted'] }, 'eventCatalog.0'],
    [{ retryDelaysSeconds: [43_201] }, 'retryDelaysSeconds.0'],
    [{ allowPrivateTargets: ['10.0.0.0/33'] }, 'allowPrivateTargets.0'],
    [{ allowPrivateTargets: ['not a range'] }, 'allowPrivateTargets.0'],
    [{ signatureHeaderPrefix: 'X Agent' }, 'signatureHeaderPrefix'],
    [{ unknownSetting: 1 }, '(root)'],
  ])('refuses %j naming %s', (input, field) => {
    expect(() => parseDeploymentSettings(input)).toThrow(new RegExp(`Invalid Hookline settings: .*${field.replace(/[().]/g, '\\$&')}`));
  });

  it('accepts CIDR allow-lists of both families', () => {
    expect(parseDeploymentSettings({ allowPrivateTargets: ['10.0.0.0/8', '::1/128'] }).allowPrivateTargets).toEqual([
      '10.0.0.0/8',
      '::1/128',
    ]);
  });
});

describe('environment contract', () => {
  it('names every missing variable', () => {
    expect(() => readEnvironment(['subscriptionsTable', 'deliveriesQueueUrl'], { HOOKLINE_SUBSCRIPTIONS_TABLE: ' ' })).toThrow(
      /HOOKLINE_SUBSCRIPTIONS_TABLE must be set and non-empty; HOOKLINE_DELIVERIES_QUEUE_URL must be set/,
    );
  });

  it('reads settings JSON and reports bad JSON by variable name', () => {
    expect(readSettings({ HOOKLINE_SETTINGS: '{"maxAttempts":3}' }).maxAttempts).toBe(3);
    expect(readSettings({}).maxAttempts).toBe(9);
    expect(() => readSettings({ HOOKLINE_SETTINGS: '{' })).toThrow(/HOOKLINE_SETTINGS is not valid JSON/);
    expect(() => readSettings({ HOOKLINE_SETTINGS: '{"maxAttempts":0}' })).toThrow(/HOOKLINE_SETTINGS: maxAttempts/);
  });
});
