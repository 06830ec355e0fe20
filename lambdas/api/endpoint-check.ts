import { lookup } from 'node:dns/promises';
import { createAddressPolicy, isIpLiteral } from '../core/address';
import { checkEndpointUrl } from '../core/endpoint-url';
import { badRequest, isClientError, type ClientError } from '../core/errors';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** DNS resolution, injectable so tests (and DNS-rebinding cases) choose the answers. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** How long the API waits for DNS before refusing the URL. */
export const RESOLVE_TIMEOUT_MS = 3_000;

export const systemResolver: Resolver = async (hostname) => {
  const answers = await lookup(hostname, { all: true, verbatim: true });
  return answers.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

const HTTPS_RULE = 'must use https: (plain http is only for private targets this deployment allows)';

const NOT_FOUND_CODES = new Set(['ENOTFOUND', 'ENODATA', 'EAI_NONAME', 'EAI_NODATA']);

/**
 * Checks a subscription URL the way the dispatcher will treat it: static rules (scheme, length,
 * credentials, literal addresses) and then every address the host resolves to. Plain http is
 * accepted only when every address is a private target this deployment allows, never for a
 * public host (a plaintext signature to the internet would leak the payload).
 */
export function createEndpointChecker(options: {
  allowPrivateTargets: boolean | readonly string[];
  resolve?: Resolver;
  timeoutMs?: number;
}): (raw: string, field?: string) => Promise<URL> {
  const policy = createAddressPolicy(options.allowPrivateTargets);
  const allowHttp = options.allowPrivateTargets !== false;
  const resolve = options.resolve ?? systemResolver;
  const timeoutMs = options.timeoutMs ?? RESOLVE_TIMEOUT_MS;

  return async (raw, field = 'url') => {
    const verdict = checkEndpointUrl(raw, policy, { allowHttp });
    if (!verdict.ok) throw refuse(field, verdict.reason);
    const { url } = verdict;
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    let addresses: string[];
    try {
      addresses = isIpLiteral(url.hostname) ? [host] : await resolveHost(resolve, host, timeoutMs, field);
    } catch (error) {
      // Plain http is the first thing wrong with http://example.com: say so, not only that DNS failed.
      if (url.protocol === 'http:' && isClientError(error)) {
        throw refuse(field, `${HTTPS_RULE}; ${error.details[0]?.reason ?? 'its host did not resolve'}`);
      }
      throw error;
    }
    for (const address of addresses) {
      const check = policy.check(address);
      if (!check.allowed) throw refuse(field, `host ${url.hostname} resolves to ${check.reason}`);
      // The delivery-time guard applies the same rule to the same policy.
      if (url.protocol === 'http:' && !policy.check(address, { plainHttp: true }).allowed) {
        throw refuse(field, HTTPS_RULE);
      }
    }
    return url;
  };
}

async function resolveHost(resolve: Resolver, host: string, timeoutMs: number, field: string): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(refuse(field, `host ${host} did not resolve within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const answers = await Promise.race([resolve(host), timeout]);
    if (answers.length === 0) throw refuse(field, `host ${host} has no address`);
    return answers.map((answer) => answer.address);
  } catch (error) {
    if (isClientError(error)) throw error;
    const code = (error as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string' && NOT_FOUND_CODES.has(code)) throw refuse(field, `host ${host} does not resolve`);
    throw refuse(field, `host ${host} could not be resolved; try again`);
  } finally {
    clearTimeout(timer);
  }
}

function refuse(field: string, reason: string): ClientError {
  return badRequest([{ field, reason }], 'The webhook URL is not acceptable.');
}
