import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, InvalidCursorError, MAX_KEY_VALUE_BYTES, startKeyFromCursor } from '../../../lambdas/shared/cursor';

const KEYS = ['id', 'subscriptionId', 'createdKey'];
const key = { id: 'dlv_01JNKV3Y0RZ8W5T2P4M6Q9B7CD', subscriptionId: 'wh_1', createdKey: '2026-01-01T00:00:00.000Z#dlv_01JNKV3Y0RZ8W5T2P4M6Q9B7CD' };
const cursor = encodeCursor(key) as string;

describe('cursor codec', () => {
  it('decodes what it encoded', () => {
    expect(decodeCursor(cursor, KEYS, { subscriptionId: 'wh_1' })).toEqual(key);
  });

  it.each([
    ['a key over the sort-key limit', { ...key, createdKey: 'k'.repeat(MAX_KEY_VALUE_BYTES + 1) }],
    ['a multibyte key over 1024 bytes', { ...key, id: 'é'.repeat(513) }],
    ['a lone surrogate', { ...key, id: '\ud800' }],
    ['an empty key', { ...key, id: '' }],
    ['a number', { ...key, id: 5 }],
    ['a foreign partition', { ...key, subscriptionId: 'wh_2' }],
    ['an extra key', { ...key, extra: 'x' }],
  ])('refuses %s', (_what, forged) => {
    expect(decodeCursor(encodeCursor(forged) as string, KEYS, { subscriptionId: 'wh_1' })).toBeUndefined();
  });

  it('takes a key at the limit', () => {
    const long = { ...key, id: 'k'.repeat(MAX_KEY_VALUE_BYTES) };
    expect(decodeCursor(encodeCursor(long) as string, KEYS)).toEqual(long);
  });

  it('refuses encodings encodeCursor never writes: padding, whitespace, base64 alphabet, repeated keys', () => {
    expect(decodeCursor(`${cursor}=`, KEYS)).toBeUndefined();
    expect(decodeCursor(Buffer.from(JSON.stringify(key, null, 1)).toString('base64url'), KEYS)).toBeUndefined();
    const repeated = Buffer.from(`{"id":"x","id":"${key.id}","subscriptionId":"wh_1","createdKey":"${key.createdKey}"}`).toString('base64url');
    expect(decodeCursor(repeated, KEYS)).toBeUndefined();
    expect(decodeCursor('A'.repeat(2_049), KEYS)).toBeUndefined();
  });

  it('refuses a sort key outside the query range', () => {
    expect(decodeCursor(cursor, KEYS, {}, { createdKey: { min: '2027-01-01T00:00:00.000Z' } })).toBeUndefined();
    expect(decodeCursor(cursor, KEYS, {}, { createdKey: { max: '2025-01-01T00:00:00.000Z#~' } })).toBeUndefined();
    expect(decodeCursor(cursor, KEYS, {}, { createdKey: { min: '2025-01-01T00:00:00.000Z', max: '2027-01-01T00:00:00.000Z#~' } })).toEqual(key);
  });

  it('startKeyFromCursor throws InvalidCursorError (a 400 naming cursor) for a forged one', () => {
    expect(() => startKeyFromCursor('bm9wZQ', KEYS)).toThrow(InvalidCursorError);
    expect(startKeyFromCursor(undefined, KEYS)).toBeUndefined();
  });
});
