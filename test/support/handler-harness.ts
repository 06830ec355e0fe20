import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { parseDeploymentSettings, type DeploymentSettingsInput } from '../../lambdas/core/settings';
import type { SubscriptionRecord } from '../../lambdas/core/records';
import { captureOutput as captureAllOutput } from './output-capture';
import { sealedSecrets } from './sealing-key';

export const TABLES = {
  subscriptions: 'test-subscriptions',
  events: 'test-events',
  deliveries: 'test-deliveries',
};
export const QUEUES = {
  events: 'http://127.0.0.1:1/000000000000/events',
  deliveries: 'http://127.0.0.1:1/000000000000/deliveries',
};

export function testSettings(overrides: DeploymentSettingsInput = {}) {
  return parseDeploymentSettings({
    allowPrivateTargets: ['127.0.0.0/8', '::1/128'],
    retryDelaysSeconds: [5, 30, 120],
    retryJitter: 0,
    maxAttempts: 4,
    ...overrides,
  });
}

export { sqsEvent, sqsRecord } from './sqs-records';

/**
 * Everything Powertools writes (log lines on stdout and stderr, EMF metrics on stdout), captured
 * (test/support/output-capture.ts); `logs()` keeps the log lines, parsed, `raw()` everything.
 */
export function captureOutput(): { logs: () => Record<string, unknown>[]; raw: () => string; restore: () => void } {
  const capture = captureAllOutput();
  return { logs: capture.logLines, raw: capture.text, restore: capture.restore };
}

export function testObservability() {
  return {
    logger: new Logger({ serviceName: 'test', logLevel: 'INFO' }),
    metrics: new Metrics({ namespace: 'HooklineTest', serviceName: 'test' }),
  };
}

export function subscription(overrides: Partial<SubscriptionRecord> = {}): SubscriptionRecord {
  return {
    fleetId: 'fleet-1',
    id: 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CD',
    url: 'http://hook.test/receive',
    enabled: true,
    ...sealedSecrets(overrides.fleetId ?? 'fleet-1', overrides.id ?? 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CD'),
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    ...overrides,
  };
}
