import { describe, expect, it } from 'vitest';
import { sortKeyRange } from '../../../lambdas/shared/key-range';

describe('sortKeyRange', () => {
  it('names both bounds, one, or none', () => {
    expect(sortKeyRange('k', 'a', 'b')).toEqual({ condition: ' AND k BETWEEN :since AND :until', values: { ':since': 'a', ':until': 'b' } });
    expect(sortKeyRange('k', 'a', undefined)).toEqual({ condition: ' AND k >= :since', values: { ':since': 'a' } });
    expect(sortKeyRange('k', undefined, 'b')).toEqual({ condition: ' AND k <= :until', values: { ':until': 'b' } });
    expect(sortKeyRange('k', undefined, undefined)).toEqual({ condition: '', values: {} });
  });
});
