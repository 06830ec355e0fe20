import type { CircuitRecord, SubscriptionRecord } from '../../../lambdas/core/records';
import type { SealedSigningSecrets } from '../../../lambdas/core/sealed-secrets';
import { encodeCursor, startKeyFromCursor, type Page } from '../../../lambdas/shared/cursor';
import type {
  FailureCount,
  FailureInput,
  SecretReplaceMiss,
  SubscriptionPatch,
  SubscriptionsStorePort,
} from '../../../lambdas/shared/subscriptions-store';

/** Fields an `enabled: true` patch clears, as the table's update does: a re-enabled endpoint starts afresh. */
const CLEARED_ON_ENABLE = ['disabledReason', 'failingSince', 'consecutiveFailures', 'circuit'] as const;

function conditionalCheckFailure(): Error {
  return Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });
}

/**
 * The subscriptions store in memory, held to the DynamoDB store's contract
 * (test/support/conformance/subscriptions-store.ts runs against both): the same conditional
 * writes, the same key order (fleet, then id), the same cursors. Records go in and out as copies.
 */
export class MemorySubscriptionsStore implements SubscriptionsStorePort {
  private readonly records = new Map<string, SubscriptionRecord>();

  async create(record: SubscriptionRecord): Promise<void> {
    const key = this.key(record.fleetId, record.id);
    if (this.records.has(key)) throw conditionalCheckFailure();
    this.records.set(key, structuredClone(record));
  }

  async get(fleetId: string, id: string): Promise<SubscriptionRecord | undefined> {
    return copy(this.records.get(this.key(fleetId, id)));
  }

  async list(fleetId: string, options: { limit: number; cursor?: string }): Promise<Page<SubscriptionRecord>> {
    const start = startKeyFromCursor(options.cursor, ['fleetId', 'id'], { fleetId });
    const items = this.fleet(fleetId)
      .filter((record) => start === undefined || record.id > (start.id as string))
      .slice(0, options.limit);
    const last = items.at(-1);
    // Like a DynamoDB Query with Limit: a full page carries a cursor, even when it is the last.
    return {
      items: items.map((record) => structuredClone(record)),
      nextCursor: items.length === options.limit && last !== undefined ? encodeCursor({ fleetId, id: last.id }) : undefined,
    };
  }

  async *pages(fleetId: string, pageSize = 500): AsyncGenerator<SubscriptionRecord[]> {
    yield* chunks(this.fleet(fleetId), pageSize);
  }

  async *scanAll(pageSize = 100): AsyncGenerator<SubscriptionRecord[]> {
    yield* chunks([...this.records.values()], pageSize);
  }

  async update(fleetId: string, id: string, patch: SubscriptionPatch, now: string): Promise<SubscriptionRecord | undefined> {
    const record = this.records.get(this.key(fleetId, id));
    if (record === undefined) return undefined;
    const fields = record as unknown as Record<string, unknown>;
    for (const [field, value] of Object.entries(patch)) {
      if (value === null) delete fields[field];
      else if (value !== undefined) fields[field] = structuredClone(value);
    }
    if (patch.enabled === true) for (const field of CLEARED_ON_ENABLE) delete record[field];
    record.updatedAt = now;
    return copy(record);
  }

  async replaceSecret(
    fleetId: string,
    id: string,
    expectedSealed: string | undefined,
    next: SealedSigningSecrets,
    now: string | undefined,
  ): Promise<SubscriptionRecord | SecretReplaceMiss> {
    const record = this.records.get(this.key(fleetId, id));
    if (record === undefined) return 'missing';
    if (record.sealedSecret !== expectedSealed) return 'changed';
    // The previous secret is kept only as a pair (the sealed value and its expiry), as the table's update writes it.
    const { sealedPreviousSecret: _previous, previousSecretExpiresAt: _expires, ...rest } = record;
    const carried = next.sealedPreviousSecret === undefined || next.previousSecretExpiresAt === undefined ? {} : next;
    const replaced: SubscriptionRecord = { ...rest, ...carried, sealedSecret: next.sealedSecret, ...(now === undefined ? {} : { updatedAt: now }) };
    this.records.set(this.key(fleetId, id), replaced);
    return structuredClone(replaced);
  }

