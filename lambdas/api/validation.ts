import type { z } from 'zod';
import { badRequest, type FieldProblem } from '../core/errors';

/** Where a value came from: body problems at the root are reported as `body`, query ones by key. */
export type InputLocation = 'body' | 'query' | 'header';

/**
 * Validates `input` with `schema`, throwing a 400 whose details name every offending field.
 * The same schemas are rendered into the OpenAPI document, so what is documented is what is enforced.
 */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, location: InputLocation, rootName: string = location): T {
  const result = schema.safeParse(input, { error: defaultReason });
  if (result.success) return result.data;
  throw badRequest(issuesToProblems(result.error.issues, rootName), describe(location));
}

function describe(location: InputLocation): string {
  if (location === 'body') return 'The request body is invalid.';
  if (location === 'query') return 'The query parameters are invalid.';
  return 'A request header is invalid.';
}

type Issue = z.core.$ZodIssue;

export function issuesToProblems(issues: readonly Issue[], rootName: string): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const issue of issues) {
    const base = issue.path.length === 0 ? undefined : fieldName(issue.path);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        // An empty key would leave the problem unnamed; quoted, it still says which one.
        const name = key === '' ? '""' : key;
        problems.push({ field: base === undefined ? name : `${base}.${name}`, reason: 'is not a known field' });
      }
    } else if (issue.code === 'invalid_key') {
      const reasons = issue.issues.map((nested) => nested.message);
      problems.push({ field: base ?? rootName, reason: `has an invalid name: ${reasons.join('; ')}` });
    } else {
      problems.push({ field: base ?? rootName, reason: issue.message });
    }
  }
  return problems;
}

/** `['events', 2]` → `events[2]`, `['headers', 'X-Id']` → `headers.X-Id`. */
export function fieldName(path: readonly PropertyKey[]): string {
  let name = '';
  for (const part of path) {
    const text = part === '' ? '""' : String(part);
    if (typeof part === 'number') name += `[${part}]`;
    else name += name === '' ? text : `.${text}`;
  }
  return name;
}

/** Reasons phrased for a field name in front of them ("url: must be a string"). */
function defaultReason(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `must be ${article(String(issue.expected))}`;
    case 'too_small':
      return bound('at least', issue.origin, issue.minimum, issue.inclusive);
    case 'too_big':
      return bound('at most', issue.origin, issue.maximum, issue.inclusive);
    case 'invalid_format':
      return issue.format === 'datetime' ? 'must be an ISO-8601 date-time such as 2024-05-01T12:00:00Z' : `must be a valid ${issue.format}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    default:
      return undefined;
  }
}

function article(expected: string): string {
  if (expected === 'int') return 'an integer';
  if (expected === 'object' || expected === 'array') return `a JSON ${expected}`;
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function bound(word: 'at least' | 'at most', origin: string, limit: unknown, inclusive: boolean | undefined): string {
  const value = Number(limit);
  if (origin === 'string' || origin === 'array' || origin === 'set') {
    const exact = inclusive === false ? value + (word === 'at least' ? 1 : -1) : value;
    return origin === 'string' ? `must be ${word} ${exact} characters long` : `must have ${word} ${exact} items`;
  }
  if (inclusive === false) return `must be ${word === 'at least' ? 'greater' : 'less'} than ${value}`;
  return `must be ${word} ${value}`;
}
