import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** Encrypts secret material for storage; `aad` binds a sealed value to the record it belongs to. */
export interface SecretSealer {
  seal(plaintext: string, aad: string): Promise<string>;
  open(sealed: string, aad: string): Promise<string>;
}

const VERSION = 'a1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM under one key-encryption key. Sealed form: `a1.<key id>.<base64url(iv ‖ tag ‖ ct)>`,
 * where the key id (first 8 hex of SHA-256 of the key) says which key sealed it, so a future key
 * rotation can tell old values from new. A random 96-bit IV per value: far below GCM's 2^32
 * messages-per-key bound at any realistic number of sources.
 */
export class AesGcmSealer implements SecretSealer {
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('AesGcmSealer needs a 32-byte key');
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 8);
  }

  /** The key from a Secrets Manager secret string: SHA-256 of its UTF-8 bytes (any length ≥ 32 chars). */
  static fromSecretString(secret: string): AesGcmSealer {
    if (secret.length < 32) throw new Error('the inbound key secret must be at least 32 characters long');
    return new AesGcmSealer(createHash('sha256').update(secret, 'utf8').digest());
  }

  async seal(plaintext: string, aad: string): Promise<string> {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${VERSION}.${this.keyId}.${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64url')}`;
  }

  async open(sealed: string, aad: string): Promise<string> {
    const [version, keyId, payload] = sealed.split('.');
    if (version !== VERSION || payload === undefined) throw new Error('not a sealed value of this format');
    if (keyId !== this.keyId) throw new Error(`sealed under key ${String(keyId)}, not the current key ${this.keyId}`);
    const data = Buffer.from(payload, 'base64url');
    if (data.length < IV_BYTES + TAG_BYTES) throw new Error('sealed value is truncated');
    const decipher = createDecipheriv('aes-256-gcm', this.key, data.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(data.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(data.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}
