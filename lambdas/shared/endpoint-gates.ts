import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailure } from './dynamo-errors';

/**
 * The per-endpoint rate limit and concurrency cap, enforced across every dispatcher with small
 * items in the deliveries table (ids that can never be delivery ids, no index keys, TTL set):
 *
 * - `rate#<subscriptionId>#<epoch second>`: a counter per second, incremented only below the limit;
 * - `slot#<subscriptionId>#<n>`: n < cap, each held by at most one POST, with a lease that runs out
 *   if its holder dies.
 *
 * Each costs one conditional write per delivery (two for a slot: take and give back) and only
 * applies to endpoints that have a limit or are under the cap.
 */
export class EndpointGates {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Takes one of this second's `limit` tokens; false when they are all gone. */
  async takeRateToken(subscriptionId: string, limit: number, nowMs: number): Promise<boolean> {
    const second = Math.floor(nowMs / 1000);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id: `rate#${subscriptionId}#${second}` },
          UpdateExpression: 'ADD taken :one SET expiresAt = :expires',
          ConditionExpression: 'attribute_not_exists(taken) OR taken < :limit',
          ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':expires': second + 120 },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Takes a free slot of `cap` for `holder` until `leaseUntil` (epoch ms), trying them from a
   * random one; the slot's number, or undefined when every slot is held.
   */
  async takeSlot(subscriptionId: string, cap: number, holder: string, leaseUntil: number, nowMs: number, random = Math.random): Promise<number | undefined> {
    const first = Math.floor(random() * cap);
    for (let offset = 0; offset < cap; offset += 1) {
      const slot = (first + offset) % cap;
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { id: slotId(subscriptionId, slot) },
            UpdateExpression: 'SET leaseUntil = :lease, holder = :holder, expiresAt = :expires',
            ConditionExpression: 'attribute_not_exists(leaseUntil) OR leaseUntil < :now',
            ExpressionAttributeValues: { ':lease': leaseUntil, ':holder': holder, ':now': nowMs, ':expires': Math.ceil(leaseUntil / 1000) + 3_600 },
          }),
        );
        return slot;
      } catch (error) {
        if (!isConditionalCheckFailure(error)) throw error;
      }
    }
    return undefined;
  }

  /** Gives a slot back; a no-op when its lease ran out and someone else holds it now. */
  async releaseSlot(subscriptionId: string, slot: number, holder: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id: slotId(subscriptionId, slot) },
          UpdateExpression: 'REMOVE leaseUntil, holder',
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: { ':holder': holder },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
    }
  }
}

function slotId(subscriptionId: string, slot: number): string {
  return `slot#${subscriptionId}#${slot}`;
}
