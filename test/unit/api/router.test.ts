import { describe, expect, it } from 'vitest';
import { isClientError } from '../../../lambdas/core/errors';
import { Router } from '../../../lambdas/api/router';

const router = new Router([
  { method: 'GET', path: '/fleets/{fleetId}/webhooks' },
  { method: 'POST', path: '/fleets/{fleetId}/webhooks' },
  { method: 'GET', path: '/fleets/{fleetId}/webhooks/{id}' },
  { method: 'GET', path: '/openapi.json' },
]);

function failure(method: string, path: string) {
  try {
    router.match(method, path);
  } catch (error) {
    if (isClientError(error)) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('Router', () => {
  it('matches templates and decodes parameters', () => {
    expect(router.match('GET', '/fleets/a%3Ab/webhooks/wh_1')).toEqual({
      route: { method: 'GET', path: '/fleets/{fleetId}/webhooks/{id}' },
      params: { fleetId: 'a:b', id: 'wh_1' },
    });
    expect(router.match('POST', '/fleets/x/webhooks/').route.method).toBe('POST');
    expect(router.match('GET', '/openapi.json').params).toEqual({});
  });

  it('405 lists the methods a matching path allows', () => {
    const error = failure('DELETE', '/fleets/x/webhooks');
    expect(error.statusCode).toBe(405);
    expect((error as unknown as { allowed: string[] }).allowed).toEqual(['GET', 'POST']);
  });

  it.each(['/', '/fleets', '/fleets/x/webhooks/y/z', '/fleets//webhooks', '/fleets/%E0%A4%A/webhooks', 'fleets/x/webhooks', '/OPENAPI.JSON'])(
    '404 for %s',
    (path) => {
      expect(failure('GET', path).statusCode).toBe(404);
    },
  );

  it('keeps prototype-named segments as plain data', () => {
    const { params } = router.match('GET', '/fleets/__proto__/webhooks/constructor');
    expect(params.fleetId).toBe('__proto__');
    expect(params.id).toBe('constructor');
    expect(({} as Record<string, unknown>).fleetId).toBeUndefined();
  });
});
