import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodedJsonBytes, encodeQueueBody, escapeForQueue, isQueueSafe, queueSizeProblem, SQS_MESSAGE_BUDGET_BYTES } from '../../../lambdas/core/queue-encoding';

/** AWS's rule for a message body, exactly: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF. */
function awsAccepts(body: string): boolean {
  for (const char of body) {
    const point = char.codePointAt(0) as number;
    const ok =
      point === 0x9 || point === 0xa || point === 0xd || (point >= 0x20 && point <= 0xd7ff) || (point >= 0xe000 && point <= 0xfffd) || (point >= 0x10000 && point <= 0x10ffff);
    if (!ok) return false;
  }
  return true;
}

/** The stricter rule some SQS stand-ins apply: no characters outside the Basic Multilingual Plane. */
function bmpStandInAccepts(body: string): boolean {
  return !/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/.test(body);
}

const anyCodeUnit = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)),
  fc.integer({ min: 0x10000, max: 0x10ffff }).map((point) => String.fromCodePoint(point)),
  fc.constantFrom('\ufffe', '\uffff', '\ud800', '\udfff', '🙂'),
);

describe('encodeQueueBody', () => {
  it('escapes noncharacters, astral characters and lone surrogates as JSON escapes', () => {
    const value = { a: 'x\ufffe\uffffy', b: '🙂', c: 'a\ud800b', d: '\udfff', 'k\uffff': 1 };
    expect(encodeQueueBody(value)).toBe('{"a":"x\\ufffe\\uffffy","b":"\\ud83d\\ude42","c":"a\\ud800b","d":"\\udfff","k\\uffff":1}');
  });

  it('leaves everything SQS accepts in the BMP as it is', () => {
    const value = { text: 'héllo ✓ \u00a0\u2028\u2029 \ue000\ufffd 中文' };
    expect(encodeQueueBody(value)).toBe(JSON.stringify(value));
  });

  it('any JSON value: accepted by AWS and by a BMP-only stand-in, and decodes to the same JSON text', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3, stringUnit: anyCodeUnit }), (value) => {
        const body = encodeQueueBody(value);
        expect(awsAccepts(body)).toBe(true);
        expect(bmpStandInAccepts(body)).toBe(true);
        expect(isQueueSafe(body)).toBe(true);
        expect(JSON.stringify(JSON.parse(body))).toBe(JSON.stringify(value));
      }),
      { numRuns: 500 },
    );
  });

  it('grows a body at most threefold', () => {
    fc.assert(
      fc.property(fc.string({ unit: anyCodeUnit, maxLength: 200 }), (text) => {
        expect(encodedJsonBytes(text)).toBeLessThanOrEqual(3 * Buffer.byteLength(JSON.stringify(text), 'utf8'));
      }),
      { numRuns: 300 },
    );
  });

  it('escapeForQueue does not touch JSON syntax', () => {
    expect(escapeForQueue('{"a":[1,true,null]}')).toBe('{"a":[1,true,null]}');
  });
});

describe('queueSizeProblem', () => {
  it('refuses data that would not fit a queue message once escaped, and names the cost', () => {
    expect(queueSizeProblem({ text: 'x'.repeat(100_000) })).toBeUndefined();
    const astral = { text: '🙂'.repeat(25_000) }; // 100 KB as UTF-8, 300 KB escaped
    expect(queueSizeProblem(astral)).toMatch(/bytes once escaped for the queue/);
    expect(encodedJsonBytes(astral)).toBeGreaterThan(SQS_MESSAGE_BUDGET_BYTES);
  });
});
