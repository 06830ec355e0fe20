import { PermanentError } from '../core/errors';
import type { SigningSecretValue, SubscriptionRecord } from '../core/records';
import { activeSigningSecrets, signingKeyBytes } from '../core/secrets';
import type { SigningSecrets } from '../shared/signing-secrets';

/**
 * Secrets Manager answers that no retry will change: the secret (or the subscription's version of
 * it) is gone or scheduled for deletion.
 */
const MISSING_SECRET_ERRORS = new Set(['ResourceNotFoundException', 'InvalidRequestException']);

/**
 * The secrets a delivery is signed with now: the current one and, within the rotation grace
 * period, the previous one. The store caches values by version; this adds single-flight, so the
 * records of a batch that all miss the cache (cold start, new version) share one GetSecretValue.
 */
export class SigningSecretsLoader {
  private readonly inFlight = new Map<string, Promise<SigningSecretValue>>();

  constructor(private readonly store: Pick<SigningSecrets, 'get'>) {}

  /**
   * A missing or malformed secret is a PermanentError (the delivery is set aside); any other
   * failure is thrown as it is and the message comes back.
   */
  async load(subscription: Pick<SubscriptionRecord, 'secretArn' | 'secretVersion'>, now: Date): Promise<string[]> {
    let secrets: string[];
    try {
      secrets = activeSigningSecrets(await this.fetch(subscription.secretArn, subscription.secretVersion), now);
    } catch (error) {
      if (error instanceof PermanentError) throw error;
      const name = error instanceof Error ? error.name : '';
      if (MISSING_SECRET_ERRORS.has(name)) {
        throw new PermanentError(`the signing secret version is unavailable (${name})`, { cause: error });
      }
      throw error;
    }
    // Decoding each key up front turns a corrupt secret into a reasoned PermanentError, not a crash mid-signing.
    for (const secret of secrets) signingKeyBytes(secret);
    return secrets;
  }

  private fetch(arn: string, version: string): Promise<SigningSecretValue> {
    const key = `${arn}\n${version}`;
    let pending = this.inFlight.get(key);
    if (pending === undefined) {
      pending = this.store.get(arn, version).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }
}
