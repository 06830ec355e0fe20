import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { decodeTime, encodeTime } from 'ulid';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../../lambdas/core/errors';
import {
  crockfordBase32,
  deliveryIdFor,
  isId,
  newEventId,
  newSubscriptionId,
  newTokenId,
} from '../../../lambdas/core/ids';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Reference encoding through one big integer, independent of the bit-buffer implementation. */
function referenceBase32(bytes: Uint8Array): string {
  if (bytes.length === 0) return '';
  const bits = bytes.length * 8;
  const chars = Math.ceil(bits / 5);
  let value = BigInt(`0x${Buffer.from(bytes).toString('hex')}`) << BigInt(chars * 5 - bits);
  let out = '';
  for (let i = 0; i < chars; i += 1) {
    out = ALPHABET[Number(value & 31n)] + out;
    value >>= 5n;
  }
  return out;
}

describe('generated ids', () => {
  it.each([
    ['wh', newSubscriptionId],
    ['evt', newEventId],
    ['tok', newTokenId],
  ] as const)('%s ids carry their prefix, a ULID of the given time, and pass isId', (prefix, make) => {
    const now = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
    const id = make(now);
    expect(id.startsWith(`${prefix}_`)).toBe(true);
    expect(id).toHaveLength(prefix.length + 1 + 26);
    expect(decodeTime(id.slice(prefix.length + 1))).toBe(now);
    expect(isId(prefix, id)).toBe(true);
    expect(make(now)).not.toBe(id);
  });

  it('default to the current time', () => {
    const before = Date.now();
    const id = newSubscriptionId();
    expect(decodeTime(id.slice(3))).toBeGreaterThanOrEqual(before);
    expect(decodeTime(id.slice(3))).toBeLessThanOrEqual(Date.now());
  });
});

describe('crockfordBase32', () => {
  it('matches a big-integer reference encoding for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        expect(crockfordBase32(bytes)).toBe(referenceBase32(bytes));
      }),
    );
  });

  it('encodes known values', () => {
    expect(crockfordBase32(new Uint8Array([0xff]))).toBe('ZW');
    expect(crockfordBase32(new Uint8Array([0, 0, 0, 0, 0]))).toBe('00000000');
    expect(crockfordBase32(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff]))).toBe('ZZZZZZZZ');
  });
});

describe('deliveryIdFor', () => {
  const ts = '2025-03-04T05:06:07.890Z';

  it('is the event ULID time then 16 base32 chars of SHA-256(fleet \\0 event \\0 subscription)', () => {
    const id = deliveryIdFor('fleet-1', 'evt_1', 'wh_1', ts);
    const digest = createHash('sha256').update('fleet-1\0evt_1\0wh_1').digest();
    expect(id).toBe(`dlv_${encodeTime(Date.parse(ts), 10)}${referenceBase32(digest).slice(0, 16)}`);
    expect(id).toHaveLength(30);
    expect(isId('dlv', id)).toBe(true);
  });

  it('is deterministic', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }),
        (fleet, event, sub, date) => {
          const iso = date.toISOString();
          expect(deliveryIdFor(fleet, event, sub, iso)).toBe(deliveryIdFor(fleet, event, sub, iso));
        }),
    );
  });

  it('differs when any part differs, including where the separators fall', () => {
    const base = deliveryIdFor('f', 'e', 's', ts);
    expect(deliveryIdFor('g', 'e', 's', ts)).not.toBe(base);
    expect(deliveryIdFor('f', 'x', 's', ts)).not.toBe(base);
    expect(deliveryIdFor('f', 'e', 't', ts)).not.toBe(base);
    expect(deliveryIdFor('ab', 'c', 's', ts)).not.toBe(deliveryIdFor('a', 'bc', 's', ts));
    const later = deliveryIdFor('f', 'e', 's', '2025-03-04T05:06:07.891Z');
    expect(later.slice(14)).toBe(base.slice(14));
    expect(later.slice(0, 14)).not.toBe(base.slice(0, 14));
  });

  it('sorts by event time', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 47 }),
        fc.integer({ min: 1, max: 2 ** 40 }),
        fc.string(),
        fc.string(),
        (t, gap, a, b) => {
          const earlier = deliveryIdFor('fleet', a, 'wh', new Date(t).toISOString());
          const later = deliveryIdFor('fleet', b, 'wh', new Date(t + gap).toISOString());
          expect(earlier < later).toBe(true);
        },
      ),
    );
  });

  it('accepts any ISO-8601 form Date.parse reads, using the instant', () => {
    expect(deliveryIdFor('f', 'e', 's', '2025-03-04T06:06:07.890+01:00')).toBe(deliveryIdFor('f', 'e', 's', ts));
  });

  it.each(['not a time', '', '1969-12-31T23:59:59Z', '+275760-01-01T00:00:00Z'])(
    'refuses the timestamp %j with a PermanentError',
    (bad) => {
      expect(() => deliveryIdFor('f', 'e', 's', bad)).toThrow(PermanentError);
    },
  );
});

describe('isId', () => {
  const ulid = '01JNKV3Y0RZ8W5T2P4M6Q9B7CD';

  it('accepts each prefix with a ULID', () => {
    for (const prefix of ['wh', 'evt', 'dlv', 'tok'] as const) expect(isId(prefix, `${prefix}_${ulid}`)).toBe(true);
  });

  it.each([
    ['wh', `evt_${ulid}`],
    ['wh', ulid],
    ['wh', `wh_${ulid.toLowerCase()}`],
    ['wh', `wh_${ulid}0`],
    ['wh', `wh_${ulid.slice(1)}`],
    ['wh', `wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CI`],
    ['wh', `wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CL`],
    ['wh', `wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CO`],
    ['wh', `wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CU`],
    ['wh', `wh_81JNKV3Y0RZ8W5T2P4M6Q9B7CD`],
    ['dlv', ` dlv_${ulid}`],
    ['tok', `tok_${ulid}\n`],
  ] as const)('isId(%s, %j) is false', (prefix, value) => {
    expect(isId(prefix, value)).toBe(false);
  });
});
