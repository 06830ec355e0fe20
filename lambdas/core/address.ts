import ipaddr from 'ipaddr.js';

/**
 * SSRF guard: which IP addresses a delivery may connect to. Used on URL literals at the API and
 * on every DNS answer at delivery time, so a hostname can't smuggle in an internal address.
 */

export type AddressCheck = { allowed: true } | { allowed: false; reason: string };

export interface AddressPolicy {
  /**
   * Whether a connection to `ip` is allowed. With `plainHttp`, also whether the request may go
   * unencrypted: only to an allowed private target, never to an address that is publicly routed.
   */
  check(ip: string, options?: { plainHttp?: boolean }): AddressCheck;
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;

type Category =
  | 'global'
  | 'loopback'
  | 'private'
  | 'carrierGradeNat'
  | 'uniqueLocal'
  | 'linkLocal'
  | 'metadata'
  | 'unspecified'
  | 'multicast'
  | 'broadcast'
  | 'reserved';

const DESCRIPTION: Record<Exclude<Category, 'global'>, string> = {
  loopback: 'a loopback address',
  private: 'a private address',
  carrierGradeNat: 'a carrier-grade NAT (shared) address',
  uniqueLocal: 'a unique local (private IPv6) address',
  linkLocal: 'a link-local address',
  metadata: 'a cloud metadata service address',
  unspecified: 'an unspecified address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved or documentation address, not a public one',
};

/** Refused whatever `allowPrivateTargets` says: cloud credentials live behind these. */
const NEVER_ALLOWED: ReadonlySet<Category> = new Set(['linkLocal', 'metadata', 'unspecified', 'multicast', 'broadcast']);
/** What `allowPrivateTargets: true` opens up. */
const PRIVATE_CATEGORIES: ReadonlySet<Category> = new Set(['loopback', 'private', 'carrierGradeNat', 'uniqueLocal']);

const IPV4_CATEGORY: Readonly<Record<string, Category>> = {
  unicast: 'global',
  // Anycast services on public addresses (RFC 7534/7535, RFC 7450).
  as112: 'global',
  amt: 'global',
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'linkLocal',
  loopback: 'loopback',
  carrierGradeNat: 'carrierGradeNat',
  private: 'private',
};

/** IPv6 ranges (ipaddr.js names) that are public unicast once inside 2000::/3; any other name is reserved. */
const IPV6_CATEGORY: Readonly<Record<string, Category>> = {
  unicast: 'global',
  as112v6: 'global',
  amt: 'global',
  unspecified: 'unspecified',
  linkLocal: 'linkLocal',
  multicast: 'multicast',
  loopback: 'loopback',
  uniqueLocal: 'uniqueLocal',
};

const cidr = (text: string): [Address, number] => ipaddr.parseCIDR(text);
const GLOBAL_UNICAST_V6 = cidr('2000::/3');
const NAT64_WELL_KNOWN = cidr('64:ff9b::/96');
/** AWS's IPv6 instance services (metadata fd00:ec2::254, DNS ::253, time ::123). */
const AWS_INSTANCE_SERVICES_V6 = cidr('fd00:ec2::/64');
const METADATA_V4 = ipaddr.IPv4.parse('169.254.169.254');

interface Classification {
  category: Category;
  /** Set when the verdict comes from an IPv4 address embedded in an IPv6 one. */
  embedded?: { how: string; ipv4: string };
  /**
   * How an allow-list judges it. `ipv4`: an IPv4-mapped address, which the kernel connects to as
   * that IPv4 address. `literal`: a translated or tunnelled form (NAT64, 6to4, Teredo, SIIT,
   * IPv4-compatible), which leaves this host as an IPv6 packet to a relay or translator: only the
   * IPv6 address itself can be allowed, and a private IPv4 inside it never makes it private.
   */
  match: 'self' | 'ipv4' | 'literal';
}

/**
 * Parses like the resolver would, so `check` judges the address a connect() would reach. Only
 * bare addresses: a zone index (`%eth0`) or a CIDR suffix makes it unparsable.
 */
export function parseIp(text: string): Address | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (bare.includes('%')) return undefined;
  // inet_aton forms too ("2130706433", "0x7f.1"): getaddrinfo accepts them as addresses.
  if (bare === text && ipaddr.IPv4.isValid(bare)) return ipaddr.IPv4.parse(bare);
  const hex = dottedSuffixToHex(bare);
  return hex !== undefined && ipaddr.IPv6.isValid(hex) ? ipaddr.IPv6.parse(hex) : undefined;
}

/**
 * Rewrites an IPv6 address's trailing dotted quad as two hex groups. ipaddr.js reads `::1.2.3.4`
 * (IPv4-compatible, really ::102:304) as IPv4-mapped; in hex form it parses it faithfully.
 */
