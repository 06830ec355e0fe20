import type { SubscriptionRecord } from '../core/records';

/**
 * Nothing is kept between batches by default: the delivery contract promises that a rotation (a new secret sealed
 * on the subscription), a disable or a new URL applies to the very next attempt. Concurrent
 * lookups (the records of one batch) still share one read.
 */
export const DEFAULT_SUBSCRIPTION_TTL_MS = 0;
const DEFAULT_MAX_ENTRIES = 10_000;

interface Entry {
  /** Undefined: the subscription does not exist (cached too, so a deleted one costs no read per message). */
  record: SubscriptionRecord | undefined;
  expiresAt: number;
}

/**
 * In-memory cache of subscriptions keyed by (fleetId, id): concurrent lookups of the same
 * subscription share one read, and with a TTL above 0 a change made through the API (disable, new
 * URL, rotated secret) is seen within the TTL.
 */
export class SubscriptionCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<SubscriptionRecord | undefined>>();

  constructor(
    private readonly load: (fleetId: string, id: string) => Promise<SubscriptionRecord | undefined>,
    private readonly clock: () => number,
    private readonly ttlMs = DEFAULT_SUBSCRIPTION_TTL_MS,
    private readonly maxEntries = DEFAULT_MAX_ENTRIES,
  ) {}

  async get(fleetId: string, id: string): Promise<SubscriptionRecord | undefined> {
    const key = cacheKey(fleetId, id);
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.expiresAt > this.clock()) return entry.record;
    const pending = this.inFlight.get(key);
    if (pending !== undefined) return pending;
    const loading = this.load(fleetId, id)
      .then((record) => {
        this.set(key, record);
        return record;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, loading);
    return loading;
  }

  /** Replaces a cached record after this process changed it (failing clock), keeping its expiry. */
  update(record: SubscriptionRecord): void {
    const entry = this.entries.get(cacheKey(record.fleetId, record.id));
    if (entry !== undefined) entry.record = record;
  }

  invalidate(fleetId: string, id: string): void {
    this.entries.delete(cacheKey(fleetId, id));
  }

  private set(key: string, record: SubscriptionRecord | undefined): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { record, expiresAt: this.clock() + this.ttlMs });
  }
}

function cacheKey(fleetId: string, id: string): string {
  return `${fleetId}\0${id}`;
}
