import { fromStoredAttempt, toStoredAttempt, type StoredAttempt } from '../../../lambdas/core/attempt-excerpt';
import type { DeliveryProgress, DeliveryRecord, DeliveryStatus } from '../../../lambdas/core/records';
import { DELIVERY_SUMMARY_ATTRIBUTES } from '../../../lambdas/core/table-schema';
import { encodeCursor, startKeyFromCursor, type Page } from '../../../lambdas/shared/cursor';
import {
  MAX_STORED_ATTEMPTS,
  subscriptionStatusKey,
  type AttemptWrite,
  type ClaimInput,
  type ClaimResult,
  type DeliveriesStorePort,
  type DeliveryIdentity,
  type DeliveryListOptions,
  type DeliverySummary,
  type EndWithoutAttemptOptions,
} from '../../../lambdas/shared/deliveries-store';

/** A delivery item as the table holds it: attempts under their short stored names, index keys included. */
type Item = Record<string, unknown> & { id: string };

const PROGRESS_FIELDS = [
  'id',
  'status',
  'round',
  'rounds',
  'started',
  'completed',
  'leaseUntil',
  'leaseHolder',
  'roundTrigger',
  'parkedMessageId',
  'parkedNonce',
  'nextAttemptAt',
] as const;

/**
 * The deliveries store in memory, held to the DynamoDB store's contract
 * (test/support/conformance/deliveries-store.ts runs against both). It keeps items the way the
 * table does — attempts in their stored shape, the by-subscription and by-status index keys — and
 * applies each write's condition as the table's conditional update does, so a missing attribute
 * fails every comparison. Records go in and out as copies.
 */
export class MemoryDeliveriesStore implements DeliveriesStorePort {
  private readonly items = new Map<string, Item>();

  async claim(input: ClaimInput): Promise<ClaimResult> {
    const item = this.items.get(input.id);
    const leaseFree = item?.leaseUntil === undefined || (item.leaseUntil as number) < input.now;
    if (input.newRound) {
      if (leaseFree && (item?.round === undefined || (item.round as string) < input.round)) {
        const next = item ?? { id: input.id };
        Object.assign(next, {
          round: input.round,
          rounds: ((next.rounds as number | undefined) ?? 0) + 1,
          started: input.attempt,
          completed: input.attempt - 1,
          leaseUntil: input.leaseUntil,
          leaseHolder: input.holder,
          expiresAt: next.expiresAt ?? input.expiresAt,
        });
        remove(next, 'parkedMessageId', 'parkedNonce', 'roundTrigger');
        if (input.trigger !== undefined) next.roundTrigger = input.trigger;
        this.items.set(input.id, next);
        return { claimed: true, roundNumber: next.rounds as number };
      }
    } else if (
      leaseFree &&
      item !== undefined &&
      item.round === input.round &&
      isNumber(item.completed) &&
      item.completed === item.started &&
      isNumber(item.started) &&
      item.started < input.attempt &&
      item.status === 'pending'
    ) {
      Object.assign(item, { started: input.attempt, leaseUntil: input.leaseUntil, leaseHolder: input.holder, rounds: item.rounds ?? 1 });
      return { claimed: true, roundNumber: item.rounds as number };
    }
    return { claimed: false, progress: await this.progress(input.id) };
  }

  async progress(id: string): Promise<DeliveryProgress | undefined> {
    const item = this.items.get(id);
    if (item === undefined) return undefined;
    return pick(item, PROGRESS_FIELDS) as unknown as DeliveryProgress;
  }

  async recordAttempt(write: AttemptWrite): Promise<'recorded' | 'stale'> {
    const { attempt } = write;
    const item = this.items.get(write.identity.id);
    if (item === undefined || item.round !== write.round || item.started !== attempt.attempt) return 'stale';
    if (!isNumber(item.completed) || item.completed >= attempt.attempt) return 'stale';
    if (write.holder === undefined) {
      if (item.leaseUntil !== undefined && !((item.leaseUntil as number) < Date.parse(write.now))) return 'stale';
    } else if (item.leaseHolder !== write.holder) return 'stale';

    this.setIdentity(item, write.identity, write.status, write.now, write.expiresAt);
    Object.assign(item, {
      webhookUrl: write.identity.webhookUrl,
      lastAttemptAt: attempt.at,
      latencyMs: attempt.latencyMs,
      completed: attempt.attempt,
      attemptCount: ((item.attemptCount as number | undefined) ?? 0) + 1,
    });
    remove(item, 'leaseUntil', 'leaseHolder', 'responseHeaders');
    // Succeeded deliveries leave the by-status index, as in the table.
    if (write.status === 'succeeded') remove(item, 'subscriptionStatus');
    if (write.parkedMessageId !== undefined) item.parkedMessageId = write.parkedMessageId;
    if (write.parkedNonce !== undefined) item.parkedNonce = write.parkedNonce;
    const optional: Record<string, unknown> = {
      httpStatusCode: attempt.statusCode,
      responseContentLength: attempt.responseContentLength,
      errorMessage: attempt.errorMessage,
      errorKind: attempt.errorKind,
      nextAttemptAt: write.nextAttemptAt,
    };
    for (const [field, value] of Object.entries(optional)) {
      if (value === undefined) delete item[field];
      else item[field] = value;
    }
    const attempts = (item.attempts as StoredAttempt[] | undefined) ?? [];
    // Past the cap the attempt is only counted: the history is left as it is.
    if (attempts.length < MAX_STORED_ATTEMPTS) item.attempts = [...attempts, structuredClone(toStoredAttempt(attempt))];
    return 'recorded';
  }

