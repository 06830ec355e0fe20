import { MAX_RETRY_WAIT_SECONDS, type DeploymentSettings } from './settings';

/**
 * The retry schedule: whole seconds, at most {@link MAX_RETRY_WAIT_SECONDS} per wait. Each wait is
 * carried by a delayed SQS message (core/delivery-policy.ts), never by a message held in flight.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(?<month>${MONTHS.join('|')})`;
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const TIME = '(?<h>\\d{2}):(?<m>\\d{2}):(?<s>\\d{2})';

/** The three HTTP-date forms a recipient must accept (RFC 9110 §5.6.7); RFC 850's has a two-digit year. */
const HTTP_DATE_FORMATS: readonly { pattern: RegExp; shortYear: boolean }[] = [
  { pattern: new RegExp(`^${DAY}, (?<day>\\d{2}) ${MONTH} (?<year>\\d{4}) ${TIME} GMT$`), shortYear: false },
  { pattern: new RegExp(`^${LONG_DAY}, (?<day>\\d{2})-${MONTH}-(?<year>\\d{2}) ${TIME} GMT$`), shortYear: true },
  { pattern: new RegExp(`^${DAY} ${MONTH} (?<day> \\d|\\d{2}) ${TIME} (?<year>\\d{4})$`), shortYear: false },
];
const DELTA_SECONDS = /^\d+$/;

/** An HTTP-date as epoch milliseconds; undefined unless it has one of the three forms and is a real date. */
export function parseHttpDate(value: string, now: Date): number | undefined {
  for (const { pattern, shortYear } of HTTP_DATE_FORMATS) {
    const groups = pattern.exec(value)?.groups;
    if (groups !== undefined) return dateFromFields(groups, shortYear, now);
  }
  return undefined;
}

function dateFromFields(groups: Record<string, string>, shortYear: boolean, now: Date): number | undefined {
  const field = (name: string): number => Number(groups[name]);
  const year = shortYear ? twoDigitYear(field('year'), now) : field('year');
  const month = MONTHS.indexOf(String(groups['month']));
  const [day, h, m, s] = [field('day'), field('h'), field('m'), field('s')];
  const millis = Date.UTC(year, month, day, h, m, s);
  // Date.UTC rolls "31 Feb" or "25:00" over into the next unit; a real date survives the round trip.
  const check = new Date(millis);
  const real =
    check.getUTCFullYear() === year &&
    check.getUTCMonth() === month &&
    check.getUTCDate() === day &&
    check.getUTCHours() === h &&
    check.getUTCMinutes() === m &&
    check.getUTCSeconds() === s;
  return real ? millis : undefined;
}

/** RFC 9110: a two-digit year more than 50 years in the future is in the past century. */
function twoDigitYear(year: number, now: Date): number {
  const thisYear = now.getUTCFullYear();
  let full = Math.floor(thisYear / 100) * 100 + year;
  if (full > thisYear + 50) full -= 100;
  return full;
}

/**
 * `Retry-After` in seconds from `now`: delta-seconds or an HTTP-date (a past date means 0).
 * Anything else is ignored (undefined). Huge values are returned as they are; the schedule caps them.
 */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (DELTA_SECONDS.test(trimmed)) return Math.min(Number(trimmed), Number.MAX_SAFE_INTEGER);
  const date = parseHttpDate(trimmed, now);
  if (date === undefined) return undefined;
  return Math.max(0, Math.ceil((date - now.getTime()) / 1000));
}

export type ScheduleSettings = Pick<DeploymentSettings, 'retryDelaysSeconds' | 'retryJitter' | 'retryAfterMaxSeconds'>;

/** The un-jittered delay after failed attempt `attempt` (1-based); the last configured delay repeats. */
export function baseDelaySeconds(delays: readonly number[], attempt: number): number {
  if (delays.length === 0) throw new RangeError('retryDelaysSeconds must not be empty');
  const index = Math.min(Math.max(Math.floor(attempt), 1), delays.length) - 1;
  return delays[index]!;
}

/**
 * Seconds to wait after failed attempt `attempt` (1-based): the configured delay with ±jitter;
 * a receiver's Retry-After raises it, up to `retryAfterMaxSeconds`, but never shortens it.
 */
export function retryDelaySeconds(input: {
  settings: ScheduleSettings;
  attempt: number;
  retryAfterSeconds?: number;
  random?: () => number;
}): number {
  const { settings, attempt, retryAfterSeconds, random = Math.random } = input;
  const base = baseDelaySeconds(settings.retryDelaysSeconds, attempt);
  let delay = base * (1 + settings.retryJitter * (2 * random() - 1));
  if (retryAfterSeconds !== undefined && !Number.isNaN(retryAfterSeconds)) {
    delay = Math.max(delay, Math.min(Math.max(retryAfterSeconds, 0), settings.retryAfterMaxSeconds));
  }
  return Math.min(Math.max(Math.round(delay), 0), MAX_RETRY_WAIT_SECONDS);
}

/** Attempts per round: the deployment's, lowered (never raised) by the subscription's own limit. */
export function attemptsAllowed(settings: Pick<DeploymentSettings, 'maxAttempts'>, subscriptionMaxAttempts?: number): number {
  if (subscriptionMaxAttempts === undefined) return settings.maxAttempts;
  // Every delivery gets at least its first attempt.
  return Math.max(1, Math.min(settings.maxAttempts, Math.floor(subscriptionMaxAttempts)));
}
