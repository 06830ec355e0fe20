import ipaddr from 'ipaddr.js';

/** 127.0.0.0/8, ::1, and IPv4-mapped forms of 127/8: the only destinations tests may reach. */
export function isLoopback(address: string): boolean {
  if (!ipaddr.isValid(address)) return address === 'localhost';
  const parsed = ipaddr.process(address);
  return parsed.range() === 'loopback';
}
