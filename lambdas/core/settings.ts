import ipaddr from 'ipaddr.js';
// zod/mini: smaller and quicker to load than classic zod, which matters at cold start; its
// messages ("Too small: expected number to be >=1") come from ./zod-messages.
import * as z from 'zod/mini';
import './zod-messages';

/**
 * The settings catalog: every deployment setting, declared once with its type, unit, default,
 * bounds, description and where it applies. From it come the runtime parser below (handlers and
 * local mode read `HOOKLINE_SETTINGS` with it), the construct's props type and validation
 * (lib/config.ts), the `cdk.json` example and the README settings table
 * (`npm run gen:settings`, checked by test/unit/docs/settings-docs.test.ts). Pure data, no AWS SDK.
 * CONTRIBUTING.md, "Add a setting", walks through one.
 */

/** The event type reserved for `POST …/webhooks/{id}/test`; it can never be subscribed to. */
export const TEST_EVENT_TYPE = 'webhook.test';

/** The default catalog of an agent platform's events, minus the reserved test type. */
export const DEFAULT_EVENT_CATALOG: readonly string[] = [
  'agent.created',
  'agent.updated',
  'agent.deleted',
  'thread.created',
  'thread.status.changed',
  'thread.completed',
  'thread.failed',
  'turn.created',
  'turn.completed',
  'turn.failed',
  'message.created',
  'approval.requested',
  'approval.resolved',
  'approval.granted',
  'schedule.created',
  'schedule.deleted',
  'schedule.triggered',
  'connection.attached',
  'connection.detached',
];

/** Delays in seconds before retry 1, 2, … (5 s, 30 s, 2 min, 10 min, 1 h, 3 h, 6 h, 10 h: about 20 h in all). */
export const DEFAULT_RETRY_DELAYS_SECONDS: readonly number[] = [5, 30, 120, 600, 3_600, 10_800, 21_600, 36_000];

/** SQS refuses a visibility timeout above 12 hours (and counts it from the receive). */
export const MAX_VISIBILITY_SECONDS = 43_200;

/** The longest single wait between two attempts (a configured delay or an honoured Retry-After): 12 hours. */
export const MAX_RETRY_WAIT_SECONDS = 43_200;
/** The longest per-attempt timeout any deployment may allow (five minutes). */
export const MAX_ATTEMPT_TIMEOUT_SECONDS = 300;

