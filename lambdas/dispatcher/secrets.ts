import { PermanentError } from '../core/errors';
import { SealedSecretError, type SealedSubscription } from '../core/sealed-secrets';
import { activeSigningSecrets, signingKeyBytes } from '../core/secrets';
import type { SigningSecrets } from '../shared/signing-secrets';

/**
 * The secrets a delivery is signed with now: the current one and, within the rotation grace
 * period, the previous one, opened from the subscription record with the cached key ring. After
 * a container's first delivery this makes no Secrets Manager call; a rotation is on the record
 * itself, so the next attempt, which reads the record, signs with it.
 */
export class SigningSecretsLoader {
  constructor(private readonly store: Pick<SigningSecrets, 'get'>) {}

  /**
   * A value that cannot be opened (altered, another subscription's, unknown key version) or is
   * malformed is a PermanentError (the delivery is set aside, not retried in a loop); a Secrets
   * Manager or key-ring fault is thrown as it is and the message comes back.
   */
  async load(subscription: SealedSubscription, now: Date): Promise<string[]> {
    const value = await this.store.get(subscription).catch((error: unknown) => {
      // Named for the delivery record and the log: which secret, and why it cannot sign.
      if (error instanceof SealedSecretError) throw new PermanentError(`the signing secret cannot be opened: ${error.message}`, { cause: error });
      throw error;
    });
    const secrets = activeSigningSecrets(value, now);
    // Decoding each key up front turns a corrupt secret into a reasoned PermanentError, not a crash mid-signing.
    for (const secret of secrets) signingKeyBytes(secret);
    return secrets;
  }
}
