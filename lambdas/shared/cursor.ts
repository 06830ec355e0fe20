/**
 * Opaque pagination cursors: DynamoDB's LastEvaluatedKey as base64url JSON. Decoding accepts only
 * what encodeCursor could have written for this list: an object of non-empty, well-formed strings
 * with exactly the expected key names, whose partition values match the query's, each small
 * enough to be a DynamoDB key, in the canonical encoding. So a forged or foreign cursor is a 400
 * naming `cursor` before it reaches the store, and cannot steer a query into another fleet's data.
 */
export type PageKey = Record<string, string>;

/**
 * DynamoDB key values: a partition key at most 2048 bytes, a sort key at most 1024 bytes (Amazon
 * DynamoDB Developer Guide, Constraints, "Partition keys and sort keys"). Any attribute of a
 * cursor may be an index's sort key, so each value is held to the smaller limit.
 */
export const MAX_KEY_VALUE_BYTES = 1024;

/** Base64url of the JSON of a few such keys, with room to spare; longer is not a cursor. */
export const MAX_CURSOR_LENGTH = 2048;

export function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  if (key === undefined) return undefined;
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** Inclusive bounds a sort key of the query must lie within (DynamoDB refuses a start key outside the key condition). */
export type KeyBounds = Readonly<Record<string, { min?: string; max?: string }>>;

export function decodeCursor(
  cursor: string,
  expectedKeys: readonly string[],
  fixedValues: Readonly<Record<string, string>> = {},
  bounds: KeyBounds = {},
): PageKey | undefined {
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
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
    if (!expectedKeys.includes(name) || !isKeyValue(value)) return undefined;
    const fixed = fixedValues[name];
    if (fixed !== undefined && fixed !== value) return undefined;
    const range = bounds[name];
    if (range?.min !== undefined && value < range.min) return undefined;
    if (range?.max !== undefined && value > range.max) return undefined;
  }
  // Only the exact bytes encodeCursor writes: no padding, whitespace, escapes or repeated keys.
  if (encodeCursor(parsed as Record<string, unknown>) !== cursor) return undefined;
  return Object.fromEntries(entries) as PageKey;
}

/** DynamoDB stores strings as UTF-8, which cannot hold half of a surrogate pair. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function isKeyValue(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    !LONE_SURROGATE.test(value) &&
    Buffer.byteLength(value, 'utf8') <= MAX_KEY_VALUE_BYTES
  );
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
  bounds: KeyBounds = {},
): PageKey | undefined {
  if (cursor === undefined) return undefined;
  const key = decodeCursor(cursor, expectedKeys, fixedValues, bounds);
  if (key === undefined) throw new InvalidCursorError();
  return key;
}
