import { describe, expect, it } from 'vitest';
import { createEndpointChecker, type Resolver } from '../../../lambdas/api/endpoint-check';
import { createAddressPolicy } from '../../../lambdas/core/address';
import { isClientError } from '../../../lambdas/core/errors';
import { createHttpDelivery } from '../../../lambdas/shared/http-delivery';

/**
 * The same address policy at create time (the API's URL check) and at delivery time (the guarded
 * lookup): an IPv6 address that embeds an allowed private IPv4 address is not that address.
 */

const ALLOW_TEN = ['10.0.0.0/8'];
const table: Record<string, string[]> = {
  'sixtofour.example.com': ['2002:a00:1::'],
  'nat64.example.com': ['64:ff9b::a00:5'],
  'teredo.example.com': ['2001:0:4136:e378:8000:63bf:f5ff:fffa'],
  'internal.example.com': ['10.0.0.5'],
  'public.example.com': ['93.184.216.34'],
};
const resolve: Resolver = async (hostname) =>
  (table[hostname] ?? []).map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) }));

async function refusal(check: (raw: string) => Promise<URL>, raw: string): Promise<string> {
  try {
    await check(raw);
  } catch (error) {
    if (isClientError(error)) return error.details.map((detail) => `${detail.field}: ${detail.reason}`).join('; ');
    throw error;
  }
  throw new Error(`${raw} was accepted`);
}

describe('API URL check with allowPrivateTargets ["10.0.0.0/8"]', () => {
  const check = createEndpointChecker({ allowPrivateTargets: ALLOW_TEN, resolve });

  it.each([
    ['http://[2002:a00:1::]/', '6to4 address of 10.0.0.1'],
    ['https://[2002:a00:1::]/', '6to4 address of 10.0.0.1'],
    ['http://[64:ff9b::a00:1]/', 'NAT64 address of 10.0.0.1'],
    ['http://[::ffff:0:a00:1]/', 'IPv4-translated address of 10.0.0.1'],
    ['http://[::a00:1]/', 'IPv4-compatible address of 10.0.0.1'],
    ['http://sixtofour.example.com/', '6to4 address of 10.0.0.1'],
    ['https://nat64.example.com/', 'NAT64 address of 10.0.0.5'],
    ['https://teredo.example.com/', 'Teredo address of 10.0.0.5'],
  ])('refuses %s (%s)', async (raw, why) => {
    const reason = await refusal(check, raw);
    expect(reason).toMatch(/^url: /);
    expect(reason).toContain(why);
  });

  it('still accepts the allowed private range itself, over plain http too', async () => {
    await expect(check('http://10.0.0.5/hook')).resolves.toBeInstanceOf(URL);
    await expect(check('http://internal.example.com/hook')).resolves.toBeInstanceOf(URL);
    await expect(check('http://[::ffff:10.0.0.5]/hook')).resolves.toBeInstanceOf(URL);
  });

  it('refuses plain http to a public host and port 0 anywhere', async () => {
    expect(await refusal(check, 'http://public.example.com/')).toContain('must use https');
    expect(await refusal(check, 'https://public.example.com:0/')).toBe('url: must not use port 0');
    expect(await refusal(check, 'http://10.0.0.5:00/')).toBe('url: must not use port 0');
  });
});

describe('delivery-time guard with the same policy', () => {
  it('blocks a host resolving to a 6to4 or NAT64 form of an allowed private address, before connecting', async () => {
    const lookups: string[] = [];
    const http = createHttpDelivery({
      policy: createAddressPolicy(ALLOW_TEN),
      resolve: async (hostname) => {
        lookups.push(hostname);
        return resolve(hostname);
      },
    });
    try {
      for (const url of ['http://sixtofour.example.com/', 'https://nat64.example.com/', 'http://[2002:a00:1::]/']) {
        const result = await http.post({ url, headers: { 'content-type': 'application/json' }, body: '{}', timeoutMs: 2_000 });
        expect(result.errorKind, url).toBe('blocked');
        expect(result.errorMessage, url).toMatch(/6to4|NAT64/);
      }
      expect(lookups).toEqual(['sixtofour.example.com', 'nat64.example.com']);
    } finally {
      await http.close();
    }
  });
});
