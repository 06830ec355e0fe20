/**
 * DynamoDB layout of every Hookline table, as plain data. The CDK construct and local mode both
 * build their tables from this, so the deployed stack and `npm start` cannot drift apart.
 */

export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N';
}

export interface IndexSchema {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** Non-key attributes copied into the index; absent means ALL, empty means KEYS_ONLY. */
  readonly nonKeyAttributes?: readonly string[];
}

export type ProjectionKind = 'ALL' | 'KEYS_ONLY' | 'INCLUDE';

/** The DynamoDB projection an index schema stands for. */
export function projectionOf(index: IndexSchema): { type: ProjectionKind; nonKeyAttributes?: string[] } {
  if (index.nonKeyAttributes === undefined) return { type: 'ALL' };
  if (index.nonKeyAttributes.length === 0) return { type: 'KEYS_ONLY' };
  return { type: 'INCLUDE', nonKeyAttributes: [...index.nonKeyAttributes] };
}

export interface TableSchema {
  /** Logical name: construct id in CDK, table name suffix locally. */
  readonly logicalName: 'Subscriptions' | 'Events' | 'Deliveries' | 'Tokens';
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly globalSecondaryIndexes: readonly IndexSchema[];
  /** Epoch-seconds attribute DynamoDB TTL expires items by. */
  readonly timeToLiveAttribute?: string;
}

const S = (name: string): KeyAttribute => ({ name, type: 'S' });

/** Fields a delivery-log page shows; attempts stay in the base table. */
export const DELIVERY_SUMMARY_ATTRIBUTES: readonly string[] = [
  'fleetId',
  'eventId',
  'eventType',
  'webhookUrl',
  'status',
  'attemptCount',
  'lastAttemptAt',
  'httpStatusCode',
  'latencyMs',
  'responseContentLength',
  'errorMessage',
  'errorKind',
  'nextAttemptAt',
  'createdAt',
  'updatedAt',
];

export const SUBSCRIPTIONS_TABLE: TableSchema = {
  logicalName: 'Subscriptions',
  partitionKey: S('fleetId'),
  sortKey: S('id'),
  globalSecondaryIndexes: [],
};

export const EVENTS_BY_TIME_INDEX = 'byTime';

/** The events table's TTL attribute; short like the rest of an event item's names (events-store.ts). */
export const EVENTS_TTL_ATTRIBUTE = 'exp';

/**
 * Events: the by-time index holds keys only (fleet, timestamp `ts`, id): one small index write per
 * event, where a copy of the event would cost as much as the event. Replay reads events by key.
 */
export const EVENTS_TABLE: TableSchema = {
  logicalName: 'Events',
  partitionKey: S('fleetId'),
  sortKey: S('id'),
  globalSecondaryIndexes: [{ indexName: EVENTS_BY_TIME_INDEX, partitionKey: S('fleetId'), sortKey: S('ts'), nonKeyAttributes: [] }],
  timeToLiveAttribute: EVENTS_TTL_ATTRIBUTE,
};

export const DELIVERIES_BY_SUBSCRIPTION_INDEX = 'bySubscription';
export const DELIVERIES_BY_STATUS_INDEX = 'bySubscriptionStatus';

export const DELIVERIES_TABLE: TableSchema = {
  logicalName: 'Deliveries',
  partitionKey: S('id'),
  globalSecondaryIndexes: [
    {
      indexName: DELIVERIES_BY_SUBSCRIPTION_INDEX,
      partitionKey: S('subscriptionId'),
      sortKey: S('createdKey'),
      nonKeyAttributes: DELIVERY_SUMMARY_ATTRIBUTES,
    },
    {
      indexName: DELIVERIES_BY_STATUS_INDEX,
      partitionKey: S('subscriptionStatus'),
      sortKey: S('createdKey'),
      nonKeyAttributes: DELIVERY_SUMMARY_ATTRIBUTES,
    },
  ],
  timeToLiveAttribute: 'expiresAt',
};

export const TOKENS_TABLE: TableSchema = {
  logicalName: 'Tokens',
  partitionKey: S('id'),
  globalSecondaryIndexes: [],
};

export const TABLE_SCHEMAS: readonly TableSchema[] = [SUBSCRIPTIONS_TABLE, EVENTS_TABLE, DELIVERIES_TABLE, TOKENS_TABLE];
