/**
 * Opaque pagination cursors: DynamoDB's LastEvaluatedKey as base64url JSON. Decoding accepts only an
 * object of strings with exactly the expected key names, whose partition values match the query's,
 * so a forged or foreign cursor cannot steer a query into another fleet's data.
 */
export type PageKey = Record<string, string>;

export function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  if (key === undefined) return undefined;
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

export function decodeCursor(
  cursor: string,
  expectedKeys: readonly string[],
  fixedValues: Readonly<Record<string, string>> = {},
): PageKey | undefined {
  if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const entries = Object.entries(parsed);
  if (entries.length !== expectedKeys.length) return undefined;
  for (const [name, value] of entries) {
    if (!expectedKeys.includes(name) || typeof value !== 'string' || value.length === 0) return undefined;
    const fixed = fixedValues[name];
    if (fixed !== undefined && fixed !== value) return undefined;
  }
  return Object.fromEntries(entries) as PageKey;
}

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

/** Thrown for a cursor this API did not issue for this list; the API answers 400 naming `cursor`. */
export class InvalidCursorError extends Error {
  constructor() {
    super('is not a cursor this API issued for this list');
    this.name = 'InvalidCursorError';
  }
}

/** DynamoDB ExclusiveStartKey from an optional cursor; throws InvalidCursorError for a foreign one. */
export function startKeyFromCursor(
  cursor: string | undefined,
  expectedKeys: readonly string[],
  fixedValues: Readonly<Record<string, string>> = {},
): PageKey | undefined {
  if (cursor === undefined) return undefined;
  const key = decodeCursor(cursor, expectedKeys, fixedValues);
  if (key === undefined) throw new InvalidCursorError();
  return key;
}
