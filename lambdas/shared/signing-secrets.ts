import type { SigningSecretValue } from '../core/records';
import {
  keyVersionsOf,
  openSigningSecrets,
  sealSigningSecrets,
  type SealedSigningSecrets,
  type SealedSubscription,
} from '../core/sealed-secrets';
import type { SealingKeys } from './sealing-keys';

export type { SealedSubscription } from '../core/sealed-secrets';

/**
 * Signing secrets of subscriptions, sealed on their own records under the deployment's key ring:
 * no Secrets Manager secret per subscription, so nothing to create, bill or clean up per
 * subscription, and deleting the record erases the secret with it.
 */
export class SigningSecrets {
  constructor(readonly keys: SealingKeys) {}

  /**
   * The subscription's secrets in clear. A value that cannot be opened (altered, another
   * subscription's, unknown key version) throws a PermanentError subclass naming the reason.
   */
  async get(subscription: SealedSubscription): Promise<SigningSecretValue> {
    const ring = await this.keys.ringFor(keyVersionsOf(subscription));
    return openSigningSecrets(ring, subscription);
  }

  /** Seals `value` for the subscription under the newest key version. */
  async seal(fleetId: string, subscriptionId: string, value: SigningSecretValue): Promise<SealedSigningSecrets> {
    return sealSigningSecrets(await this.keys.ringForSealing(), fleetId, subscriptionId, value);
  }
}
