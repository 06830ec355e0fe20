import { createHmac } from 'node:crypto';
import type { InboundProvider } from './types';
import { jsonOrText, parseTimestamp, randomToken, reject, safeEqual, utf8 } from './util';

export const GENERIC_DEFAULTS = {
  signatureHeader: 'X-Hookline-Signature',
  timestampHeader: 'X-Hookline-Timestamp',
  idHeader: 'X-Hookline-Id',
  toleranceSeconds: 300,
} as const;

/**
 * Any sender that can compute an HMAC: `<signatureHeader>: sha256=<hex HMAC-SHA256(secret,
 * "{timestamp}.{raw body}")>` and `<timestampHeader>: <unix seconds>`, within ±toleranceSeconds
 * (default 5 min) of our clock. An optional `<idHeader>` names the delivery for dedupe. Several
 * signatures may be sent comma- or space-separated (a sender rotating its secret).
 */
export const generic: InboundProvider = {
  id: 'generic',
  methods: ['POST'],
  credentials: [
    {
      name: 'secret',
      generate: () => randomToken(32, 'hlin_'),
      check: (value) => (value.length >= 16 && value.length <= 256 ? undefined : 'must be 16-256 characters long'),
      description: 'The HMAC key the sender signs with.',
    },
  ],
  settings: [
    { name: 'signatureHeader', kind: 'header', default: GENERIC_DEFAULTS.signatureHeader, description: 'Header with `sha256=<hex>`.' },
    { name: 'timestampHeader', kind: 'header', default: GENERIC_DEFAULTS.timestampHeader, description: 'Header with unix seconds.' },
    { name: 'idHeader', kind: 'header', default: GENERIC_DEFAULTS.idHeader, description: 'Optional header with a delivery id.' },
    {
      name: 'toleranceSeconds',
      kind: 'number',
      min: 30,
      max: 3600,
      default: GENERIC_DEFAULTS.toleranceSeconds,
      description: 'Largest accepted distance between the signed timestamp and our clock.',
    },
  ],
  keptHeaders: [],
  documentedEvents: [],
  async verify(request, { credentials, settings, sourceName }) {
    const signatureHeader = String(settings.signatureHeader ?? GENERIC_DEFAULTS.signatureHeader).toLowerCase();
    const timestampHeader = String(settings.timestampHeader ?? GENERIC_DEFAULTS.timestampHeader).toLowerCase();
    const idHeader = String(settings.idHeader ?? GENERIC_DEFAULTS.idHeader).toLowerCase();
    const tolerance = Number(settings.toleranceSeconds ?? GENERIC_DEFAULTS.toleranceSeconds);
    const header = request.headers[signatureHeader];
    const timestamp = request.headers[timestampHeader]?.trim();
    if (!header) return reject(`no ${signatureHeader} header`);
    if (!timestamp || !/^\d{1,12}$/.test(timestamp)) return reject(`no valid ${timestampHeader} header (unix seconds)`);
    const presented = header.split(/[\s,]+/).filter((part) => part.startsWith('sha256='));
    let matched = false;
    for (const set of credentials) {
      if (set.secret === undefined) continue;
      const expected = `sha256=${genericSignature(set.secret, timestamp, request.body)}`;
      for (const candidate of presented) if (safeEqual(candidate, expected)) matched = true;
    }
    if (!matched) return reject(`${signatureHeader} does not match`);
    const text = utf8(request.body);
    if (text === undefined) return reject('the body is not UTF-8');
    const deliveryId = request.headers[idHeader];
    return {
      kind: 'event',
      eventName: sourceName,
      ...(deliveryId ? { deliveryId } : {}),
      timestampMs: parseTimestamp(timestamp) as number,
      toleranceMs: tolerance * 1000,
      signature: header,
      body: text === '' ? null : jsonOrText(text),
    };
  },
};

/** Hex HMAC-SHA256 of `{timestamp}.{body}` over the raw body bytes. */
export function genericSignature(secret: string, timestamp: string, body: Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(body).digest('hex');
}
