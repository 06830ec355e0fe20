import type { LookupAddress } from 'node:dns';
import net from 'node:net';
import { isLoopback } from './addresses';

export interface LoopbackGuard {
  /** Destinations refused because they are not on this machine. */
  readonly violations: string[];
  restore(): void;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
type Lookup = (hostname: string, options: object, callback: LookupCallback) => void;

/**
 * A safety net for tests that aim Hookline at internal addresses: every socket this process opens
 * must end at a loopback address. Anything else is refused before a packet leaves and recorded, so
 * an SSRF regression fails the test instead of reaching 10.x or the metadata service.
 */
export function guardLoopbackOnly(): LoopbackGuard {
  const violations: string[] = [];
  const original = net.Socket.prototype.connect;
  const refuse = (socket: net.Socket, destination: string): net.Socket => {
    violations.push(destination);
    process.nextTick(() => socket.destroy(Object.assign(new Error(`test guard: ${destination} is not a loopback address`), { code: 'ECONNREFUSED' })));
    return socket;
  };
  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]): net.Socket {
    const [first, second] = args;
    const options = (typeof first === 'object' && first !== null ? first : { port: first, host: second }) as {
      host?: string;
      path?: string;
      lookup?: Lookup;
    };
    if (options.path !== undefined) return (original as (...a: unknown[]) => net.Socket).apply(this, args);
    const host = options.host ?? 'localhost';
    if (net.isIP(host) !== 0 && !isLoopback(host)) return refuse(this, host);
    if (net.isIP(host) === 0 && typeof options.lookup === 'function') {
      const lookup = options.lookup;
      (options as { lookup: Lookup }).lookup = (hostname, lookupOptions, callback) =>
        lookup(hostname, lookupOptions, (error, address, family) => {
          const addresses = Array.isArray(address) ? address.map((entry) => entry.address) : [address];
          const outside = addresses.find((candidate) => typeof candidate === 'string' && candidate !== '' && !isLoopback(candidate));
          if (error === null && outside !== undefined) {
            violations.push(`${hostname} → ${outside}`);
            callback(Object.assign(new Error(`test guard: ${hostname} resolved to ${outside}`), { code: 'ECONNREFUSED' }), '', 4);
            return;
          }
          callback(error, address, family);
        });
    }
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;
  return {
    violations,
    restore: () => {
      net.Socket.prototype.connect = original;
    },
  };
}
