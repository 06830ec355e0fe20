import { describe, expect, it } from 'vitest';
import {
  fromStoredAttempt,
  MAX_STORED_HEADER_BYTES,
  MAX_STORED_HEADER_VALUE_BYTES,
  storedResponseHeaders,
  toStoredAttempt,
  truncateUtf8,
} from '../../../lambdas/core/attempt-excerpt';
import type { AttemptRecord } from '../../../lambdas/core/records';
import { gatewayResponseHeaders } from '../../support/gateway-headers';

/** What a JSON endpoint behind a gateway answers with: 16 headers, most of them boilerplate. */
const TYPICAL: Record<string, string> = {
  ...gatewayResponseHeaders('x'.repeat(92)),
  date: 'Sun, 29 Nov 2026 23:40:00 GMT',
  connection: 'keep-alive',
  'keep-alive': 'timeout=5',
};

const bytesOf = (headers: Record<string, string>) => Object.entries(headers).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value), 0);

describe('storedResponseHeaders', () => {
  it('keeps what identifies the answer and drops the boilerplate of a typical 16-header answer', () => {
    expect(Object.keys(TYPICAL)).toHaveLength(16);
    const kept = storedResponseHeaders(TYPICAL) ?? {};
    expect(kept).toEqual({
      'content-type': 'application/json; charset=utf-8',
      'x-request-id': '1e84260e-d5f1-40a9-a8a6-1c23a5e168be',
      'x-amzn-requestid': 'fb42535d-02b1-4ced-a8ea-913ad073fc3c',
      'x-amzn-trace-id': 'Root=1-674a1b2c-0123456789abcdef01234567',
      'x-amz-apigw-id': 'Ab3dEfGhIAMEbXw=',
      server: 'nginx',
    });
    expect(bytesOf(kept)).toBeLessThanOrEqual(MAX_STORED_HEADER_BYTES);
  });

  it('never keeps more than the cap, however many and however long the headers, and puts the useful ones first', () => {
    const noisy: Record<string, string> = {};
    for (let index = 0; index < 40; index += 1) noisy[`x-noise-${index}`] = 'v'.repeat(50);
    noisy['X-Giant'] = 'é'.repeat(5_000);
    noisy['Retry-After'] = '120';
    noisy['Set-Cookie'] = 'session=secret';
    noisy['Content-Type'] = 'text/html';
    const kept = storedResponseHeaders(noisy) ?? {};
    expect(bytesOf(kept)).toBeLessThanOrEqual(MAX_STORED_HEADER_BYTES);
    expect(Object.keys(kept).slice(0, 2)).toEqual(['content-type', 'retry-after']);
    expect(kept).not.toHaveProperty('set-cookie');
    for (const value of Object.values(kept)) expect(Buffer.byteLength(value)).toBeLessThanOrEqual(MAX_STORED_HEADER_VALUE_BYTES);
  });

  it('stores no map when nothing is worth keeping', () => {
    expect(storedResponseHeaders({ date: 'x', 'content-length': '2', connection: 'close' })).toBeUndefined();
  });
});

describe('truncateUtf8', () => {
  it('cuts on a whole character and marks the cut', () => {
    expect(truncateUtf8('short', 10)).toBe('short');
    const cut = truncateUtf8('€'.repeat(100), 20);
    expect(cut.endsWith('…')).toBe(true);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(20);
    expect(cut).not.toContain('\uFFFD');
  });
});

describe('stored attempt shape', () => {
  const failed: AttemptRecord = {
    round: 1,
    attempt: 2,
    at: '2026-11-29T23:40:00.000Z',
    statusCode: 503,
    latencyMs: 41,
    responseContentLength: 120,
    responseHeaders: { 'content-type': 'application/json' },
    responseBodyExcerpt: '{"error":"busy"}',
    errorKind: 'http',
    errorMessage: 'endpoint answered HTTP 503',
    retryInSeconds: 30,
  };

  it('stores short names and reads back exactly what was written', () => {
    const stored = toStoredAttempt(failed);
    expect(stored).toEqual({
      round: 1,
      attempt: 2,
      at: failed.at,
      code: 503,
      ms: 41,
      size: 120,
      headers: { 'content-type': 'application/json' },
      body: '{"error":"busy"}',
      kind: 'http',
      error: 'endpoint answered HTTP 503',
      retryIn: 30,
    });
    expect(fromStoredAttempt(stored)).toEqual(failed);
    expect(JSON.stringify(stored).length).toBeLessThan(JSON.stringify(failed).length - 50);
  });

  it('reads back attempts without a message or without a response as they were', () => {
    const { errorMessage: _message, ...silent } = failed;
    expect(fromStoredAttempt(toStoredAttempt(silent))).toEqual(silent);
    const timeout: AttemptRecord = { round: 2, attempt: 1, at: failed.at, latencyMs: 10_000, errorKind: 'timeout', errorMessage: 'timeout: no answer in 10 s' };
    expect(fromStoredAttempt(toStoredAttempt(timeout))).toEqual(timeout);
  });

  it('reads attempts stored by earlier versions under their long names as they were', () => {
    const legacy = { round: 1, attempt: 1, at: failed.at, statusCode: 500, latencyMs: 12, errorKind: 'http' as const, responseHeaders: { a: 'b' } };
    expect(fromStoredAttempt(legacy)).toEqual(legacy);
  });
});
