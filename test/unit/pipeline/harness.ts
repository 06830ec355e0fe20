import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { parseDeploymentSettings, type DeploymentSettingsInput } from '../../../lambdas/core/settings';
import type { SubscriptionRecord } from '../../../lambdas/core/records';
import { sealedSecrets } from '../../support/sealing-key';

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

export function sqsRecord(body: unknown, options: { receiveCount?: number; messageId?: string } = {}): SQSRecord {
  const messageId = options.messageId ?? randomUUID();
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDATEST',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:test',
    awsRegion: 'us-east-1',
  };
}

export function sqsEvent(...records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

/**
 * Everything Powertools writes (log lines on stdout and stderr, EMF metrics on stdout), captured
 * by wrapping both streams' write; `logs()` keeps the log lines, parsed.
 */
export function captureOutput(): { logs: () => Record<string, unknown>[]; raw: () => string; restore: () => void } {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((stream) => stream.write);
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof stream.write;
  }
  return {
    raw: () => chunks.join(''),
    logs: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.trim().startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => 'level' in line),
    restore: () => {
      streams.forEach((stream, index) => {
        stream.write = originals[index] as typeof stream.write;
      });
    },
  };
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
