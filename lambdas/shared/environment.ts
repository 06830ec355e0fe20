import { parseDeploymentSettings, type DeploymentSettings } from '../core/settings';

/**
 * Environment contract between the CDK construct (and local mode) and the Lambda handlers.
 * Each handler reads what it needs once at cold start and fails loudly naming the variable.
 */
export const ENV = {
  subscriptionsTable: 'HOOKLINE_SUBSCRIPTIONS_TABLE',
  eventsTable: 'HOOKLINE_EVENTS_TABLE',
  deliveriesTable: 'HOOKLINE_DELIVERIES_TABLE',
  tokensTable: 'HOOKLINE_TOKENS_TABLE',
  eventsQueueUrl: 'HOOKLINE_EVENTS_QUEUE_URL',
  deliveriesQueueUrl: 'HOOKLINE_DELIVERIES_QUEUE_URL',
  /**
   * ARN (or name) of the deployment's one Secrets Manager secret: the key ring that seals every
   * subscription's signing secret and every inbound source's credentials.
   */
  sealingKeySecret: 'HOOKLINE_SEALING_KEY_SECRET',
  /** The inbound sources table. */
  inboundSourcesTable: 'HOOKLINE_INBOUND_SOURCES_TABLE',
  /** JSON of the deployment settings (see core/settings.ts). */
  settings: 'HOOKLINE_SETTINGS',
  /** The Hookline bus, where the dispatcher publishes operator events (optional: none are published without it). */
  eventBusName: 'HOOKLINE_EVENT_BUS_NAME',
  /**
   * The dispatcher's maximum concurrency (the event source mapping's, or local mode's pollers), so a
   * slow endpoint's concurrency cap can leave the other endpoints most of it (optional).
   */
  dispatcherConcurrency: 'HOOKLINE_DISPATCHER_CONCURRENCY',
} as const;

export type EnvKey = keyof typeof ENV;

/**
 * Reads the named variables from `source`; throws one Error naming every missing or bad one.
 */
export function readEnvironment<K extends EnvKey>(
  keys: readonly K[],
  source: NodeJS.ProcessEnv = process.env,
): Record<K, string> {
  const values = {} as Record<K, string>;
  const problems: string[] = [];
  for (const key of keys) {
    const name = ENV[key];
    // A plain check, not a schema: every handler reads these at cold start, and this needs no library.
    const value = source[name]?.trim();
    if (value === undefined || value === '') problems.push(`${name} must be set and non-empty`);
    else values[key] = value;
  }
  if (problems.length > 0) throw new Error(`Hookline configuration error: ${problems.join('; ')}`);
  return values;
}

/** Deployment settings from `HOOKLINE_SETTINGS` (defaults when unset). */
export function readSettings(source: NodeJS.ProcessEnv = process.env): DeploymentSettings {
  const raw = source[ENV.settings];
  let parsed: unknown = {};
  if (raw !== undefined && raw.trim() !== '') {
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new Error(`Hookline configuration error: ${ENV.settings} is not valid JSON`);
    }
  }
  return parseDeploymentSettings(parsed, ENV.settings);
}

/** An optional positive integer variable; undefined when unset, an error naming it when malformed. */
export function readPositiveInteger(key: EnvKey, source: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = source[ENV[key]];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`Hookline configuration error: ${ENV[key]} must be a positive integer`);
  return value;
}
