import ipaddr from 'ipaddr.js';
// A namespace import, not the exported `z` object: that one holds every export (all locales) and defeats tree-shaking.
import * as z from 'zod/mini';
import './zod-messages';

/**
 * Deployment settings: the one source of truth shared by the CDK construct (which validates
 * them at synth and hands them to every function as `HOOKLINE_SETTINGS`), the Lambda handlers
 * and local mode. Pure data, no AWS SDK.
 */

/** The event type reserved for `POST …/webhooks/{id}/test`; it can never be subscribed to. */
export const TEST_EVENT_TYPE = 'webhook.test';

/** Seed 001's catalog, minus the reserved test type. */
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

/** Delays in seconds before retry 1, 2, … (DESIGN.md: 5 s, 30 s, 2 min, 10 min, 1 h, 3 h, 6 h, 10 h). */
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

const int = (min: number, max: number) => z.int().check(z.minimum(min), z.maximum(max));
const number = (min: number, max: number) => z.number().check(z.minimum(min), z.maximum(max));

// zod/mini: the handlers parse these at every cold start, and classic zod would add ~400 KB to each bundle.
export const deploymentSettingsSchema = z.strictObject({
  /** Event types producers may publish and subscribers may choose from. */
  eventCatalog: z._default(
    z.array(z.string().check(z.regex(EVENT_TYPE_PATTERN, 'must be dotted lower-case words, e.g. "thread.completed"'))).check(
      z.minLength(1),
      z.maxLength(500),
      z.refine((types) => new Set(types).size === types.length, 'must not repeat an event type'),
      z.refine((types) => !types.includes(TEST_EVENT_TYPE), `must not contain the reserved type ${TEST_EVENT_TYPE}`),
    ),
    () => [...DEFAULT_EVENT_CATALOG],
  ),
  /** EventBridge `source` the bus rule matches. */
  eventSource: z._default(z.string().check(z.minLength(1), z.maxLength(256)), 'hookline'),
  /** Attempts per delivery round, counted by Hookline (the attempt number travels in the message). */
  maxAttempts: z._default(int(1, 50), 9),
  /**
   * The deliveries queue's maxReceiveCount: a poison-message bound, not the schedule. Each attempt
   * is a message of its own, so only receives that all failed as a whole (Lambda throttles,
   * crashes before any attempt) count towards it. AWS asks for at least 5 on a Lambda event source
   * "to avoid sending messages to the dead-letter queue due to throttling".
   */
  deliveriesMaxReceiveCount: z._default(int(5, 1_000), 10),
  /** Delays before each retry; the last one repeats when maxAttempts needs more. */
  retryDelaysSeconds: z._default(z.array(int(0, MAX_RETRY_WAIT_SECONDS)).check(z.minLength(1), z.maxLength(49)), () => [...DEFAULT_RETRY_DELAYS_SECONDS]),
  /** Each delay is multiplied by a random factor in [1 - jitter, 1 + jitter]. */
  retryJitter: z._default(number(0, 0.5), 0.2),
  /** Upper bound applied to a receiver's Retry-After. */
  retryAfterMaxSeconds: z._default(int(0, MAX_RETRY_WAIT_SECONDS), MAX_RETRY_WAIT_SECONDS),
  /** Default per-attempt HTTP timeout; a subscription may choose 1 s to maxAttemptTimeoutSeconds. */
  attemptTimeoutSeconds: z._default(int(1, MAX_ATTEMPT_TIMEOUT_SECONDS), 10),
  /**
   * Longest per-attempt timeout a subscription may choose (30 s by default, up to 300 s for
   * receivers that answer slowly). The dispatcher's function timeout and the deliveries queue's
   * visibility follow from it (lib/config.ts).
   */
  maxAttemptTimeoutSeconds: z._default(int(1, MAX_ATTEMPT_TIMEOUT_SECONDS), 30),
  /** Whether a subscription may set `tlsVerify: false` (deliveries then skip certificate checks). */
  allowInsecureTls: z._default(z.boolean(), false),
  /** Prefix of the seed-scheme headers: `<prefix>-Delivery-Id`, `-Timestamp`, `-Signature`. */
  signatureHeaderPrefix: z._default(
    z.string().check(z.regex(HEADER_PREFIX_PATTERN, 'must be an HTTP header name fragment such as "X-Webhook"'), z.maxLength(64)),
    'X-Webhook',
  ),
  /** `false`, `true` (every private range) or a list of CIDR ranges delivery may target. */
  allowPrivateTargets: z._default(
    z.union([z.boolean(), z.array(z.string().check(z.refine(isCidr, 'must be a CIDR range such as "10.0.0.0/8"'))).check(z.maxLength(100))]),
    false,
  ),
  /** How long stored events (and delivery logs) are kept for replay. */
  eventRetentionDays: z._default(int(1, 365), 30),
  /** How long a rotated-out secret keeps signing alongside the new one. */
  rotationGraceHours: z._default(number(0, 24 * 7), 24),
  /** A subscription whose deliveries have all failed for this long is disabled. */
  autoDisableAfterDays: z._default(number(0.0001, 90), 5),
  /** Largest accepted event `data`, serialised, in bytes (an SQS message holds 256 KiB). */
  maxPayloadBytes: z._default(int(1_024, 200_000), 65_536),
  /** Largest replay window. */
  maxReplayDays: z._default(int(1, 90), 14),
  /**
   * Consecutive failed attempts (timeout, connection error, 5xx, 429) after which an endpoint's
   * circuit opens: its deliveries wait without a POST until a probe succeeds. 0 turns it off.
   */
  circuitBreakerThreshold: z._default(int(0, 10_000), 10),
  /** First wait of an open circuit before its probe; each failed probe doubles it. */
  circuitBreakerCooldownSeconds: z._default(int(1, 3_600), 30),
  /** Longest wait between probes. */
  circuitBreakerMaxCooldownSeconds: z._default(int(1, 86_400), 1_800),
  /** Rate limit for subscriptions that set none (deliveries per second, across all dispatchers); 0: none. */
  defaultRateLimitPerSecond: z._default(int(0, 10_000), 0),
  /**
   * POSTs in flight at once to one slow endpoint, across all dispatchers (a subscription may set
   * its own `maxConcurrency`, which always applies). 0 turns the default cap off.
   */
  endpointMaxConcurrency: z._default(int(0, 1_000), 10),
  /** An attempt that takes this long marks its endpoint slow, which puts it under the concurrency cap. */
  slowEndpointMs: z._default(int(100, 300_000), 5_000),
  /**
   * Origins allowed to frame the console (a company embedding customer portal links in its own
   * product); empty means no framing at all (`frame-ancestors 'none'`).
   */
  consoleFrameAncestors: z._default(
    z.array(z.string().check(z.regex(FRAME_ORIGIN_PATTERN, 'must be an https origin such as "https://app.example.com"'))).check(z.maxLength(20)),
    () => [],
  ),
}).check(
  z.refine((settings) => settings.attemptTimeoutSeconds <= settings.maxAttemptTimeoutSeconds, {
    path: ['attemptTimeoutSeconds'],
    message: 'must not exceed maxAttemptTimeoutSeconds',
  }),
);

export type DeploymentSettings = z.infer<typeof deploymentSettingsSchema>;

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
