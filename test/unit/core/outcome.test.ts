import { describe, expect, it } from 'vitest';
import { classifyAttempt, type AttemptOutcome } from '../../../lambdas/core/outcome';
import type { AttemptErrorKind } from '../../../lambdas/core/records';

/** DESIGN.md's rule written out independently of the module's tables. */
function expectedForStatus(status: number): AttemptOutcome {
  if (status >= 200 && status <= 299) return 'succeeded';
  if (status === 410) return 'disable';
  if (status === 408 || status === 429 || (status >= 500 && status <= 599)) return 'retry';
  return 'failed';
}

describe('classifyAttempt', () => {
  it('classifies every status from 100 to 599', () => {
    for (let status = 100; status <= 599; status += 1) {
      expect(classifyAttempt({ statusCode: status }), String(status)).toBe(expectedForStatus(status));
      expect(classifyAttempt({ statusCode: status, errorKind: 'http' }), String(status)).toBe(expectedForStatus(status));
    }
  });

  it.each([
    [200, 'succeeded'],
    [204, 'succeeded'],
    [299, 'succeeded'],
    [100, 'failed'],
    [301, 'failed'],
    [302, 'failed'],
    [304, 'failed'],
    [400, 'failed'],
    [401, 'failed'],
    [404, 'failed'],
    [408, 'retry'],
    [409, 'failed'],
    [410, 'disable'],
    [413, 'failed'],
    [429, 'retry'],
    [500, 'retry'],
    [503, 'retry'],
    [599, 'retry'],
    [0, 'failed'],
    [600, 'failed'],
    [999, 'failed'],
  ] as const)('status %s → %s', (statusCode, outcome) => {
    expect(classifyAttempt({ statusCode })).toBe(outcome);
  });

  it.each([
    ['timeout', 'retry'],
    ['connection', 'retry'],
    ['dns', 'retry'],
    ['tls', 'retry'],
    ['blocked', 'failed'],
  ] as const satisfies readonly (readonly [AttemptErrorKind, AttemptOutcome])[])('error kind %s → %s', (errorKind, outcome) => {
    expect(classifyAttempt({ errorKind })).toBe(outcome);
    // A network-level verdict stands even if a status was somehow recorded.
    expect(classifyAttempt({ errorKind, statusCode: 200 })).toBe(outcome);
  });

  it('retries an attempt that ended with neither a status nor a network error kind', () => {
    expect(classifyAttempt({})).toBe('retry');
    expect(classifyAttempt({ errorKind: 'http' })).toBe('retry');
  });
});
