import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
 
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { CircuitRecord, SubscriptionRecord } from '../core/records';
import type { SealedSigningSecrets } from '../core/sealed-secrets';
import { encodeCursor, startKeyFromCursor, type Page } from './cursor';
import { isConditionalCheckFailure } from './dynamo-errors';
import { scanPages } from './table-scan';

const KEY_NAMES = ['fleetId', 'id'] as const;

/** Fields a PATCH may change; `null` removes an optional one. */
export type SubscriptionPatch = Partial<{
  url: string;
  events: string[] | null;
  enabled: boolean;
  name: string | null;
  description: string | null;
  headers: Record<string, string> | null;
  timeoutSeconds: number | null;
  maxAttempts: number | null;
  rateLimitPerSecond: number | null;
  maxConcurrency: number | null;
  tlsVerify: boolean;
}>;

/** Why replaceSecret did not write: the subscription is gone, or its secret changed since it was read. */
export type SecretReplaceMiss = 'missing' | 'changed';

/** One failed attempt as recordFailure stores it. */
export interface FailureInput {
  now: string;
  lastError: string;
  countsForCircuit: boolean;
}

/** The failing clock's start and the consecutive failures after recordFailure. */
export interface FailureCount {
  failingSince?: string;
  consecutiveFailures: number;
}

/**
 * What Hookline needs of a subscriptions store. Each handler depends on the part it uses (a `Pick`
 * declared beside it: the API's, the fan-out's, the dispatcher's), and every implementation — the
 * DynamoDB store below and the in-memory one of the unit tests — passes one conformance suite
 * (test/support/conformance/subscriptions-store.ts).
 */
export interface SubscriptionsStorePort {
  /** Fails with a conditional-check failure when the (fleetId, id) exists. */
  create(record: SubscriptionRecord): Promise<void>;
  get(fleetId: string, id: string, consistent?: boolean): Promise<SubscriptionRecord | undefined>;
  list(fleetId: string, options: { limit: number; cursor?: string }): Promise<Page<SubscriptionRecord>>;
  pages(fleetId: string, pageSize?: number): AsyncGenerator<SubscriptionRecord[]>;
  update(fleetId: string, id: string, patch: SubscriptionPatch, now: string): Promise<SubscriptionRecord | undefined>;
  replaceSecret(
    fleetId: string,
    id: string,
    expectedSealed: string | undefined,
    next: SealedSigningSecrets,
    now: string | undefined,
  ): Promise<SubscriptionRecord | SecretReplaceMiss>;
  scanAll(pageSize?: number): AsyncGenerator<SubscriptionRecord[]>;
  delete(fleetId: string, id: string): Promise<SubscriptionRecord | undefined>;
  disable(fleetId: string, id: string, reason: string, now: string): Promise<boolean>;
  touch(fleetId: string, id: string, at: string, notBefore: string): Promise<void>;
  recordFailure(fleetId: string, id: string, input: FailureInput): Promise<FailureCount | undefined>;
  openCircuit(fleetId: string, id: string, circuit: CircuitRecord, from: 'closed' | 'half-open'): Promise<boolean>;
  claimProbe(fleetId: string, id: string, nowMs: number, probeUntil: number): Promise<boolean>;
  releaseProbe(fleetId: string, id: string, probeUntil: number): Promise<void>;
  closeCircuit(fleetId: string, id: string): Promise<void>;
  setSlow(fleetId: string, id: string, since: string | undefined): Promise<void>;
  clearFailing(fleetId: string, id: string): Promise<void>;
}

