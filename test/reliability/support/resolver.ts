import type { Resolver } from '../../../lambdas/shared/http-delivery';

/** Documentation-free public addresses the tests resolve example hosts to; nothing ever connects there. */
export const PUBLIC_V4 = '93.184.216.34';
export const PUBLIC_V6 = '2606:2800:220:1:248:1893:25c8:1946';

function notFound(hostname: string): Error {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
}

/**
 * A resolver answering from a table (no real DNS, ever). A value may be a function, so a test can
 * change the answer between two lookups of the same name (DNS rebinding).
 */
export function tableResolver(table: Record<string, string[] | (() => string[])>): Resolver & { lookups: string[] } {
  const lookups: string[] = [];
  const resolve = (async (hostname: string) => {
    lookups.push(hostname);
    const entry = Object.hasOwn(table, hostname) ? table[hostname] : undefined;
    const answers = typeof entry === 'function' ? entry() : entry;
    if (answers === undefined || answers.length === 0) throw notFound(hostname);
    return answers.map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) }));
  }) as Resolver & { lookups: string[] };
  resolve.lookups = lookups;
  return resolve;
}
