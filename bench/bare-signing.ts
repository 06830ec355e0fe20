import { createHmac } from 'node:crypto';

/**
 * The signature headers of both schemes computed with nothing but node:crypto: the least work any
 * sender of a Standard Webhooks + hex-scheme request must do. The signing baseline uses it; it
 * imports no Hookline code on purpose.
 */
export function bareSignatureHeaders(
  secrets: readonly string[],
  msgId: string,
  timestamp: number,
  body: string,
  headerPrefix: string,
): Record<string, string> {
  const [current] = secrets;
  if (current === undefined) throw new Error('at least one secret is needed');
  const signed = `${msgId}.${timestamp}.${body}`;
  const prefix = headerPrefix.toLowerCase();
  return {
    'content-type': 'application/json',
    'webhook-id': msgId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets
      .map((secret) => `v1,${createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64')).update(signed).digest('base64')}`)
      .join(' '),
    [`${prefix}-delivery-id`]: msgId,
    [`${prefix}-timestamp`]: String(timestamp),
    [`${prefix}-signature`]: `sha256=${createHmac('sha256', current).update(`${timestamp}.${body}`).digest('hex')}`,
  };
}
