import { createHash } from 'node:crypto';

/**
 * Tokens a person chooses (local mode's HOOKLINE_TOKEN): any 16–256 visible ASCII characters.
 * They carry no token id, so the id is derived from the token itself — a hash kept apart from the
 * stored secret hash — and the record is found by that id like any other. Only hashes are stored.
 */
const CHOSEN_TOKEN = /^[\x21-\x7e]{16,256}$/;
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ID_DOMAIN = 'hookline chosen token id\n';

export const CHOSEN_TOKEN_RULE = '16 to 256 visible ASCII characters (no spaces)';

export function isChosenToken(token: string): boolean {
  return CHOSEN_TOKEN.test(token);
}

/** `tok_` + 26 Crockford base32 characters (a valid token id, first character 0-7, as in a ULID). */
export function chosenTokenId(token: string): string {
  const hash = createHash('sha256').update(ID_DOMAIN).update(token, 'utf8').digest();
  let bits = 0n;
  for (const byte of hash.subarray(0, 17)) bits = (bits << 8n) | BigInt(byte);
  // 136 bits read; keep the top 128: 3 for the first character (0-7), 5 for each of the other 25.
  bits >>= 8n;
  let id = '';
  for (let index = 25; index >= 0; index -= 1) id += CROCKFORD[Number((bits >> BigInt(index * 5)) & 31n)];
  return `tok_${id}`;
}
