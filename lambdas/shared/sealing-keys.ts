import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseKeyRing, UnknownKeyVersionError, type KeyRing } from '../core/sealed-secrets';

/** How long the API seals with the key version it last read before it looks for a newer one. */
export const DEFAULT_SEALING_KEY_MAX_AGE_MS = 5 * 60_000;

interface Refresh {
  seq: number;
  promise: Promise<void>;
}

/**
 * The deployment's key ring, read from its one Secrets Manager secret (GetSecretValue, AWSCURRENT)
 * and cached per container by key version. A version's key never changes, so a cached key is never
 * stale: after the first load, opening a sealed value makes no Secrets Manager call at all. A value
 * sealed under a version the cache lacks (the key was rotated since) triggers one refresh; reads
 * that miss together share it (single-flight). A failed load is not cached: the next read retries.
 */
export class SealingKeys {
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
    // Bounded: each turn either returns, throws, or waits for a refresh started after the miss.
    for (let turn = 0; turn < 3; turn += 1) {
      const missing = versions.find((version) => !this.keys.has(version));
      if (missing === undefined && this.current !== undefined) return this.ring();
      const refresh = this.inflight ?? this.startRefresh();
      await refresh.promise;
      const still = versions.find((version) => !this.keys.has(version));
      if (still === undefined) return this.ring();
      // A refresh that began before the miss was noticed may predate the key rotation: one more then.
      if (refresh.seq > noticed) throw new UnknownKeyVersionError(still);
    }
    throw new UnknownKeyVersionError(versions.find((version) => !this.keys.has(version)) ?? 0);
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
