import { describe, expect, it } from 'vitest';
import { createAddressPolicy, isIpLiteral, parseIp } from '../../../lambdas/core/address';

const strict = createAddressPolicy(false);
const permissive = createAddressPolicy(true);
const localMode = createAddressPolicy(['127.0.0.0/8', '::1/128']);

const reasonOf = (policy: ReturnType<typeof createAddressPolicy>, ip: string): string | undefined => {
  const verdict = policy.check(ip);
  return verdict.allowed ? undefined : verdict.reason;
};

const GLOBAL = ['8.8.8.8', '1.1.1.1', '93.184.216.34', '172.15.255.255', '172.32.0.0', '100.63.255.255', '100.128.0.0', '2606:4700::1111', '2a00:1450:4001:80b::200e', '[2606:4700::1111]'];

describe('default policy (allowPrivateTargets: false)', () => {
  it.each(GLOBAL)('allows the public address %s', (ip) => {
    expect(strict.check(ip)).toEqual({ allowed: true });
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'cloud metadata'],
    ['169.254.0.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['fc00::1', 'unique local'],
    ['fd00::1', 'unique local'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['192.0.2.1', 'reserved or documentation'],
    ['198.51.100.7', 'reserved or documentation'],
    ['203.0.113.9', 'reserved or documentation'],
    ['198.18.0.1', 'reserved or documentation'],
    ['240.0.0.1', 'reserved or documentation'],
    ['192.0.0.8', 'reserved or documentation'],
    ['2001:db8::1', 'reserved or documentation'],
    ['3fff::1', 'reserved or documentation'],
    ['2001:2::1', 'reserved or documentation'],
    ['100::1', 'reserved or documentation'],
    ['fec0::1', 'reserved or documentation'],
    ['::102:304', 'reserved or documentation'],
    ['64:ff9b:1::a00:1', 'reserved or documentation'],
  ])('blocks %s as %s', (ip, kind) => {
    const reason = reasonOf(strict, ip);
    expect(reason).toBeDefined();
    expect(reason).toContain(ip);
    expect(reason).toContain(kind);
  });

  it('says what it found in plain words', () => {
    expect(reasonOf(strict, '127.0.0.1')).toBe('127.0.0.1 is a loopback address');
    expect(reasonOf(strict, '::ffff:127.0.0.1')).toBe('::ffff:127.0.0.1 is an IPv4-mapped address of 127.0.0.1, a loopback address');
  });

  it.each([
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['[::ffff:7f00:1]', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:169.254.169.254', 'cloud metadata'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['::ffff:0:127.0.0.1', 'loopback'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['64:ff9b::a9fe:a9fe', 'cloud metadata'],
    ['2002:a00:1::1', 'private'],
    ['2002:7f00:1::', 'loopback'],
    ['2001:0:4136:e378:8000:63bf:f5ff:fffe', 'private'],
  ])('classifies %s by the IPv4 address it embeds (%s)', (ip, kind) => {
    expect(reasonOf(strict, ip)).toContain(kind);
  });

  it.each(['::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1', '2001:0:4136:e378:8000:63bf:f7f7:f7f7'])(
    'allows %s, which embeds the public 8.8.8.8',
    (ip) => {
      expect(strict.check(ip)).toEqual({ allowed: true });
    },
  );

  it.each(['', 'localhost', 'example.com', '1.2.3.4.5', '256.1.1.1', '10.0.0.0/8', 'fe80::1%eth0', '::1%lo', '[10.0.0.1]', '::ffff:1.2.3.256', ':::1', '1.2.3.4 '])(
    'refuses the unparsable %j',
    (ip) => {
      expect(reasonOf(strict, ip)).toBe(`${ip} is not an IP address`);
    },
  );

  it('reads inet_aton forms the way the resolver does', () => {
    for (const ip of ['2130706433', '0x7f.0.0.1', '017700000001', '127.1']) expect(reasonOf(strict, ip)).toContain('loopback');
  });
});

describe('allowPrivateTargets: true', () => {
  it.each(['127.0.0.1', '::1', '10.0.0.1', '172.16.0.1', '192.168.1.1', '100.64.0.1', 'fd00::1', '::ffff:10.0.0.1', ...GLOBAL])(
    'allows %s',
    (ip) => {
      expect(permissive.check(ip)).toEqual({ allowed: true });
    },
  );

  it.each(['169.254.169.254', '169.254.1.1', 'fe80::1', 'fd00:ec2::254', '::ffff:169.254.169.254', '0.0.0.0', '::', '224.0.0.1', 'ff02::1', '255.255.255.255', '192.0.2.1', '2001:db8::1'])(
    'still blocks %s',
    (ip) => {
      expect(permissive.check(ip).allowed).toBe(false);
    },
  );
});

describe('allowPrivateTargets as CIDR ranges', () => {
  it('allows exactly the listed ranges on top of public addresses', () => {
    const policy = createAddressPolicy(['10.1.0.0/16', 'fd12:3456::/32', '192.0.2.0/24']);
    for (const ip of ['10.1.0.1', '10.1.255.255', '::ffff:10.1.2.3', 'fd12:3456::1', '192.0.2.7', ...GLOBAL]) {
      expect(policy.check(ip), ip).toEqual({ allowed: true });
    }
    for (const ip of ['10.0.0.1', '10.2.0.1', '127.0.0.1', '192.168.1.1', 'fd12:3457::1', '::1', '100.64.0.1']) {
      expect(policy.check(ip).allowed, ip).toBe(false);
    }
  });

  it('local mode allows loopback only', () => {
    for (const ip of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) expect(localMode.check(ip), ip).toEqual({ allowed: true });
    for (const ip of ['10.0.0.1', '192.168.0.1', 'fd00::1', '169.254.169.254']) expect(localMode.check(ip).allowed, ip).toBe(false);
  });

  it('never allows link-local, metadata, unspecified, multicast or broadcast, even when listed', () => {
    const policy = createAddressPolicy(['169.254.0.0/16', 'fe80::/10', 'fd00:ec2::/32', '0.0.0.0/0', '::/0']);
    for (const ip of ['169.254.169.254', '169.254.3.4', 'fe80::1', 'fd00:ec2::254', '0.0.0.0', '::', '224.0.0.1', '255.255.255.255']) {
      expect(policy.check(ip).allowed, ip).toBe(false);
    }
    expect(policy.check('10.0.0.1')).toEqual({ allowed: true });
  });

  it('throws on a malformed range', () => {
    expect(() => createAddressPolicy(['10.0.0.0/33'])).toThrow(/10\.0\.0\.0\/33/);
    expect(() => createAddressPolicy(['not-a-cidr'])).toThrow(TypeError);
  });

  it('an empty list is the default policy', () => {
    expect(createAddressPolicy([]).check('10.0.0.1').allowed).toBe(false);
  });
});

describe('isIpLiteral / parseIp', () => {
  it.each(['127.0.0.1', '8.8.8.8', '::1', '[::1]', '[2606:4700::1111]', '::ffff:127.0.0.1', '2130706433'])('%s is an IP literal', (host) => {
    expect(isIpLiteral(host)).toBe(true);
  });

  it.each(['example.com', 'localhost', '', '[]', '[127.0.0.1]', '[::1', '::1]', '1.2.3.4.5', 'fe80::1%eth0'])(
    '%j is not',
    (host) => {
      expect(isIpLiteral(host)).toBe(false);
    },
  );

  it('parses an IPv4-compatible address as itself, not as IPv4-mapped', () => {
    expect(parseIp('::1.2.3.4')?.toString()).toBe('::102:304');
    expect(parseIp('::ffff:1.2.3.4')?.toString()).toBe('::ffff:102:304');
  });
});

describe('IPv6 addresses that embed an IPv4 address: only the address connected to is judged', () => {
  /** Each private IPv4 range, embedded every way an IPv6 address can carry it. */
  const PRIVATE_V4 = ['10.0.0.1', '172.16.0.1', '192.168.1.1', '100.64.0.1', '127.0.0.1'];
  const hex = (ipv4: string) => {
    const [a, b, c, d] = ipv4.split('.').map(Number) as [number, number, number, number];
    return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
  };
  const inverted = (ipv4: string) => hex(ipv4).map((word) => (~parseInt(word, 16) & 0xffff).toString(16));
  const TUNNELLED = (ipv4: string): [string, string][] => {
    const [high, low] = hex(ipv4);
    const [ih, il] = inverted(ipv4);
    return [
      ['NAT64', `64:ff9b::${high}:${low}`],
      ['6to4', `2002:${high}:${low}::1`],
      ['Teredo', `2001:0:4136:e378:8000:63bf:${ih}:${il}`],
      ['IPv4-translated', `::ffff:0:${high}:${low}`],
      ['IPv4-compatible', `::${high}:${low}`],
    ];
  };

  for (const ipv4 of PRIVATE_V4) {
    it.each(TUNNELLED(ipv4))(`a %s form of ${ipv4} (%s) is refused by an allow-list of its IPv4 range and by true`, (how, ip) => {
      const list = createAddressPolicy(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '127.0.0.0/8']);
      const listed = list.check(ip);
      expect(listed.allowed, ip).toBe(false);
      expect(listed.allowed ? '' : listed.reason).toContain(`${how} address of ${ipv4}`);
      expect(permissive.check(ip).allowed, ip).toBe(false);
      expect(strict.check(ip).allowed, ip).toBe(false);
    });
  }

  it('the issue case: allowing 10.0.0.0/8 does not allow http://[2002:a00:1::]/', () => {
    const policy = createAddressPolicy(['10.0.0.0/8']);
    expect(policy.check('2002:a00:1::')).toEqual({ allowed: false, reason: '2002:a00:1:: is a 6to4 address of 10.0.0.1, a private address' });
    expect(policy.check('2002:a00:1::', { plainHttp: true }).allowed).toBe(false);
  });

  it('an IPv4-mapped address is connected to as its IPv4 address, so it is judged as that address', () => {
    const policy = createAddressPolicy(['10.0.0.0/8']);
    expect(policy.check('::ffff:10.1.2.3')).toEqual({ allowed: true });
    expect(policy.check('::ffff:10.1.2.3', { plainHttp: true })).toEqual({ allowed: true });
    expect(policy.check('::ffff:192.168.0.1').allowed).toBe(false);
  });

  it('the IPv6 address itself may be allowed by a range that holds it, and then takes plain http', () => {
    const policy = createAddressPolicy(['2002::/16', '64:ff9b::/96']);
    expect(policy.check('2002:a00:1::')).toEqual({ allowed: true });
    expect(policy.check('2002:a00:1::', { plainHttp: true })).toEqual({ allowed: true });
    expect(policy.check('64:ff9b::a00:1')).toEqual({ allowed: true });
    // The metadata address stays refused, listed or not.
    expect(policy.check('2002:a9fe:a9fe::').allowed).toBe(false);
    expect(policy.check('64:ff9b::a9fe:a9fe').allowed).toBe(false);
  });

  it('tunnelled forms of a public IPv4 address are public: allowed, never over plain http', () => {
    for (const ip of ['64:ff9b::808:808', '2002:808:808::1', '2001:0:4136:e378:8000:63bf:f7f7:f7f7', '::ffff:0:808:808']) {
      expect(strict.check(ip), ip).toEqual({ allowed: true });
      const http = createAddressPolicy(true).check(ip, { plainHttp: true });
      expect(http.allowed ? '' : http.reason, ip).toMatch(/plain http/);
    }
    // IPv4-compatible addresses are deprecated and not routed.
    expect(strict.check('::808:808').allowed).toBe(false);
  });

  it('plain http: only to an allowed private target', () => {
    expect(permissive.check('10.0.0.1', { plainHttp: true })).toEqual({ allowed: true });
    expect(permissive.check('8.8.8.8', { plainHttp: true }).allowed).toBe(false);
    expect(strict.check('10.0.0.1', { plainHttp: true }).allowed).toBe(false);
    expect(localMode.check('::1', { plainHttp: true })).toEqual({ allowed: true });
  });
});
