import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  attemptsAllowed,
  baseDelaySeconds,
  parseHttpDate,
  parseRetryAfter,
  retryDelaySeconds,
} from '../../../lambdas/core/schedule';
import { DEFAULT_RETRY_DELAYS_SECONDS, MAX_RETRY_WAIT_SECONDS, parseDeploymentSettings } from '../../../lambdas/core/settings';

const settings = parseDeploymentSettings({});
const now = new Date('2025-06-15T12:00:00.000Z');

describe('retryDelaySeconds', () => {
  it('follows the default schedule with no jitter at random() = 0.5', () => {
    const delays = Array.from({ length: 8 }, (_, i) => retryDelaySeconds({ settings, attempt: i + 1, random: () => 0.5 }));
    expect(delays).toEqual([5, 30, 120, 600, 3_600, 10_800, 21_600, 36_000]);
  });

  it('repeats the last delay past the end of the list, and treats attempt < 1 as the first', () => {
    for (const attempt of [8, 9, 20, 1_000]) expect(retryDelaySeconds({ settings, attempt, random: () => 0.5 })).toBe(36_000);
    for (const attempt of [0, -3, 0.5]) expect(retryDelaySeconds({ settings, attempt, random: () => 0.5 })).toBe(5);
  });

  it('stays within ±jitter of the base delay for any random value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, r) => {
          const base = baseDelaySeconds(DEFAULT_RETRY_DELAYS_SECONDS, attempt);
          const delay = retryDelaySeconds({ settings, attempt, random: () => r });
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(Math.round(base * 0.8));
          expect(delay).toBeLessThanOrEqual(Math.round(base * 1.2));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('spreads over the jitter range with Math.random', () => {
    const delays = Array.from({ length: 2_000 }, () => retryDelaySeconds({ settings, attempt: 5 }));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(2_880);
    expect(Math.max(...delays)).toBeLessThanOrEqual(4_320);
    // 2000 uniform draws: both outer tenths of the range are hit.
    expect(Math.min(...delays)).toBeLessThan(2_880 + 144);
    expect(Math.max(...delays)).toBeGreaterThan(4_320 - 144);
  });

  it('hits the jitter bounds at the extremes of random()', () => {
    expect(retryDelaySeconds({ settings, attempt: 2, random: () => 0 })).toBe(24);
    expect(retryDelaySeconds({ settings, attempt: 2, random: () => 0.999999 })).toBe(36);
    const noJitter = { ...settings, retryJitter: 0 };
    expect(retryDelaySeconds({ settings: noJitter, attempt: 2, random: () => 0 })).toBe(30);
  });

  it('honours Retry-After as a minimum, capped by retryAfterMaxSeconds', () => {
    const at = (retryAfterSeconds: number, s = settings) =>
      retryDelaySeconds({ settings: s, attempt: 1, retryAfterSeconds, random: () => 0.5 });
    expect(at(120)).toBe(120);
    expect(at(2)).toBe(5);
    expect(at(0)).toBe(5);
    expect(at(-50)).toBe(5);
    expect(at(Number.NaN)).toBe(5);
    expect(at(1e12)).toBe(MAX_RETRY_WAIT_SECONDS);
    expect(at(Number.POSITIVE_INFINITY)).toBe(MAX_RETRY_WAIT_SECONDS);
    expect(at(7_200, { ...settings, retryAfterMaxSeconds: 3_600 })).toBe(3_600);
    // A cap below the scheduled delay never shortens the schedule.
    expect(
      retryDelaySeconds({ settings: { ...settings, retryAfterMaxSeconds: 10 }, attempt: 3, retryAfterSeconds: 9_999, random: () => 0.5 }),
    ).toBe(120);
  });

  it('never waits longer than the 12 h retry-wait limit, even with jitter on a 12 h delay', () => {
    const long = { ...settings, retryDelaysSeconds: [MAX_RETRY_WAIT_SECONDS], retryJitter: 0.5 };
    expect(retryDelaySeconds({ settings: long, attempt: 1, random: () => 0.99 })).toBe(MAX_RETRY_WAIT_SECONDS);
  });

  it('refuses an empty delay list', () => {
    expect(() => baseDelaySeconds([], 1)).toThrow(RangeError);
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['0', 0],
    ['120', 120],
    [' 30 ', 30],
    ['007', 7],
    ['99999999999', 99_999_999_999],
    ['9'.repeat(400), Number.MAX_SAFE_INTEGER],
  ])('reads delta-seconds %j as %s', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });

  it('reads each HTTP-date form relative to now, a past date as 0', () => {
    expect(parseRetryAfter('Sun, 15 Jun 2025 12:01:30 GMT', now)).toBe(90);
    expect(parseRetryAfter('Sunday, 15-Jun-25 12:01:30 GMT', now)).toBe(90);
    expect(parseRetryAfter('Sun Jun 15 12:01:30 2025', now)).toBe(90);
    expect(parseRetryAfter('Sun Jun  5 12:00:00 2025', now)).toBe(0);
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now)).toBe(0);
    expect(parseRetryAfter('Sun, 15 Jun 2025 12:00:00 GMT', new Date(now.getTime() - 1_500))).toBe(2);
  });

  it.each([
    undefined,
    '',
    'soon',
    '-5',
    '1.5',
    '1e3',
    '0x10',
    '2025-06-15T12:01:30Z',
    'Sun, 15 Jun 2025 12:01:30 PST',
    'Sun, 15 Jun 2025 12:01:30',
    'sun, 15 jun 2025 12:01:30 gmt',
    'Sun, 31 Feb 2025 12:00:00 GMT',
    'Sun, 15 Jun 2025 24:00:00 GMT',
    'Sun, 15 Jun 2025 12:60:00 GMT',
    'Sun, 15 Foo 2025 12:00:00 GMT',
  ])('ignores %j', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});

describe('parseHttpDate', () => {
  it('reads every IMF-fixdate that Date#toUTCString writes', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), (date) => {
        const seconds = Math.floor(date.getTime() / 1000) * 1000;
        expect(parseHttpDate(new Date(seconds).toUTCString(), now)).toBe(seconds);
      }),
    );
  });

  it('puts a two-digit year more than 50 years ahead in the previous century', () => {
    expect(parseHttpDate('Monday, 01-Jan-75 00:00:00 GMT', now)).toBe(Date.UTC(2075, 0, 1));
    expect(parseHttpDate('Thursday, 01-Jan-76 00:00:00 GMT', now)).toBe(Date.UTC(1976, 0, 1));
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', now)).toBe(Date.UTC(1994, 10, 6, 8, 49, 37));
  });
});

describe('attemptsAllowed', () => {
  it('is the deployment limit, lowered but never raised by the subscription', () => {
    expect(attemptsAllowed({ maxAttempts: 9 })).toBe(9);
    expect(attemptsAllowed({ maxAttempts: 9 }, 3)).toBe(3);
    expect(attemptsAllowed({ maxAttempts: 9 }, 9)).toBe(9);
    expect(attemptsAllowed({ maxAttempts: 9 }, 20)).toBe(9);
    expect(attemptsAllowed({ maxAttempts: 9 }, 0)).toBe(1);
    expect(attemptsAllowed({ maxAttempts: 9 }, 2.7)).toBe(2);
  });
});
