import { createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import type { Credentials, InboundProvider, InboundRequest, Verification } from './types';
import { isRecord, normaliseEventName, reject, safeEqual, utf8 } from './util';

const ENCODING_AES_KEY = /^[A-Za-z0-9+/]{43}$/;
const WECOM_TOKEN = /^[A-Za-z0-9]{3,32}$/;
/** WeCom pads with PKCS#7 to 32-byte blocks, not AES's 16. */
const WECOM_BLOCK = 32;

/**
 * WeCom (企业微信) callbacks. `msg_signature` = SHA-1 of the sorted, concatenated token,
 * timestamp, nonce and encrypted message; the message is AES-256-CBC under
 * base64(EncodingAESKey + "="), IV its first 16 bytes, plaintext random(16) ‖ length(4, BE) ‖
 * message ‖ receiveid. `GET ?echostr=` (URL verification) is answered with the decrypted echostr;
 * POSTed XML `<Encrypt>` carries the event, itself XML, of which the top-level fields are kept.
 */
export const wecom: InboundProvider = {
  id: 'wecom',
  methods: ['GET', 'POST'],
  credentials: [
    {
      name: 'token',
      generate: () => randomBytes(24).toString('base64url').replace(/[-_]/g, '').slice(0, 32),
      check: (value) => (WECOM_TOKEN.test(value) ? undefined : 'must be 3-32 letters or digits'),
      description: 'The callback Token set in the WeCom admin console.',
    },
    {
      name: 'encodingAesKey',
      generate: () => randomBytes(32).toString('base64').slice(0, 43),
      check: (value) => (ENCODING_AES_KEY.test(value) ? undefined : 'must be 43 base64 characters'),
      description: 'The EncodingAESKey set in the WeCom admin console.',
    },
  ],
  settings: [
    { name: 'receiveId', kind: 'string', description: 'CorpID (or SuiteID) the messages must name; unchecked when absent.' },
  ],
  keptHeaders: [],
  // WeCom takes HTTP 200 with an empty body as "received, no reply message".
  acceptedAnswer: { statusCode: 200, empty: true },
  documentedEvents: ['text', 'image', 'event', 'change_contact', 'enter_agent', 'click', 'view', 'subscribe'],
  async verify(request, { credentials, settings }) {
    const { msg_signature: signature, timestamp, nonce } = request.query;
    if (!signature || !timestamp || !nonce) return reject('msg_signature, timestamp or nonce query parameter missing');
    const receiveId = typeof settings.receiveId === 'string' && settings.receiveId !== '' ? settings.receiveId : undefined;
    const encrypted = request.method === 'GET' ? request.query.echostr : encryptedField(request);
    if (encrypted === undefined || encrypted === '') return reject(request.method === 'GET' ? 'no echostr' : 'no <Encrypt> element');
    for (const set of credentials) {
      const result = verifyWith(set, request.method, { signature, timestamp, nonce, encrypted, receiveId });
      if (result.kind !== 'rejected' || credentials.length === 1) return result;
    }
    return reject('no credential set verifies the request');
  },
};

function verifyWith(
  set: Credentials,
  method: string,
  input: { signature: string; timestamp: string; nonce: string; encrypted: string; receiveId: string | undefined },
): Verification {
  const { token, encodingAesKey } = set;
  if (token === undefined || encodingAesKey === undefined) return reject('the source lacks token or encodingAesKey');
  if (!safeEqual(input.signature, wecomSignature(token, input.timestamp, input.nonce, input.encrypted))) {
    return reject('msg_signature does not match');
  }
  const opened = wecomDecrypt(encodingAesKey, input.encrypted);
  if (opened === undefined) return reject('the message does not decrypt with the EncodingAESKey');
  if (input.receiveId !== undefined && opened.receiveId !== input.receiveId) return reject('the message names another receiveid');
  if (method === 'GET') return { kind: 'handshake', statusCode: 200, text: opened.message };
  const message = parseXmlMessage(opened.message);
  if (message === undefined) return reject('the decrypted message is not XML');
  const msgType = String(message.MsgType ?? '');
  const eventName = msgType === 'event' ? String(message.Event ?? 'event') : msgType;
  if (eventName === '') return reject('the message has no MsgType');
  // WeCom's own advice: dedupe messages by MsgId, events by FromUserName + CreateTime.
  const deliveryId =
    message.MsgId !== undefined
      ? `msg:${String(message.MsgId)}`
      : `evt:${String(message.FromUserName ?? '')}:${String(message.CreateTime ?? '')}:${normaliseEventName(eventName)}:${String(message.ChangeType ?? '')}`;
  return { kind: 'event', eventName, deliveryId, signature: input.signature, body: message };
}

export function wecomSignature(token: string, timestamp: string, nonce: string, encrypted: string): string {
  return createHash('sha1').update([token, timestamp, nonce, encrypted].sort().join(''), 'utf8').digest('hex');
}

/** Undefined for anything the key did not produce: bad length, padding or framing. */
export function wecomDecrypt(encodingAesKey: string, encrypted: string): { message: string; receiveId: string } | undefined {
  const key = Buffer.from(`${encodingAesKey}=`, 'base64');
  const data = Buffer.from(encrypted, 'base64');
  if (key.length !== 32 || data.length === 0 || data.length % 16 !== 0) return undefined;
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
    decipher.setAutoPadding(false);
    plain = Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    return undefined;
  }
  const pad = plain[plain.length - 1] ?? 0;
  if (pad < 1 || pad > WECOM_BLOCK || pad > plain.length) return undefined;
  const content = plain.subarray(0, plain.length - pad);
  if (content.length < 20) return undefined;
  const length = content.readUInt32BE(16);
  if (20 + length > content.length) return undefined;
  return {
    message: content.subarray(20, 20 + length).toString('utf8'),
    receiveId: content.subarray(20 + length).toString('utf8'),
  };
}

const xml = new XMLParser({
  ignoreAttributes: true,
  // Values stay strings: ids like MsgId exceed 2^53.
  parseTagValue: false,
  processEntities: true,
  htmlEntities: false,
  trimValues: true,
});

/** The top-level fields of `<xml>…</xml>`; DOCTYPEs are refused outright (no entity games). */
export function parseXmlMessage(text: string): Record<string, unknown> | undefined {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) return undefined;
  try {
    const parsed = xml.parse(text) as unknown;
    if (!isRecord(parsed) || !isRecord(parsed.xml)) return undefined;
    return parsed.xml;
  } catch {
    return undefined;
  }
}

function encryptedField(request: InboundRequest): string | undefined {
  const text = utf8(request.body);
  if (text === undefined) return undefined;
  const message = parseXmlMessage(text);
  const value = message?.Encrypt;
  return typeof value === 'string' ? value : undefined;
}