  async delete(fleetId: string, id: string): Promise<SubscriptionRecord | undefined> {
    const key = this.key(fleetId, id);
    const record = this.records.get(key);
    this.records.delete(key);
    return record;
  }

  async disable(fleetId: string, id: string, reason: string, now: string): Promise<boolean> {
    const record = this.records.get(this.key(fleetId, id));
    if (record?.enabled !== true) return false;
    Object.assign(record, { enabled: false, disabledReason: reason, updatedAt: now });
    return true;
  }

  async touch(fleetId: string, id: string, at: string, notBefore: string): Promise<void> {
    const record = this.records.get(this.key(fleetId, id));
    if (record === undefined) return;
    if (record.lastTriggeredAt === undefined || record.lastTriggeredAt < notBefore) record.lastTriggeredAt = at;
  }

  async recordFailure(fleetId: string, id: string, input: FailureInput): Promise<FailureCount | undefined> {
    const record = this.records.get(this.key(fleetId, id));
    if (record === undefined) return undefined;
    record.failingSince ??= input.now;
    record.lastError = input.lastError;
    if (input.countsForCircuit) record.consecutiveFailures = (record.consecutiveFailures ?? 0) + 1;
    return { failingSince: record.failingSince, consecutiveFailures: record.consecutiveFailures ?? 0 };
  }

  async openCircuit(fleetId: string, id: string, circuit: CircuitRecord, from: 'closed' | 'half-open'): Promise<boolean> {
    const record = this.records.get(this.key(fleetId, id));
    if (record === undefined) return false;
    const allowed = from === 'closed' ? record.circuit === undefined : record.circuit?.state === 'half-open';
    if (allowed) record.circuit = structuredClone(circuit);
    return allowed;
  }

  async claimProbe(fleetId: string, id: string, nowMs: number, probeUntil: number): Promise<boolean> {
    const circuit = this.records.get(this.key(fleetId, id))?.circuit;
    if (circuit === undefined) return false;
    const cooled = circuit.state === 'open' && circuit.openUntil <= new Date(nowMs).toISOString();
    const probeDied = circuit.state === 'half-open' && circuit.probeUntil !== undefined && circuit.probeUntil < nowMs;
    if (!cooled && !probeDied) return false;
    Object.assign(circuit, { state: 'half-open', probeUntil });
    return true;
  }

  async releaseProbe(fleetId: string, id: string, probeUntil: number): Promise<void> {
    const circuit = this.records.get(this.key(fleetId, id))?.circuit;
    if (circuit?.state !== 'half-open' || circuit.probeUntil !== probeUntil) return;
    circuit.state = 'open';
    delete circuit.probeUntil;
  }

  async closeCircuit(fleetId: string, id: string): Promise<void> {
    const record = this.records.get(this.key(fleetId, id));
    if (record === undefined) return;
    delete record.circuit;
    delete record.consecutiveFailures;
  }

  async setSlow(fleetId: string, id: string, since: string | undefined): Promise<void> {
    const record = this.records.get(this.key(fleetId, id));
    if (record === undefined) return;
    if (since === undefined) delete record.slowSince;
    else record.slowSince ??= since;
  }

  async clearFailing(fleetId: string, id: string): Promise<void> {
    const record = this.records.get(this.key(fleetId, id));
    if (record === undefined) return;
    delete record.failingSince;
    delete record.consecutiveFailures;
    delete record.lastError;
    delete record.circuit;
  }

  private fleet(fleetId: string): SubscriptionRecord[] {
    return [...this.records.values()].filter((record) => record.fleetId === fleetId).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private key(fleetId: string, id: string): string {
    return JSON.stringify([fleetId, id]);
  }
}

function copy<T>(value: T | undefined): T | undefined {
  return value === undefined ? undefined : structuredClone(value);
}

function* chunks<T>(items: T[], size: number): Generator<T[]> {
  // A DynamoDB Query or Scan answers at least one page, empty when there is nothing.
  if (items.length === 0) yield [];
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size).map((item) => structuredClone(item));
}
