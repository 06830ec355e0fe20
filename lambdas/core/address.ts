import ipaddr from 'ipaddr.js';

/**
 * SSRF guard: which IP addresses a delivery may connect to. Used on URL literals at the API and
 * on every DNS answer at delivery time, so a hostname can't smuggle in an internal address.
 */

export type AddressCheck = { allowed: true } | { allowed: false; reason: string };

export interface AddressPolicy {
  check(ip: string): AddressCheck;
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
      return undefined;
  }
}

function classify(address: Address): Classification {
  if (address.kind() === 'ipv4') return { category: classifyV4(address as ipaddr.IPv4) };
  const v6 = address as ipaddr.IPv6;
  if (v6.match(AWS_INSTANCE_SERVICES_V6)) return { category: 'metadata' };
  const embedded = embeddedIpv4(v6);
  if (embedded) {
    const category = classifyV4(embedded.ipv4);
    // 6to4 and Teredo of a public IPv4 are public IPv6; mapped/translated forms are that IPv4.
    return { category, embedded: { how: embedded.how, ipv4: embedded.ipv4.toString() } };
  }
  const category = IPV6_CATEGORY[v6.range()] ?? 'reserved';
  if (category === 'global' && !v6.match(GLOBAL_UNICAST_V6)) return { category: 'reserved' };
  return { category };
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

function inAllowList(address: Address, embedded: string | undefined, ranges: readonly [Address, number][]): boolean {
  const candidates = embedded === undefined ? [address] : [address, ipaddr.IPv4.parse(embedded)];
  return candidates.some((candidate) =>
    ranges.some(([network, bits]) => candidate.kind() === network.kind() && candidate.match(network, bits)),
  );
}

/**
 * `false`: public unicast only. `true`: also loopback, private, CGNAT and ULA. A list of CIDR
 * ranges: public unicast plus exactly those. Link-local, metadata, unspecified, multicast and
 * broadcast are refused in every case. Throws on a malformed CIDR.
 */
export function createAddressPolicy(allowPrivateTargets: boolean | readonly string[]): AddressPolicy {
  const ranges = typeof allowPrivateTargets === 'boolean' ? [] : parseAllowList(allowPrivateTargets);
  return {
    check(ip: string): AddressCheck {
      const address = parseIp(ip);
      if (address === undefined) return { allowed: false, reason: `${ip} is not an IP address` };
      const found = classify(address);
      const { category } = found;
      if (category === 'global') return { allowed: true };
      if (NEVER_ALLOWED.has(category)) return { allowed: false, reason: reasonFor(ip, found) };
      const allowed =
        allowPrivateTargets === true
          ? PRIVATE_CATEGORIES.has(category)
          : inAllowList(address, found.embedded?.ipv4, ranges);
      return allowed ? { allowed: true } : { allowed: false, reason: reasonFor(ip, found) };
    },
  };
}

/** True for an IPv4 or IPv6 literal, the latter bare or in URL brackets. */
export function isIpLiteral(host: string): boolean {
  return parseIp(host) !== undefined;
}