/** Subscriptions table access. Every read is keyed by (fleetId, id), which is what keeps fleets apart. */
export class SubscriptionsStore implements SubscriptionsStorePort {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(record: SubscriptionRecord): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: record,
        ConditionExpression: 'attribute_not_exists(id)',
      }),
    );
  }

  async get(fleetId: string, id: string, consistent = false): Promise<SubscriptionRecord | undefined> {
    const result = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { fleetId, id }, ConsistentRead: consistent }),
    );
    return result.Item as SubscriptionRecord | undefined;
  }

  /** One page of a fleet's subscriptions, oldest first (ids are ULIDs). */
  async list(fleetId: string, options: { limit: number; cursor?: string }): Promise<Page<SubscriptionRecord>> {
    const startKey = startKeyFromCursor(options.cursor, KEY_NAMES, { fleetId });
    const result = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'fleetId = :fleetId',
        ExpressionAttributeValues: { ':fleetId': fleetId },
        Limit: options.limit,
        ExclusiveStartKey: startKey,
      }),
    );
    return {
      items: (result.Items ?? []) as SubscriptionRecord[],
      nextCursor: encodeCursor(result.LastEvaluatedKey),
    };
  }

  /** Every subscription of a fleet, page by page (fan-out walks large fleets with it). */
  async *pages(fleetId: string, pageSize = 500): AsyncGenerator<SubscriptionRecord[]> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'fleetId = :fleetId',
          ExpressionAttributeValues: { ':fleetId': fleetId },
          Limit: pageSize,
          ExclusiveStartKey: startKey,
        }),
      );
      yield (result.Items ?? []) as SubscriptionRecord[];
      startKey = result.LastEvaluatedKey;
    } while (startKey !== undefined);
  }

  /** Applies a partial update; returns the updated record, or undefined when it does not exist. */
  async update(fleetId: string, id: string, patch: SubscriptionPatch, now: string): Promise<SubscriptionRecord | undefined> {
    const names: Record<string, string> = { '#updatedAt': 'updatedAt' };
    const values: Record<string, unknown> = { ':updatedAt': now };
    const sets = ['#updatedAt = :updatedAt'];
    const removes: string[] = [];
    for (const [field, value] of Object.entries(patch)) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      if (value === null) {
        removes.push(`#${field}`);
      } else {
        values[`:${field}`] = value;
        sets.push(`#${field} = :${field}`);
      }
    }
    if (patch.enabled === true) {
      names['#disabledReason'] = 'disabledReason';
      names['#failingSince'] = 'failingSince';
      names['#consecutiveFailures'] = 'consecutiveFailures';
      names['#circuit'] = 'circuit';
      removes.push('#disabledReason', '#failingSince', '#consecutiveFailures', '#circuit');
    }
    const expression = `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`;
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { fleetId, id },
          UpdateExpression: expression,
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes as SubscriptionRecord;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return undefined;
      throw error;
    }
  }

  /**
   * Replaces the sealed secrets if the current one is still `expectedSealed`: two rotations (or a
   * rotation and a rekey) racing cannot lose a secret a caller was already shown. `now` sets
   * updatedAt (a rotation); a rekey leaves it, as nothing a caller sees changes. `expectedSealed`
   * undefined: the item has no sealed secret yet (one written before secrets were sealed).
   */
  async replaceSecret(
    fleetId: string,
    id: string,
    expectedSealed: string | undefined,
    next: SealedSigningSecrets,
    now: string | undefined,
  ): Promise<SubscriptionRecord | SecretReplaceMiss> {
    const sets = ['sealedSecret = :secret'];
    const values: Record<string, unknown> = { ':secret': next.sealedSecret };
    if (expectedSealed !== undefined) values[':expected'] = expectedSealed;
    if (now !== undefined) {
      sets.push('updatedAt = :now');
      values[':now'] = now;
    }
    let remove = ' REMOVE sealedPreviousSecret, previousSecretExpiresAt';
    if (next.sealedPreviousSecret !== undefined && next.previousSecretExpiresAt !== undefined) {
      sets.push('sealedPreviousSecret = :previous', 'previousSecretExpiresAt = :previousExpiresAt');
      values[':previous'] = next.sealedPreviousSecret;
      values[':previousExpiresAt'] = next.previousSecretExpiresAt;
      remove = '';
    }
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { fleetId, id },
          UpdateExpression: `SET ${sets.join(', ')}${remove}`,
          ConditionExpression: expectedSealed === undefined ? 'attribute_exists(id) AND attribute_not_exists(sealedSecret)' : 'sealedSecret = :expected',
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes as SubscriptionRecord;
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
      const existing = await this.get(fleetId, id, true);
      return existing === undefined ? 'missing' : 'changed';
    }
  }

  /** Every subscription of every fleet, a page at a time (`hookline secrets rekey` walks them). */
  scanAll(pageSize = 100): AsyncGenerator<SubscriptionRecord[]> {
    return scanPages<SubscriptionRecord>(this.doc, this.tableName, pageSize);
  }

  /** Deletes and returns the record, or undefined when it did not exist. */
  async delete(fleetId: string, id: string): Promise<SubscriptionRecord | undefined> {
    const result = await this.doc.send(
      new DeleteCommand({ TableName: this.tableName, Key: { fleetId, id }, ReturnValues: 'ALL_OLD' }),
    );
    return result.Attributes as SubscriptionRecord | undefined;
  }

  /** Disables an enabled subscription; true when this call did it. */
  async disable(fleetId: string, id: string, reason: string, now: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { fleetId, id },
          UpdateExpression: 'SET enabled = :false, disabledReason = :reason, updatedAt = :now',
          ConditionExpression: 'attribute_exists(id) AND enabled = :true',
          ExpressionAttributeValues: { ':false': false, ':true': true, ':reason': reason, ':now': now },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return false;
      throw error;
    }
  }

  /** Starts the failing clock unless it already runs; returns the clock's start. */
  async markFailing(fleetId: string, id: string, now: string): Promise<string | undefined> {
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { fleetId, id },
          UpdateExpression: 'SET failingSince = if_not_exists(failingSince, :now)',
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeValues: { ':now': now },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return result.Attributes?.failingSince as string | undefined;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return undefined;
      throw error;
    }
  }

  /**
   * Sets `lastTriggeredAt` unless it is already newer than `notBefore`: at most about one write a
   * minute per subscription, however many deliveries it gets.
   */
  async touch(fleetId: string, id: string, at: string, notBefore: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { fleetId, id },
          UpdateExpression: 'SET lastTriggeredAt = :at',
          ConditionExpression: 'attribute_exists(id) AND (attribute_not_exists(lastTriggeredAt) OR lastTriggeredAt < :notBefore)',
          ExpressionAttributeValues: { ':at': at, ':notBefore': notBefore },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
    }
  }

  /**
   * One failed attempt, in one UpdateItem: starts the failing clock unless it runs, keeps the error
   * for the health view and, for failures that count against the circuit, adds one to the
   * consecutive failures. Returns the clock's start and the count.
   */
  async recordFailure(
    fleetId: string,
    id: string,
    input: FailureInput,
  ): Promise<FailureCount | undefined> {
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { fleetId, id },
          UpdateExpression:
            'SET failingSince = if_not_exists(failingSince, :now), lastError = :error' +
            (input.countsForCircuit ? ' ADD consecutiveFailures :one' : ''),
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeValues: {
            ':now': input.now,
            ':error': input.lastError,
            ...(input.countsForCircuit ? { ':one': 1 } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const item = result.Attributes ?? {};
      return {
        ...(typeof item.failingSince === 'string' ? { failingSince: item.failingSince } : {}),
        consecutiveFailures: Number(item.consecutiveFailures ?? 0),
      };
    } catch (error) {
      if (isConditionalCheckFailure(error)) return undefined;
      throw error;
    }
  }

  /**
   * Opens the circuit: from closed (none stored), or again after a failed probe (half-open). False
   * when another dispatcher changed it first.
   */
  async openCircuit(fleetId: string, id: string, circuit: CircuitRecord, from: 'closed' | 'half-open'): Promise<boolean> {
    return this.conditionalUpdate({
      Key: { fleetId, id },
      UpdateExpression: 'SET circuit = :circuit',
      ConditionExpression: from === 'closed' ? 'attribute_exists(id) AND attribute_not_exists(circuit)' : 'circuit.#state = :half',
      ...(from === 'closed' ? {} : { ExpressionAttributeNames: { '#state': 'state' } }),
      ExpressionAttributeValues: { ':circuit': circuit, ...(from === 'closed' ? {} : { ':half': 'half-open' }) },
    });
  }

  /**
   * Makes this dispatcher the probe of an open circuit whose cool-down is over (or whose last probe
   * died): at most one probe is in flight across all dispatchers.
   */
  async claimProbe(fleetId: string, id: string, nowMs: number, probeUntil: number): Promise<boolean> {
    return this.conditionalUpdate({
      Key: { fleetId, id },
      UpdateExpression: 'SET circuit.#state = :half, circuit.probeUntil = :until',
      ConditionExpression: '(circuit.#state = :open AND circuit.openUntil <= :nowIso) OR (circuit.#state = :half AND circuit.probeUntil < :now)',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: {
        ':half': 'half-open',
        ':open': 'open',
        ':until': probeUntil,
        ':now': nowMs,
        ':nowIso': new Date(nowMs).toISOString(),
      },
    });
  }

  /** Gives back a probe that made no POST: the circuit is open again, its cool-down already over. */
  async releaseProbe(fleetId: string, id: string, probeUntil: number): Promise<void> {
    await this.conditionalUpdate({
      Key: { fleetId, id },
      UpdateExpression: 'SET circuit.#state = :open REMOVE circuit.probeUntil',
      ConditionExpression: 'circuit.#state = :half AND circuit.probeUntil = :until',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':open': 'open', ':half': 'half-open', ':until': probeUntil },
    });
  }

  /** Closes the circuit and resets the failure count, leaving the failing clock (auto-disable) running. */
  async closeCircuit(fleetId: string, id: string): Promise<void> {
    await this.conditionalUpdate({
      Key: { fleetId, id },
      UpdateExpression: 'REMOVE circuit, consecutiveFailures',
      ConditionExpression: 'attribute_exists(circuit) OR attribute_exists(consecutiveFailures)',
    });
  }

  /** Marks the endpoint slow (a time) or fast again (undefined). */
  async setSlow(fleetId: string, id: string, since: string | undefined): Promise<void> {
    await this.conditionalUpdate({
      Key: { fleetId, id },
      UpdateExpression: since === undefined ? 'REMOVE slowSince' : 'SET slowSince = :since',
      ConditionExpression: since === undefined ? 'attribute_exists(slowSince)' : 'attribute_exists(id) AND attribute_not_exists(slowSince)',
      ...(since === undefined ? {} : { ExpressionAttributeValues: { ':since': since } }),
    });
  }

  /** After a success: stops the failing clock, resets the failure count, closes the circuit. */
  async clearFailing(fleetId: string, id: string): Promise<void> {
    await this.conditionalUpdate({
      Key: { fleetId, id },
      UpdateExpression: 'REMOVE failingSince, consecutiveFailures, lastError, circuit',
      ConditionExpression:
        'attribute_exists(failingSince) OR attribute_exists(consecutiveFailures) OR attribute_exists(circuit) OR attribute_exists(lastError)',
    });
  }

  private async conditionalUpdate(input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName'>): Promise<boolean> {
    try {
      await this.doc.send(new UpdateCommand({ TableName: this.tableName, ...input }));
      return true;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return false;
      throw error;
    }
  }
}