  async endWithoutAttempt(
    identity: DeliveryIdentity,
    status: Extract<DeliveryStatus, 'disabled' | 'failed'>,
    reason: string,
    now: string,
    expiresAt: number,
    park: EndWithoutAttemptOptions = {},
  ): Promise<void> {
    const item = this.items.get(identity.id) ?? { id: identity.id };
    // A delivery that already succeeded stays succeeded.
    if (item.status === 'succeeded') return;
    this.setIdentity(item, identity, status, now, expiresAt);
    item.webhookUrl ??= identity.webhookUrl;
    item.errorMessage = reason;
    item.attemptCount ??= 0;
    item.attempts ??= [];
    if (park.parkedMessageId !== undefined) item.parkedMessageId = park.parkedMessageId;
    if (park.parkedNonce !== undefined) item.parkedNonce = park.parkedNonce;
    if (park.claimedAttempt !== undefined) item.completed = park.claimedAttempt;
    remove(item, 'nextAttemptAt', 'leaseUntil', 'leaseHolder');
    this.items.set(identity.id, item);
  }

  async get(id: string): Promise<DeliveryRecord | undefined> {
    const item = this.items.get(id);
    if (item === undefined) return undefined;
    const record = structuredClone(item) as unknown as DeliveryRecord;
    return { ...record, attempts: (record.attempts ?? []).map(fromStoredAttempt) };
  }

  async list(subscriptionId: string, options: DeliveryListOptions): Promise<Page<DeliverySummary>> {
    const byStatus = options.status !== undefined && options.status !== 'succeeded';
    const partitionName = byStatus ? 'subscriptionStatus' : 'subscriptionId';
    const partitionValue = byStatus ? subscriptionStatusKey(subscriptionId, options.status as DeliveryStatus) : subscriptionId;
    // '~' sorts after every id character, so deliveries created exactly at `until` are included.
    const until = options.until === undefined ? undefined : `${options.until}#~`;
    const start = startKeyFromCursor(
      options.cursor,
      ['id', partitionName, 'createdKey'],
      { [partitionName]: partitionValue },
      { createdKey: { ...(options.since === undefined ? {} : { min: options.since }), ...(until === undefined ? {} : { max: until }) } },
    );
    // The index holds only items with both of its keys; the query reads it newest first.
    const evaluated = [...this.items.values()]
      .filter((item) => item[partitionName] === partitionValue && typeof item.createdKey === 'string')
      .filter((item) => {
        const key = item.createdKey as string;
        return (options.since === undefined || key >= options.since) && (until === undefined || key <= until);
      })
      .sort((a, b) => ((a.createdKey as string) < (b.createdKey as string) ? 1 : -1))
      .filter((item) => start === undefined || (item.createdKey as string) < (start.createdKey as string))
      .slice(0, options.limit);
    // Like a DynamoDB Query: Limit counts the items read, before the filter; a full read carries a cursor.
    const items = evaluated
      .filter((item) => options.eventType === undefined || item.eventType === options.eventType)
      .filter((item) => options.status !== 'succeeded' || item.status === 'succeeded')
      .map((item) => ({ ...pick(item, ['id', ...DELIVERY_SUMMARY_ATTRIBUTES]), subscriptionId }) as unknown as DeliverySummary);
    const last = evaluated.at(-1);
    return {
      items,
      nextCursor:
        evaluated.length === options.limit && last !== undefined
          ? encodeCursor({ id: last.id, [partitionName]: partitionValue, createdKey: last.createdKey })
          : undefined,
    };
  }

  async endPendingAsDisabled(subscriptionId: string, reason: string, now: string): Promise<number> {
    let changed = 0;
    const pendingKey = subscriptionStatusKey(subscriptionId, 'pending');
    for (const item of this.items.values()) {
      if (item.subscriptionStatus !== pendingKey || item.status !== 'pending') continue;
      Object.assign(item, {
        status: 'disabled',
        subscriptionStatus: subscriptionStatusKey(subscriptionId, 'disabled'),
        errorMessage: reason,
        updatedAt: now,
      });
      remove(item, 'nextAttemptAt');
      changed += 1;
    }
    return changed;
  }

  /** The attributes every write of a delivery's result sets: who it is, its status, and its index keys. */
  private setIdentity(item: Item, identity: DeliveryIdentity, status: DeliveryStatus, now: string, expiresAt: number): void {
    Object.assign(item, {
      fleetId: identity.fleetId,
      subscriptionId: identity.subscriptionId,
      eventId: identity.eventId,
      eventType: identity.eventType,
      status,
      subscriptionStatus: subscriptionStatusKey(identity.subscriptionId, status),
      updatedAt: now,
      expiresAt,
    });
    item.createdAt ??= now;
    item.createdKey ??= `${now}#${identity.id}`;
  }
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number';
}

function remove(item: Item, ...fields: string[]): void {
  for (const field of fields) delete item[field];
}

function pick(item: Item, fields: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(fields.filter((field) => item[field] !== undefined).map((field) => [field, structuredClone(item[field])]));
}
