import { describe, expect, it } from 'vitest';
import {
  badRequest,
  ClientError,
  conflict,
  HooklineError,
  isClientError,
  malformedJson,
  MalformedSecretError,
  PermanentError,
  payloadTooLarge,
  RetryableError,
} from '../../../lambdas/core/errors';

describe('error classes', () => {
  it('form a hierarchy handlers can branch on, and keep their names when minified', () => {
    const cause = new Error('socket hang up');
    const retryable = new RetryableError('DynamoDB throttled', { cause });
    expect(retryable).toBeInstanceOf(HooklineError);
    expect(retryable).toBeInstanceOf(Error);
    expect(retryable.cause).toBe(cause);
    expect(retryable.name).toBe('RetryableError');
    expect(new PermanentError('x').name).toBe('PermanentError');
    expect(new HooklineError('x').name).toBe('HooklineError');
    const malformed = new MalformedSecretError('bad');
    expect(malformed).toBeInstanceOf(PermanentError);
    expect(malformed.name).toBe('MalformedSecretError');
    expect(retryable).not.toBeInstanceOf(PermanentError);
  });

  it('ClientError carries status, code and field details', () => {
    const error = new ClientError(422, 'unprocessable', 'Nope.', [{ field: 'url', reason: 'must use https:' }]);
    expect(error).toMatchObject({ statusCode: 422, code: 'unprocessable', message: 'Nope.', name: 'ClientError' });
    expect(error.details).toEqual([{ field: 'url', reason: 'must use https:' }]);
    expect(new ClientError(400, 'x', 'y').details).toEqual([]);
    expect(isClientError(error)).toBe(true);
    expect(isClientError(new PermanentError('x'))).toBe(false);
    expect(isClientError('x')).toBe(false);
  });

  it.each([200, 399, 500, 404.5])('ClientError refuses status %s', (status) => {
    expect(() => new ClientError(status, 'x', 'y')).toThrow(RangeError);
  });
});

describe('helpers', () => {
  it.each([
    [badRequest([{ field: 'url', reason: 'must use https:' }]), 400, 'invalid_request', 1],
    [malformedJson(new SyntaxError('Unexpected token')), 400, 'malformed_json', 1],
    [conflict('Already exists.'), 409, 'conflict', 0],
    [payloadTooLarge(65_536, 'data'), 413, 'payload_too_large', 1],
  ] as const)('%o', (error, statusCode, code, detailCount) => {
    expect(error).toBeInstanceOf(ClientError);
    expect(error.statusCode).toBe(statusCode);
    expect(error.code).toBe(code);
    expect(error.details).toHaveLength(detailCount);
    expect(error.message).toMatch(/\.$/);
  });

  it('phrase their messages for callers', () => {
    expect(badRequest([], 'Custom.').message).toBe('Custom.');
    expect(payloadTooLarge(1024, 'data').details).toEqual([{ field: 'data', reason: 'must be at most 1024 bytes' }]);
    const cause = new SyntaxError('Unexpected token } in JSON at position 3');
    const error = malformedJson(cause);
    expect(error.cause).toBe(cause);
    expect(error.message).not.toContain('position');
  });
});
