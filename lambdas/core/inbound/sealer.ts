import { openValue, sealedKeyVersion, sealValue, type KeyRing } from '../sealed-secrets';

/** Encrypts secret material for storage; `aad` binds a sealed value to the record it belongs to. */
export interface SecretSealer {
  seal(plaintext: string, aad: string): Promise<string>;
  open(sealed: string, aad: string): Promise<string>;
}

/** Where a sealer gets the deployment's key ring: the cached Secrets Manager loader, or a fixed ring. */
export interface KeyRingSource {
  /** A ring holding every version named (refreshing once if one is new). */
  ringFor(versions: readonly number[]): Promise<KeyRing>;
  /** A ring whose current version is recent enough to seal new values. */
  ringForSealing(): Promise<KeyRing>;
}

/** Associated-data purpose of inbound source credentials, apart from subscriptions' signing secrets. */
const PURPOSE = 'inbound-credentials';

/**
 * Inbound source credentials sealed with AES-256-GCM under the deployment's one key ring, the same
 * that seals subscriptions' signing secrets: no second secret to pay for, grant or rotate.
 */
export function keyRingSealer(keys: KeyRingSource): SecretSealer {
  return {
    seal: async (plaintext, aad) => sealValue(await keys.ringForSealing(), [PURPOSE, aad], plaintext),
    open: async (sealed, aad) => openValue(await keys.ringFor([sealedKeyVersion(sealed)]), [PURPOSE, aad], sealed),
  };
}

/** A key ring that never changes (tests, tools that already hold the ring). */
export function fixedKeyRing(ring: KeyRing): KeyRingSource {
  return { ringFor: async () => ring, ringForSealing: async () => ring };
}
