import { createDecipheriv, createHash } from 'node:crypto';
import type { Credentials, InboundProvider, Verification } from './types';
import { isRecord, parseTimestamp, randomToken, reject, safeEqual, stringField, utf8 } from './util';

/**
 * Feishu / Lark event subscriptions. With an Encrypt Key configured (Hookline always has one)
 * Feishu sends `X-Lark-Signature` = hex SHA-256 of timestamp + nonce + encrypt key + raw body, and
 * bodies `{"encrypt": base64(iv ‖ AES-256-CBC(event))}` with key SHA-256(encrypt key). The
 * `url_verification` request is answered with its `challenge`. Optional Verification Token: when
 * the source has one, the payload's token must match it too.
 */
export const feishu: InboundProvider = {
  id: 'feishu',
  methods: ['POST'],
  credentials: [
    {
      name: 'encryptKey',
      generate: () => randomToken(24),
      check: (value) => (value.length >= 8 && value.length <= 256 ? undefined : 'must be 8-256 characters long'),
      description: 'The Encrypt Key of the app (Events & Callbacks → Encryption strategy).',
    },
    {
      name: 'verificationToken',
      generate: () => '',
      optional: true,
      check: (value) => (value.length >= 1 && value.length <= 256 ? undefined : 'must be 1-256 characters long'),
      description: 'The Verification Token of the app; when given, every payload must carry it.',
    },
  ],
  settings: [],
  keptHeaders: ['x-lark-request-timestamp', 'x-lark-request-nonce'],
  // Feishu retries anything but HTTP 200.
  acceptedAnswer: { statusCode: 200 },
  documentedEvents: [
    'im.message.receive_v1',
    'im.chat.member.bot.added_v1',
    'contact.user.created_v3',
    'contact.user.updated_v3',
    'contact.department.created_v3',
    'approval_instance',
  ],
  async verify(request, { credentials }) {
    const text = utf8(request.body);
    if (text === undefined || text === '') return reject('the body is empty or not UTF-8');
    let outer: unknown;
    try {
      outer = JSON.parse(text);
    } catch {
      return reject('the body is not JSON');
    }
    const timestamp = request.headers['x-lark-request-timestamp'];
    const nonce = request.headers['x-lark-request-nonce'];
    const signature = request.headers['x-lark-signature'];
    for (const set of credentials) {
      const result = verifyWith(set, outer, text, { timestamp, nonce, signature });
      if (result.kind !== 'rejected' || credentials.length === 1) return result;
    }
    return reject('no credential set verifies the request');
  },
};

function verifyWith(
  set: Credentials,
  outer: unknown,
  text: string,
  headers: { timestamp: string | undefined; nonce: string | undefined; signature: string | undefined },
): Verification {
  const encryptKey = set.encryptKey;
  if (encryptKey === undefined) return reject('the source has no encrypt key');
  const signed = headers.signature !== undefined && headers.timestamp !== undefined && headers.nonce !== undefined;
  if (signed && !safeEqual(headers.signature as string, feishuSignature(headers.timestamp as string, headers.nonce as string, encryptKey, text))) {
    return reject('X-Lark-Signature does not match');
  }
  let payload: unknown = outer;
  const encrypted = stringField(outer, 'encrypt');
  if (encrypted !== undefined) {
    const plain = feishuDecrypt(encryptKey, encrypted);
    if (plain === undefined) return reject('the encrypted body does not decrypt with the encrypt key');
    try {
      payload = JSON.parse(plain);
    } catch {
      return reject('the decrypted body is not JSON');
    }
  }
  if (!isRecord(payload)) return reject('the payload is not a JSON object');
  const header = isRecord(payload.header) ? payload.header : undefined;
  const token = stringField(header, 'token') ?? stringField(payload, 'token');
  if (set.verificationToken && (token === undefined || !safeEqual(token, set.verificationToken))) {
    return reject('the verification token does not match');
  }
  if (payload.type === 'url_verification') {
    // Decrypting it (or its signature) proved the sender holds the key; nothing is stored.
    if (!signed && encrypted === undefined && !set.verificationToken) return reject('an unsigned, unencrypted url_verification');
    const challenge = stringField(payload, 'challenge');
    if (challenge === undefined) return reject('url_verification without a challenge');
    return { kind: 'handshake', statusCode: 200, json: { challenge } };
  }
  // Events must be signed: the signature is what covers the whole body.
  if (!signed) return reject('no X-Lark-Signature, X-Lark-Request-Timestamp and X-Lark-Request-Nonce headers');
  const event = isRecord(payload.event) ? payload.event : undefined;
  const eventName = stringField(header, 'event_type') ?? stringField(event, 'type');
  if (eventName === undefined || eventName === '') return reject('the payload names no event type');
  const deliveryId = stringField(header, 'event_id') ?? stringField(payload, 'uuid');
  const timestampMs = parseTimestamp(headers.timestamp);
  return {
    kind: 'event',
    eventName,
    ...(deliveryId ? { deliveryId } : {}),
    ...(timestampMs === undefined ? {} : { timestampMs }),
    signature: headers.signature as string,
    body: payload,
  };
}

export function feishuSignature(timestamp: string, nonce: string, encryptKey: string, body: string): string {
  return createHash('sha256').update(timestamp + nonce + encryptKey + body, 'utf8').digest('hex');
}

/** base64(iv ‖ ciphertext) → plaintext, or undefined when it is not what the key encrypted. */
export function feishuDecrypt(encryptKey: string, encrypted: string): string | undefined {
  const data = Buffer.from(encrypted, 'base64');
  if (data.length < 32 || data.length % 16 !== 0) return undefined;
  const key = createHash('sha256').update(encryptKey, 'utf8').digest();
  try {
    const decipher = createDecipheriv('aes-256-cbc', key, data.subarray(0, 16));
    return Buffer.concat([decipher.update(data.subarray(16)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