function dottedSuffixToHex(text: string): string | undefined {
  const match = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!match) return text.includes('.') ? undefined : text;
  const octets = match.slice(2).map(Number);
  if (octets.some((octet) => octet > 255)) return undefined;
  const [a, b, c, d] = octets as [number, number, number, number];
  return `${match[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

function ipv4FromWords(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

function classifyV4(address: ipaddr.IPv4): Category {
  if (address.match(METADATA_V4, 32)) return 'metadata';
  return IPV4_CATEGORY[address.range()] ?? 'reserved';
}

const IPV4_COMPATIBLE = cidr('::/96');

/** IPv6 forms that carry an IPv4 address the packet ends up at (or is translated to). */
function embeddedIpv4(address: ipaddr.IPv6): { how: string; ipv4: ipaddr.IPv4 } | undefined {
  const p = address.parts;
  switch (address.range()) {
    case 'ipv4Mapped':
      return { how: 'an IPv4-mapped', ipv4: address.toIPv4Address() };
    case 'rfc6145':
      return { how: 'an IPv4-translated', ipv4: ipv4FromWords(p[6]!, p[7]!) };
    case 'rfc6052':
      // Only the well-known /96 has a fixed layout; the local-use 64:ff9b:1::/48 is classified as reserved.
      return address.match(NAT64_WELL_KNOWN) ? { how: 'a NAT64', ipv4: ipv4FromWords(p[6]!, p[7]!) } : undefined;
    case '6to4':
      return { how: 'a 6to4', ipv4: ipv4FromWords(p[1]!, p[2]!) };
    case 'teredo':
      // RFC 4380: the client's IPv4 address is stored bit-inverted in the last 32 bits.
      return { how: 'a Teredo', ipv4: ipv4FromWords(~p[6]! & 0xffff, ~p[7]! & 0xffff) };
    default:
      // RFC 4291 §2.5.5.1, deprecated: ::a.b.c.d (but not :: and ::1, classified as themselves).
      if (address.match(IPV4_COMPATIBLE) && (p[6]! !== 0 || p[7]! > 1)) {
        return { how: 'an IPv4-compatible', ipv4: ipv4FromWords(p[6]!, p[7]!) };
      }
      return undefined;
  }
}

function classify(address: Address): Classification {
  if (address.kind() === 'ipv4') return { category: classifyV4(address as ipaddr.IPv4), match: 'self' };
  const v6 = address as ipaddr.IPv6;
  if (v6.match(AWS_INSTANCE_SERVICES_V6)) return { category: 'metadata', match: 'self' };
  const embedded = embeddedIpv4(v6);
  if (embedded) {
    const category = classifyV4(embedded.ipv4);
    const found = { embedded: { how: embedded.how, ipv4: embedded.ipv4.toString() } };
    if (v6.range() === 'ipv4Mapped') return { category, ...found, match: 'ipv4' };
    // The one embedding ipaddr.js has no range name for: IPv4-compatible, deprecated and not routed.
    const compatible = v6.range() === 'unicast';
    return { category: category === 'global' && compatible ? 'reserved' : category, ...found, match: 'literal' };
  }
  const category = IPV6_CATEGORY[v6.range()] ?? 'reserved';
  if (category === 'global' && !v6.match(GLOBAL_UNICAST_V6)) return { category: 'reserved', match: 'self' };
  return { category, match: 'self' };
}

function reasonFor(ip: string, { category, embedded }: Classification): string {
  const description = DESCRIPTION[category as Exclude<Category, 'global'>];
  return embedded
    ? `${ip} is ${embedded.how} address of ${embedded.ipv4}, ${description}`
    : `${ip} is ${description}`;
}

function parseAllowList(ranges: readonly string[]): [Address, number][] {
  return ranges.map((range) => {
    try {
      return cidr(range);
    } catch (error) {
      throw new TypeError(`allowPrivateTargets: "${range}" is not a CIDR range`, { cause: error });
    }
  });
}

function inAllowList(address: Address, found: Classification, ranges: readonly [Address, number][]): boolean {
  const candidate = found.match === 'ipv4' && found.embedded !== undefined ? ipaddr.IPv4.parse(found.embedded.ipv4) : address;
  return ranges.some(([network, bits]) => candidate.kind() === network.kind() && candidate.match(network, bits));
}

/**
 * `false`: public unicast only. `true`: also loopback, private, CGNAT and ULA. A list of CIDR
 * ranges: public unicast plus exactly those. Link-local, metadata, unspecified, multicast and
 * broadcast are refused in every case. Throws on a malformed CIDR.
 *
 * Only the address actually connected to counts: an IPv4-mapped address is its IPv4 address, but
 * a NAT64, 6to4, Teredo, IPv4-translated or IPv4-compatible address is an IPv6 destination that a
 * relay or translator forwards. One embedding a private IPv4 address is refused as that address's
 * kind (so `10.0.0.0/8` or `true` never lets it through), unless the IPv6 address itself is in an
 * allowed range. Plain http goes only to an allowed target that is not public.
 */
export function createAddressPolicy(allowPrivateTargets: boolean | readonly string[]): AddressPolicy {
  const ranges = typeof allowPrivateTargets === 'boolean' ? [] : parseAllowList(allowPrivateTargets);
  const isAllowed = (address: Address, found: Classification): boolean => {
    if (found.category === 'global') return true;
    if (NEVER_ALLOWED.has(found.category)) return false;
    if (allowPrivateTargets === true) return PRIVATE_CATEGORIES.has(found.category) && found.match !== 'literal';
    return inAllowList(address, found, ranges);
  };
  return {
    check(ip, options = {}): AddressCheck {
      const address = parseIp(ip);
      if (address === undefined) return { allowed: false, reason: `${ip} is not an IP address` };
      const found = classify(address);
      if (!isAllowed(address, found)) return { allowed: false, reason: reasonFor(ip, found) };
      if (options.plainHttp === true && found.category === 'global') {
        return { allowed: false, reason: `plain http is only allowed to an allowed private address, and ${ip} is public` };
      }
      return { allowed: true };
    },
  };
}

/** True for an IPv4 or IPv6 literal, the latter bare or in URL brackets. */
export function isIpLiteral(host: string): boolean {
  return parseIp(host) !== undefined;
}
