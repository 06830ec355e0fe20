import { describe, expect, it } from 'vitest';
import { createAddressPolicy } from '../../../lambdas/core/address';
import { checkEndpointUrl, MAX_ENDPOINT_URL_LENGTH } from '../../../lambdas/core/endpoint-url';

const strict = createAddressPolicy(false);
const localMode = createAddressPolicy(['127.0.0.0/8', '::1/128']);
const https = { allowHttp: false };

function reason(raw: string, policy = strict, opts = https): string {
  const result = checkEndpointUrl(raw, policy, opts);
  if (result.ok) throw new Error(`${raw} was accepted`);
  return result.reason;
}

describe('checkEndpointUrl accepts', () => {
  it.each([
    'https://example.com/webhooks',
    'https://hooks.example.com:8443/a/b?c=d&e=f',
    'https://EXAMPLE.com./x',
    'https://my_host.example.com/',
    'https://bücher.example/',
    'https://8.8.8.8/hook',
    'https://[2606:4700::1111]/hook',
  ])('%s', (raw) => {
    const result = checkEndpointUrl(raw, strict, https);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.url).toBeInstanceOf(URL);
  });

  it('returns the normalised URL', () => {
    const result = checkEndpointUrl('https://Bücher.Example/Path', strict, https);
    expect(result.ok && result.url.href).toBe('https://xn--bcher-kva.example/Path');
  });
});

describe('checkEndpointUrl refuses SSRF targets', () => {
  it.each([
    ['https://127.0.0.1/', 'loopback'],
    ['https://localhost/', 'loopback'],
    ['https://LOCALHOST./', 'loopback'],
    ['https://api.localhost/', 'loopback'],
    ['https://[::1]/', 'loopback'],
    ['https://10.0.0.1/', 'private'],
    ['https://172.16.0.1/', 'private'],
    ['https://192.168.1.1/', 'private'],
    ['https://169.254.169.254/latest/meta-data/', 'metadata'],
    ['https://[fd00::1]/', 'unique local'],
    ['https://[fe80::1]/', 'link-local'],
    ['https://[::ffff:127.0.0.1]/', 'loopback'],
    ['https://0.0.0.0/', 'unspecified'],
    ['https://2130706433/', 'loopback'],
    ['https://0x7f.0.0.1/', 'loopback'],
    ['https://017700000001/', 'loopback'],
    ['https://127.1/', 'loopback'],
    ['https://100.64.0.1/', 'carrier-grade NAT'],
  ])('%s (%s)', (raw, kind) => {
    const why = reason(raw);
    expect(why).toMatch(/^host /);
    expect(why).toContain(kind);
  });

  it.each([
    'http://127.0.0.1/',
    'http://localhost/',
    'http://[::1]/',
    'http://10.0.0.1/',
    'http://169.254.169.254/',
    'http://2130706433/',
  ])('plain-http %s is refused for its scheme first', (raw) => {
    expect(reason(raw)).toBe('must use https:');
  });
});

describe('checkEndpointUrl with a loopback-allowing policy (local mode)', () => {
  const http = { allowHttp: true };
  it.each(['http://127.0.0.1:9000/hook', 'http://localhost:9000/', 'http://[::1]:9000/', 'https://127.0.0.1/', 'http://2130706433/'])(
    'accepts %s',
    (raw) => {
      expect(checkEndpointUrl(raw, localMode, http).ok).toBe(true);
    },
  );

  it.each([
    ['http://10.0.0.1/', 'private'],
    ['http://169.254.169.254/', 'metadata'],
    ['http://[fe80::1]/', 'link-local'],
    ['http://0.0.0.0/', 'unspecified'],
  ])('still refuses %s (%s)', (raw, kind) => {
    expect(reason(raw, localMode, http)).toContain(kind);
  });

  it('names both allowed schemes when http is allowed', () => {
    expect(reason('ftp://127.0.0.1/', localMode, http)).toBe('must use https: or http:');
  });
});

describe('checkEndpointUrl refuses malformed URLs', () => {
  it.each([
    ['', 'must be an absolute URL'],
    ['example.com/hook', 'must be an absolute URL'],
    ['/relative', 'must be an absolute URL'],
    ['https://', 'must be an absolute URL'],
    ['https://exa mple.com/', 'must not contain spaces or control characters'],
    [' https://example.com/', 'must not contain spaces or control characters'],
    ['https://example.com/\n', 'must not contain spaces or control characters'],
    ['https://exa\tmple.com/', 'must not contain spaces or control characters'],
    ['https://example.com/\u200b', 'must not contain spaces or control characters'],
    ['ftp://example.com/', 'must use https:'],
    ['javascript:alert(1)', 'must use https:'],
    ['file:///etc/passwd', 'must use https:'],
    ['https://user:pass@example.com/', 'must not contain credentials'],
    ['https://user@example.com/', 'must not contain credentials'],
    ['https://:pass@example.com/', 'must not contain credentials'],
    ['https://example.com/#frag', 'must not contain a fragment'],
    ['https://example.com/#', 'must not contain a fragment'],
    ['https://-bad.example.com/', 'is not a valid DNS name'],
    ['https://bad-.example.com/', 'is not a valid DNS name'],
    ['https://a..b.com/', 'is not a valid DNS name'],
    [`https://${'a'.repeat(64)}.com/`, 'is not a valid DNS name'],
    [`https://${Array.from({ length: 64 }, () => 'abc').join('.')}/`, 'is not a valid DNS name'],
    ['https://exa$mple.com/', 'is not a valid DNS name'],
  ])('%j', (raw, expected) => {
    expect(reason(raw)).toContain(expected);
  });

  it('refuses anything over 2048 characters, before or after normalisation', () => {
    const base = 'https://example.com/';
    const exact = base + 'a'.repeat(MAX_ENDPOINT_URL_LENGTH - base.length);
    expect(checkEndpointUrl(exact, strict, https).ok).toBe(true);
    expect(reason(`${exact}a`)).toBe('must be at most 2048 characters');
    // 700 'é' are 700 chars raw but 4200 once percent-encoded.
    expect(reason(`${base}${'é'.repeat(700)}`)).toBe('must be at most 2048 characters');
  });
});
