import { isIpLiteral, type AddressPolicy } from './address';

/**
 * Static checks of a subscription's endpoint URL, without DNS. The dispatcher checks every
 * resolved address again at delivery time; this catches what is wrong on its face, so the API can
 * answer with a 4xx reason.
 */

export const MAX_ENDPOINT_URL_LENGTH = 2048;

export type EndpointUrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

/** WHATWG URL silently drops tabs and newlines and trims spaces; such a URL isn't what the user meant. */
const INVISIBLE_CHARACTERS = /[\u0000-\u0020\u007f-\u009f\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f\u3000\ufeff]/;
/** After WHATWG normalisation hosts are lower-case and punycoded; `_` is common in real DNS names. */
const HOST_LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;
const MAX_HOSTNAME_LENGTH = 253;

const refuse = (reason: string): EndpointUrlCheck => ({ ok: false, reason });

export function checkEndpointUrl(raw: string, policy: AddressPolicy, opts: { allowHttp: boolean }): EndpointUrlCheck {
  if (raw.length > MAX_ENDPOINT_URL_LENGTH) return refuse(`must be at most ${MAX_ENDPOINT_URL_LENGTH} characters`);
  if (INVISIBLE_CHARACTERS.test(raw)) return refuse('must not contain spaces or control characters');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('must be an absolute URL such as https://example.com/webhooks');
  }
  if (url.protocol !== 'https:' && !(opts.allowHttp && url.protocol === 'http:')) {
    return refuse(opts.allowHttp ? 'must use https: or http:' : 'must use https:');
  }
  if (url.username !== '' || url.password !== '') return refuse('must not contain credentials (user:password@)');
  // WHATWG URL accepts port 0, which no connection can reach.
  if (url.port !== '' && Number(url.port) === 0) return refuse('must not use port 0');
  // Any `#` starts the fragment, even an empty one that URL#hash reports as ''.
  if (raw.includes('#')) return refuse('must not contain a fragment (#…)');
  if (url.href.length > MAX_ENDPOINT_URL_LENGTH) return refuse(`must be at most ${MAX_ENDPOINT_URL_LENGTH} characters`);
  return checkHost(url, policy);
}

function checkHost(url: URL, policy: AddressPolicy): EndpointUrlCheck {
  // http: and https: are special schemes: WHATWG URL refuses them without a host, so one is here.
  const host = url.hostname;
  if (isIpLiteral(host)) {
    const verdict = policy.check(host);
    return verdict.allowed ? { ok: true, url } : refuse(`host ${verdict.reason}`);
  }
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length > MAX_HOSTNAME_LENGTH || !name.split('.').every((label) => HOST_LABEL.test(label))) {
    return refuse(`host ${host} is not a valid DNS name`);
  }
  // RFC 6761: resolvers answer these with loopback without asking DNS.
  if (name === 'localhost' || name.endsWith('.localhost')) {
    const verdict = policy.check('127.0.0.1');
    if (!verdict.allowed) return refuse(`host ${host} is a loopback host name`);
  }
  return { ok: true, url };
}
