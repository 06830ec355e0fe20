import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';

/**
 * Requests signed the way each provider documents it, for tests: the inverse of the verifiers,
 * written from the providers' descriptions rather than from Hookline's code.
 */

export function githubSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

export function giteeToken(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

export function genericHeaders(secret: string, body: string, timestampSeconds: number): Record<string, string> {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`, 'utf8').digest('hex');
  return { 'X-Hookline-Signature': `sha256=${mac}`, 'X-Hookline-Timestamp': String(timestampSeconds) };
}

/** Feishu: `{"encrypt": base64(iv ‖ AES-256-CBC_{sha256(key)}(json))}` and its X-Lark-* headers. */
export function feishuRequest(encryptKey: string, payload: unknown, timestampSeconds: number): { body: string; headers: Record<string, string> } {
  const key = createHash('sha256').update(encryptKey, 'utf8').digest();
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  const encrypted = Buffer.concat([iv, cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]).toString('base64');
  const body = JSON.stringify({ encrypt: encrypted });
  const nonce = randomBytes(8).toString('hex');
  const signature = createHash('sha256').update(`${timestampSeconds}${nonce}${encryptKey}${body}`, 'utf8').digest('hex');
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'X-Lark-Request-Timestamp': String(timestampSeconds),
      'X-Lark-Request-Nonce': nonce,
      'X-Lark-Signature': signature,
    },
  };
}

/** WeCom: AES-256-CBC of random(16) ‖ len(4, BE) ‖ msg ‖ receiveid, PKCS#7 to 32, IV = key[0..16). */
export function wecomEncrypt(encodingAesKey: string, message: string, receiveId: string): string {
  const key = Buffer.from(`${encodingAesKey}=`, 'base64');
  const msg = Buffer.from(message, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(msg.length, 0);
  const plain = Buffer.concat([randomBytes(16), length, msg, Buffer.from(receiveId, 'utf8')]);
  const pad = 32 - (plain.length % 32);
  const padded = Buffer.concat([plain, Buffer.alloc(pad, pad)]);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(padded), cipher.final()]).toString('base64');
}

export function wecomSign(token: string, timestamp: string, nonce: string, encrypted: string): string {
  return createHash('sha1').update([token, timestamp, nonce, encrypted].sort().join(''), 'utf8').digest('hex');
}
