import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inboundMetric, METRICS } from '../../../lambdas/core/metrics';

const ROOT = join(import.meta.dirname, '../../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('metric catalog', () => {
  it('names every metric once, in lowerCamelCase, under its own key', () => {
    const names = Object.values(METRICS);
    expect(new Set(names).size).toBe(names.length);
    for (const [key, name] of Object.entries(METRICS)) {
      expect(name).toBe(key);
      expect(name).toMatch(/^[a-z][A-Za-z0-9]*$/);
    }
  });

  it('names the inbound counts in the same casing, per outcome and per provider and outcome', () => {
    expect(inboundMetric('accepted')).toBe('inboundAccepted');
    expect(inboundMetric('unknown_source')).toBe('inboundUnknownSource');
    expect(inboundMetric('method_not_allowed', 'github')).toBe('inboundGithubMethodNotAllowed');
    expect(inboundMetric('too_large', 'wecom')).toMatch(/^[a-z][A-Za-z0-9]*$/);
  });

  // The catalog is only one place if nothing emits or reads a name around it.
  it('is where the functions and the construct take every metric name from: no name written as a literal', () => {
    const literal = /(?:addMetric|deliveryMetric)\(\s*['"`]/;
    const offenders = [...sourceFiles(join(ROOT, 'lambdas')), ...sourceFiles(join(ROOT, 'lib'))]
      .filter((file) => literal.test(readFileSync(file, 'utf8')))
      .map((file) => relative(ROOT, file));
    expect(offenders).toEqual([]);
  });
});
