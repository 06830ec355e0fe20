import { createHmac } from 'node:crypto';
import type { InboundProvider } from './types';
import { parseBody, parseTimestamp, randomToken, reject, safeEqual, stringField, utf8 } from './util';

/** Gitee's documented bound between the signed timestamp and the receiver's clock. */
const GITEE_TOLERANCE_MS = 60 * 60 * 1000;

/**
 * Gitee: `X-Gitee-Token` carries either the password as is (mode `password`) or the signature
 * base64(HMAC-SHA256(secret, `${X-Gitee-Timestamp}\n${secret}`)) (mode `signature`, the default),
 * the timestamp in ms within an hour of ours. The signature does not cover the body, so Gitee's
 * scheme authenticates the sender, not the payload (HTTPS protects that). Event from
 * `X-Gitee-Event` (`Push Hook` → `push`), delivery id from `X-Gitee-Delivery` when sent.
 */
export const gitee: InboundProvider = {
  id: 'gitee',
  methods: ['POST'],
  credentials: [
    {
      name: 'secret',
      generate: () => randomToken(24, 'SEC'),
      check: (value) => (value.length >= 8 && value.length <= 256 ? undefined : 'must be 8-256 characters long'),
      description: "The WebHook password or signing key to enter in Gitee's webhook settings.",
    },
  ],
  settings: [
    {
      name: 'mode',
      kind: 'string',
      values: ['signature', 'password'],
      default: 'signature',
      description: 'How Gitee is set to use the secret: `signature` (signing key, recommended) or `password`.',
    },
  ],
  keptHeaders: ['x-gitee-event', 'x-gitee-timestamp', 'x-gitee-delivery', 'x-gitee-ping'],
  documentedEvents: ['push', 'tag_push', 'merge_request', 'issue', 'note'],
  async verify(request, { credentials, settings }) {
    const token = request.headers['x-gitee-token'];
    if (token === undefined || token === '') return reject('no X-Gitee-Token header');
    const signatureMode = (settings.mode ?? 'signature') === 'signature';
    let timestampMs: number | undefined;
    let matched = false;
    if (signatureMode) {
      const raw = request.headers['x-gitee-timestamp'];
      timestampMs = parseTimestamp(raw);
      if (raw === undefined || timestampMs === undefined) return reject('no valid X-Gitee-Timestamp header');
      // Some senders URL-encode the base64 (Gitee's reference code does); accept both spellings.
      const presented = safeDecode(token);
      for (const set of credentials) {
        if (set.secret !== undefined && safeEqual(presented, giteeSignature(set.secret, raw.trim()))) matched = true;
      }
    } else {
      for (const set of credentials) if (set.secret !== undefined && safeEqual(token, set.secret)) matched = true;
    }
    if (!matched) return reject(`X-Gitee-Token does not match (${signatureMode ? 'signature' : 'password'} mode)`);
    const text = utf8(request.body);
    if (text === undefined) return reject('the body is not UTF-8');
    const body = parseBody(request, text);
    const header = request.headers['x-gitee-event'];
    const eventName = header ? header.trim().replace(/\s+hook$/i, '') : (stringField(body, 'hook_name') ?? '');
    if (eventName === '') return reject('no X-Gitee-Event header');
    const deliveryId = request.headers['x-gitee-delivery'];
    return {
      kind: 'event',
      eventName,
      ...(deliveryId ? { deliveryId } : {}),
      ...(timestampMs === undefined ? {} : { timestampMs, toleranceMs: GITEE_TOLERANCE_MS }),
      signature: token,
      body,
    };
  },
};

export function giteeSignature(secret: string, timestamp: string): string {
  return createHmac('sha256', secret).update(`${timestamp}\n${secret}`, 'utf8').digest('base64');
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