const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
/** An https origin (optionally a `*.` wildcard subdomain): nothing a CSP could read as another directive. */
const FRAME_ORIGIN_PATTERN = /^https:\/\/(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?$/;
const HEADER_PREFIX_PATTERN = /^[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]$/;

function isCidr(value: string): boolean {
  try {
    ipaddr.parseCIDR(value);
    return true;
  } catch {
    return false;
  }
}

/** Where a setting takes effect: the construct (synth), the Lambda functions, local mode (`npm start`). */
export type SettingScope = 'construct' | 'runtime' | 'local';
export type SettingUnit = 'seconds' | 'minutes' | 'hours' | 'days' | 'milliseconds' | 'bytes' | 'per second' | 'requests';

/** What every catalog entry says about itself; the docs and the construct read these fields. */
export interface SettingInfo {
  /** JSON type as written in `cdk.json`. */
  readonly type: string;
  readonly unit?: SettingUnit;
  /** The default as JSON, or `undefined` for a setting that is off unless set. */
  readonly default?: unknown;
  /** How the README shows the default when the JSON value is not the whole story. */
  readonly defaultText?: string;
  /** The value the `cdk.json` example holds, where it is not the default. */
  readonly example?: unknown;
  readonly min?: number;
  readonly max?: number;
  readonly description: string;
  readonly appliesTo: readonly SettingScope[];
}

/** A runtime setting: its info plus the schema that parses it (bounds and default built from the info). */
export interface RuntimeSetting<S extends z.ZodMiniType = z.ZodMiniType> extends SettingInfo {
  readonly schema: S;
}

const EVERYWHERE: readonly SettingScope[] = ['construct', 'runtime', 'local'];

interface Bounded {
  min: number;
  max: number;
  unit?: SettingUnit;
  description: string;
  defaultText?: string;
}

function integer(info: Bounded & { default: number }) {
  const schema = z._default(z.int().check(z.gte(info.min), z.lte(info.max)), info.default);
  return { type: 'integer', appliesTo: EVERYWHERE, ...info, schema } satisfies RuntimeSetting;
}

function decimal(info: Bounded & { default: number }) {
  const schema = z._default(z.number().check(z.gte(info.min), z.lte(info.max)), info.default);
  return { type: 'number', appliesTo: EVERYWHERE, ...info, schema } satisfies RuntimeSetting;
}

function flag(info: { default: boolean; description: string }) {
  return { type: 'boolean', appliesTo: EVERYWHERE, ...info, schema: z._default(z.boolean(), info.default) } satisfies RuntimeSetting;
}

/** Lists get a fresh copy of their default on every parse, so no caller can change another's. */
function list<T>(item: z.ZodMiniType<T>, info: { type: string; default: readonly T[]; maxItems: number; minItems?: number }) {
  const schema = z.array(item).check(z.minLength(info.minItems ?? 0), z.maxLength(info.maxItems));
  return { schema, fresh: () => [...info.default] };
}

const eventTypes = list(z.string().check(z.regex(EVENT_TYPE_PATTERN, 'must be dotted lower-case words, e.g. "thread.completed"')), {
  type: 'string[]',
  default: DEFAULT_EVENT_CATALOG,
  minItems: 1,
  maxItems: 500,
});
const retryDelays = list(z.int().check(z.gte(0), z.lte(MAX_RETRY_WAIT_SECONDS)), {
  type: 'integer[]',
  default: DEFAULT_RETRY_DELAYS_SECONDS,
  minItems: 1,
  maxItems: 49,
});
const frameOrigins = list(z.string().check(z.regex(FRAME_ORIGIN_PATTERN, 'must be an https origin such as "https://app.example.com"')), {
  type: 'string[]',
  default: [],
  maxItems: 20,
});

/**
 * The runtime settings, in the order the docs show them. Each is validated at synth by the
 * construct, handed to every function as `HOOKLINE_SETTINGS` and parsed again there (and by
 * local mode from its own `HOOKLINE_SETTINGS`).
 */
export const RUNTIME_SETTINGS = {
  eventCatalog: {
    type: 'string[]',
    default: DEFAULT_EVENT_CATALOG,
    defaultText: `the ${DEFAULT_EVENT_CATALOG.length} agent, thread, turn, message, approval, schedule and connection types`,
    description: `event types producers may publish and subscribers choose from, as dotted lower-case words (\`${TEST_EVENT_TYPE}\` is reserved)`,
    appliesTo: EVERYWHERE,
    schema: z._default(
      eventTypes.schema.check(
        z.refine((types: string[]) => new Set(types).size === types.length, 'must not repeat an event type'),
        z.refine((types: string[]) => !types.includes(TEST_EVENT_TYPE), `must not contain the reserved type ${TEST_EVENT_TYPE}`),
      ),
      eventTypes.fresh,
    ),
  },
  eventSource: {
    type: 'string',
    default: 'hookline',
    description: 'EventBridge `source` the bus rule matches',
    appliesTo: EVERYWHERE,
    schema: z._default(z.string().check(z.minLength(1), z.maxLength(256)), 'hookline'),
  },
  maxAttempts: integer({
    default: 9,
    min: 1,
    max: 50,
    description: 'attempts per delivery round, counted by Hookline (the attempt number travels in the message, so a throttle or crash costs none)',
  }),
  // AWS asks for a maxReceiveCount of at least 5 on a Lambda event source "to avoid sending
  // messages to the dead-letter queue due to throttling". Each attempt is a message of its own, so
  // only receives that failed as a whole (throttles, crashes before any attempt) count towards it.
  deliveriesMaxReceiveCount: integer({
    default: 10,
    min: 5,
    max: 1_000,
    description: "the deliveries queue's `maxReceiveCount`: a poison-message bound, not the retry schedule",
  }),
  retryDelaysSeconds: {
    type: 'integer[]',
    unit: 'seconds',
    default: DEFAULT_RETRY_DELAYS_SECONDS,
    max: MAX_RETRY_WAIT_SECONDS,
    description: 'delay before each retry; the last one repeats when `maxAttempts` needs more',
    appliesTo: EVERYWHERE,
    schema: z._default(retryDelays.schema, retryDelays.fresh),
  },
  retryJitter: decimal({ default: 0.2, min: 0, max: 0.5, description: 'each delay is multiplied by a random factor in [1 - jitter, 1 + jitter]' }),
  retryAfterMaxSeconds: integer({
    default: MAX_RETRY_WAIT_SECONDS,
    min: 0,
    max: MAX_RETRY_WAIT_SECONDS,
    unit: 'seconds',
    description: "cap on an honoured `Retry-After` from a receiver",
  }),
  attemptTimeoutSeconds: integer({
    default: 10,
    min: 1,
    max: MAX_ATTEMPT_TIMEOUT_SECONDS,
    unit: 'seconds',
    description: 'default per-attempt HTTP timeout (a subscription may choose 1 s to `maxAttemptTimeoutSeconds`)',
  }),
  maxAttemptTimeoutSeconds: integer({
    default: 30,
    min: 1,
    max: MAX_ATTEMPT_TIMEOUT_SECONDS,
    unit: 'seconds',
    description:
      "longest per-attempt timeout a subscription may choose; the dispatcher's default timeout is this plus 30 s (at least 60 s) and the deliveries queue's visibility six times that",
  }),
  allowInsecureTls: flag({ default: false, description: 'whether a subscription may set `tlsVerify: false` (its deliveries then skip certificate checks)' }),
  signatureHeaderPrefix: {
    type: 'string',
    default: 'X-Webhook',
    description: 'prefix of the hex scheme\'s headers: `<prefix>-Delivery-Id`, `-Timestamp`, `-Signature` (e.g. `X-Agent`)',
    appliesTo: EVERYWHERE,
    schema: z._default(
      z.string().check(z.regex(HEADER_PREFIX_PATTERN, 'must be an HTTP header name fragment such as "X-Webhook"'), z.maxLength(64)),
      'X-Webhook',
    ),
  },
  allowPrivateTargets: {
    type: 'boolean | string[]',
    default: false,
    description: '`true` (every private range) or a list of CIDR ranges deliveries may target; the link-local/metadata range never',
    appliesTo: EVERYWHERE,
    schema: z._default(
      z.union([z.boolean(), z.array(z.string().check(z.refine(isCidr, 'must be a CIDR range such as "10.0.0.0/8"'))).check(z.maxLength(100))]),
      false,
    ),
  },
  eventRetentionDays: integer({ default: 30, min: 1, max: 365, unit: 'days', description: 'how long stored events (for replay) and delivery logs are kept' }),
  rotationGraceHours: decimal({ default: 24, min: 0, max: 24 * 7, unit: 'hours', description: 'how long a rotated-out signing secret keeps signing alongside the new one' }),
  autoDisableAfterDays: decimal({ default: 5, min: 0.0001, max: 90, unit: 'days', description: 'a subscription whose deliveries have all failed for this long is disabled' }),
  maxPayloadBytes: integer({
    default: 65_536,
    min: 1_024,
    max: 200_000,
    unit: 'bytes',
    description: 'largest accepted event `data`, serialised (an SQS message holds 256 KiB)',
  }),
  maxReplayDays: integer({ default: 14, min: 1, max: 90, unit: 'days', description: 'largest replay window' }),
  circuitBreakerThreshold: integer({
    default: 10,
    min: 0,
    max: 10_000,
    description: "failed attempts in a row (timeout, connection error, 5xx, 429) that open an endpoint's circuit; its deliveries then wait without a POST until a probe succeeds. `0` turns the breaker off",
  }),
  circuitBreakerCooldownSeconds: integer({
    default: 30,
    min: 1,
    max: 3_600,
    unit: 'seconds',
    description: 'first wait of an open circuit before its probe; each failed probe doubles it',
  }),
  circuitBreakerMaxCooldownSeconds: integer({ default: 1_800, min: 1, max: 86_400, unit: 'seconds', description: 'longest wait between probes' }),
  defaultRateLimitPerSecond: integer({
    default: 0,
    min: 0,
    max: 10_000,
    unit: 'per second',
    description: 'deliveries per second per endpoint, across all dispatchers, for subscriptions that set no `rateLimitPerSecond`; `0` none',
  }),
  endpointMaxConcurrency: integer({
    default: 10,
    min: 0,
    max: 1_000,
    description: "POSTs in flight at once to one slow endpoint, across all dispatchers; `0` no default cap (a subscription's own `maxConcurrency` always applies)",
  }),
  slowEndpointMs: integer({
    default: 5_000,
    min: 100,
    max: 300_000,
    unit: 'milliseconds',
    description: 'an attempt that takes this long marks its endpoint slow, which puts it under the concurrency cap',
  }),
  consoleFrameAncestors: {
    type: 'string[]',
    default: [],
    description: 'https origins allowed to frame the console (to embed customer portal links); empty: no framing at all',
    appliesTo: EVERYWHERE,
    schema: z._default(frameOrigins.schema, frameOrigins.fresh),
  },
} satisfies Record<string, RuntimeSetting>;

type RuntimeShape = { -readonly [K in keyof typeof RUNTIME_SETTINGS]: (typeof RUNTIME_SETTINGS)[K]['schema'] };

function runtimeShape(): RuntimeShape {
  const shape: Record<string, z.ZodMiniType> = {};
  for (const [name, setting] of Object.entries(RUNTIME_SETTINGS)) shape[name] = setting.schema;
  return shape as RuntimeShape;
}

/** The runtime settings' parser, built from the catalog; rules that tie two settings together follow it. */
export const deploymentSettingsSchema = z.strictObject(runtimeShape()).check(
  z.refine((settings) => settings.attemptTimeoutSeconds <= settings.maxAttemptTimeoutSeconds, {
    path: ['attemptTimeoutSeconds'],
    message: 'must not exceed maxAttemptTimeoutSeconds',
  }),
);

export type DeploymentSettings = z.infer<typeof deploymentSettingsSchema>;
export type RuntimeSettingName = keyof typeof RUNTIME_SETTINGS;
export const RUNTIME_SETTING_NAMES = Object.keys(RUNTIME_SETTINGS) as RuntimeSettingName[];

/**
 * The dispatcher's function timeout a deployment needs by default: its longest attempt
 * (`maxAttemptTimeoutSeconds`) plus 30 s for the work around the POST, and never under a minute.
 * The construct and local mode both use it; the deliveries queue's visibility is six times it.
 */
export function defaultDispatcherTimeoutSeconds(settings: Pick<DeploymentSettings, 'maxAttemptTimeoutSeconds'>): number {
  return Math.max(60, settings.maxAttemptTimeoutSeconds + 30);
}
export type DeploymentSettingsInput = z.input<typeof deploymentSettingsSchema>;

/**
 * Validates settings and returns them with defaults applied.
 * Throws an Error whose message names every offending setting.
 */
export function parseDeploymentSettings(input: unknown, origin = 'settings'): DeploymentSettings {
  const result = deploymentSettingsSchema.safeParse(input ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
      return `${path}: ${issue.message}`;
    });
    throw new Error(`Invalid Hookline ${origin}: ${problems.join('; ')}`);
  }
  return result.data;
}
