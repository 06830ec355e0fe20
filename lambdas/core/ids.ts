import { createHash } from 'node:crypto';
import { encodeTime, TIME_MAX, ulid } from 'ulid';
import { PermanentError } from './errors';

export type IdPrefix = 'wh' | 'evt' | 'dlv' | 'tok';

/** ULID's alphabet: Crockford base32 without I, L, O, U. */
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ULID_TIME_LENGTH = 10;
const DELIVERY_HASH_LENGTH = 16;

/** 26 Crockford chars whose first one is ≤ 7: the largest value ulid's 48-bit time can encode. */
const ULID_BODY = '[0-7][0-9A-HJKMNP-TV-Z]{25}';
const ID_PATTERNS: Record<IdPrefix, RegExp> = {
  wh: new RegExp(`^wh_${ULID_BODY}$`),
  evt: new RegExp(`^evt_${ULID_BODY}$`),
  dlv: new RegExp(`^dlv_${ULID_BODY}$`),
  tok: new RegExp(`^tok_${ULID_BODY}$`),
};

export function newSubscriptionId(now: number = Date.now()): string {
  return `wh_${ulid(now)}`;
}

export function newEventId(now: number = Date.now()): string {
  return `evt_${ulid(now)}`;
}

export function newTokenId(now: number = Date.now()): string {
  return `tok_${ulid(now)}`;
}

/** Crockford base32 of `bytes`, most significant bit first, no padding. */
export function crockfordBase32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CROCKFORD[(buffer >>> bits) & 31];
    }
    // Keep only the bits not yet emitted so `buffer` never overflows 32 bits.
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += CROCKFORD[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * The delivery id of one event to one subscription. Deterministic, so fan-out re-runs, replays,
 * retries and DLQ redrives reuse it (the receiver dedupes on `webhook-id`), and it starts with the
 * event's ULID time so delivery ids sort by event time.
 */
export function deliveryIdFor(fleetId: string, eventId: string, subscriptionId: string, eventTimestamp: string): string {
  const millis = Date.parse(eventTimestamp);
  if (!isDeliveryIdTime(eventTimestamp)) {
    throw new PermanentError(`Event timestamp ${JSON.stringify(eventTimestamp)} is not a valid ISO-8601 time`);
  }
  const digest = createHash('sha256').update(`${fleetId}\0${eventId}\0${subscriptionId}`, 'utf8').digest();
  const hash = crockfordBase32(digest).slice(0, DELIVERY_HASH_LENGTH);
  return `dlv_${encodeTime(millis, ULID_TIME_LENGTH)}${hash}`;
}

/** True for an event time a delivery id can encode: from 1970 to ULID's last millisecond (year 10889). */
export function isDeliveryIdTime(eventTimestamp: string): boolean {
  const millis = Date.parse(eventTimestamp);
  return Number.isFinite(millis) && millis >= 0 && millis <= TIME_MAX;
}

/** Format check only: lets the API answer 404 without a table read for ids it never issues. */
export function isId(prefix: IdPrefix, value: string): boolean {
  return ID_PATTERNS[prefix].test(value);
}
