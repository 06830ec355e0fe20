import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SigningSecretValue, SubscriptionRecord } from '../core/records';
import {
  keyVersionsOf,
  openSigningSecrets,
  parseKeyRing,
  sealSigningSecrets,
  UnknownKeyVersionError,
  type KeyRing,
  type SealedSigningSecrets,
} from '../core/sealed-secrets';

/** How long the API seals with the key version it last read before it looks for a newer one. */
export const DEFAULT_SEALING_KEY_MAX_AGE_MS = 5 * 60_000;

interface Refresh {
  seq: number;
  promise: Promise<void>;
}

/**
 * The deployment's key ring, read from its one Secrets Manager secret (GetSecretValue, AWSCURRENT)
 * and cached per container by key version. A version's key never changes, so a cached key is never
 * stale: after the first load, opening a secret makes no Secrets Manager call at all. A value
 * sealed under a version the cache lacks (the key was rotated since) triggers one refresh; reads
 * that miss together share it (single-flight).
 */
export class SigningKeys {
  private readonly keys = new Map<number, Buffer>();
  private current: number | undefined;
  private loadedAt = Number.NEGATIVE_INFINITY;
  private started = 0;
  private inflight: Refresh | undefined;
  /** GetSecretValue calls made; the benchmark and tests read it. */
  calls = 0;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
    private readonly options: { now?: () => number; sealingKeyMaxAgeMs?: number } = {},
  ) {}

  /** A ring holding every version in `versions`; throws UnknownKeyVersionError when a refresh does not bring one. */
  async ringFor(versions: readonly number[]): Promise<KeyRing> {
    const noticed = this.started;
    for (;;) {
      const missing = versions.find((version) => !this.keys.has(version));
      if (missing === undefined && this.current !== undefined) return this.ring();
      const refresh = this.inflight ?? this.startRefresh();
      await refresh.promise;
      // A refresh that began before the miss was noticed may predate the rotation: one more then.
      const still = versions.find((version) => !this.keys.has(version));
      if (still === undefined) return this.ring();
      if (refresh.seq > noticed) throw new UnknownKeyVersionError(still);
    }
  }

  /**
   * A ring whose current version is at most `sealingKeyMaxAgeMs` old, for sealing new values: a key
   * rotation reaches new writes within that time. If the refresh fails, the cached ring still seals.
   */
  async ringForSealing(): Promise<KeyRing> {
    const now = this.options.now?.() ?? Date.now();
    if (this.current === undefined || now - this.loadedAt > (this.options.sealingKeyMaxAgeMs ?? DEFAULT_SEALING_KEY_MAX_AGE_MS)) {
      try {
        await (this.inflight ?? this.startRefresh()).promise;
      } catch (error) {
        if (this.current === undefined) throw error;
      }
    }
    return this.ring();
  }

  private ring(): KeyRing {
    return { current: this.current as number, keys: this.keys };
  }

  private startRefresh(): Refresh {
    const seq = (this.started += 1);
    const refresh: Refresh = {
      seq,
      promise: this.fetch().finally(() => {
        if (this.inflight === refresh) this.inflight = undefined;
      }),
    };
    this.inflight = refresh;
    return refresh;
  }

  private async fetch(): Promise<void> {
    this.calls += 1;
    const result = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
    const ring = parseKeyRing(result.SecretString);
    for (const [version, key] of ring.keys) this.keys.set(version, key);
    this.current = ring.current;
    this.loadedAt = this.options.now?.() ?? Date.now();
  }
}

/** A subscription record's identity and sealed secrets: all that opening them needs. */
export type SealedSubscription = Pick<SubscriptionRecord, 'fleetId' | 'id'> & SealedSigningSecrets;

/** Signing secrets of subscriptions: sealed on their records under the deployment's key ring. */
export class SigningSecrets {
  constructor(readonly keys: SigningKeys) {}

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
