import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findInexactNumber, isExactNumberLiteral } from '../../../lambdas/core/json-numbers';
import { integerSurvivesJson } from '../../support/integer-oracle';

describe('isExactNumberLiteral', () => {
  it.each(['0', '-0', '1', '1.0', '1e2', '1E+2', '0.1', '-1.5e-7', '9007199254740992', '-9007199254740992', '1.7976931348623157e308', '5e-324', '1e21', '100000000000000000000000'])(
    '%s survives JSON.parse and JSON.stringify',
    (literal) => {
      expect(isExactNumberLiteral(literal)).toBe(true);
    },
  );

  it.each(['9007199254740993', '123456789012345678901234567890', '1e400', '-1e400', '1e-400', '0.10000000000000000001', '1.00000000000000000001e5', '2e-324'])(
    '%s does not',
    (literal) => {
      expect(isExactNumberLiteral(literal)).toBe(false);
    },
  );

  it('agrees with BigInt for every integer literal', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), (value) => {
        const literal = String(value);
        expect(isExactNumberLiteral(literal)).toBe(integerSurvivesJson(literal));
      }),
      { numRuns: 2_000 },
    );
  });

  it('accepts what JSON.stringify writes for any double', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        expect(isExactNumberLiteral(JSON.stringify(value))).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('findInexactNumber', () => {
  it('names the path of the first inexact number, keys with escapes and array indexes included', () => {
    expect(findInexactNumber('{"a":[1,2,{"b\\"x":true,"amount":123456789012345678901234567890}],"c":1}')).toEqual({
      path: ['a', 2, 'amount'],
      literal: '123456789012345678901234567890',
      becomes: '1.2345678901234568e+29',
    });
    expect(findInexactNumber('{"type":"x","data":{"ok":[true,false,null],"v":[1.5,"1e400"],"n":1e400}}')?.path).toEqual(['data', 'n']);
    expect(findInexactNumber('[[[1e400]]]')?.path).toEqual([0, 0, 0]);
    expect(findInexactNumber('1e400')?.path).toEqual([]);
  });

  it('ignores numbers inside strings and exact numbers', () => {
    expect(findInexactNumber('{"s":"123456789012345678901234567890","t":"1e400","n":1.25,"e":-0}')).toBeUndefined();
  });

  it('walks any depth without recursion', () => {
    const depth = 50_000;
    expect(findInexactNumber(`${'['.repeat(depth)}1e400${']'.repeat(depth)}`)?.literal).toBe('1e400');
  });

  it('finds nothing in what JSON.stringify writes', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        expect(findInexactNumber(JSON.stringify(value))).toBeUndefined();
      }),
      { numRuns: 1_000 },
    );
  });
});
