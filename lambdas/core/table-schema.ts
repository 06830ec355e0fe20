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
  /** Non-key attributes copied into the index; absent means ALL. */
  readonly nonKeyAttributes?: readonly string[];
}

export interface TableSchema {
  /** Logical name: construct id in CDK, table name suffix locally. */
  readonly logicalName: 'Subscriptions' | 'Events' | 'Deliveries' | 'Tokens' | 'InboundSources';
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

/**
 * The first by-time index: sort key `timeKey`, every attribute projected, so each event was written
 * twice in full. No item written today carries `timeKey`, so it receives no writes; it still lists
 * the events stored before {@link EVENTS_BY_EVENT_TIME_INDEX} existed until their TTL expires.
 * It stays in the schema because an update that removed it while adding the narrow index would
 * change two indexes at once, which DynamoDB refuses ("You can create or delete only one global
 * secondary index per UpdateTable operation", Amazon DynamoDB API Reference, UpdateTable,
 * GlobalSecondaryIndexUpdates), and CloudFormation cannot change a projection in place either. A later
 * release, after one retention period, deletes it on its own.
 */
export const EVENTS_BY_TIME_INDEX = 'byTime';
/** Sort key attribute of the narrow by-time index: `<ISO timestamp>#<event id>`. */
export const EVENT_TIME_ATTRIBUTE = 'eventTime';
/**
 * A fleet's events by time, narrow: the keys plus what the event list filters on and shows without
 * reading the event (`type`, `source`), so an index write stays one write unit however large the
 * event. Replay and the event list read the full events (or their fan-out markers) by key for
 * the page they return. A new attribute name on a new index: adding one index is one table update.
 */
export const EVENTS_BY_EVENT_TIME_INDEX = 'byEventTime';
export const EVENT_TIME_INDEX_ATTRIBUTES: readonly string[] = ['type', 'source'];

export const EVENTS_TABLE: TableSchema = {
  logicalName: 'Events',
  partitionKey: S('fleetId'),
  sortKey: S('id'),
  globalSecondaryIndexes: [
    { indexName: EVENTS_BY_TIME_INDEX, partitionKey: S('fleetId'), sortKey: S('timeKey') },
    {
      indexName: EVENTS_BY_EVENT_TIME_INDEX,
      partitionKey: S('fleetId'),
      sortKey: S(EVENT_TIME_ATTRIBUTE),
      nonKeyAttributes: EVENT_TIME_INDEX_ATTRIBUTES,
    },
  ],
  timeToLiveAttribute: 'expiresAt',
};

export const DELIVERIES_BY_SUBSCRIPTION_INDEX = 'bySubscription';
export const DELIVERIES_BY_STATUS_INDEX = 'bySubscriptionStatus';
/**
 * A fleet's whole delivery log. Sorted by delivery id, which starts with its event's ULID time: the
 * log reads newest event first, and one event's deliveries sit together under that time prefix.
 * One index serves both on purpose: CloudFormation adds at most one GSI to a table per update.
 */
export const DELIVERIES_BY_FLEET_INDEX = 'byFleet';

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
    // fleetId and id are on every delivery item already, so writers need no change for it.
    {
      indexName: DELIVERIES_BY_FLEET_INDEX,
      partitionKey: S('fleetId'),
      sortKey: S('id'),
      nonKeyAttributes: [...DELIVERY_SUMMARY_ATTRIBUTES.filter((name) => name !== 'fleetId'), 'subscriptionId'],
    },
  ],
  timeToLiveAttribute: 'expiresAt',
};

export const TOKENS_TABLE: TableSchema = {
  logicalName: 'Tokens',
  partitionKey: S('id'),
  globalSecondaryIndexes: [],
  // Portal sessions carry an expiry; API tokens have none and are never expired by TTL.
  timeToLiveAttribute: 'expiresAt',
};

export const INBOUND_SOURCES_BY_FLEET_INDEX = 'byFleet';

/**
 * Inbound webhook sources. Keyed by source id alone because the ingest URL names only the source
 * (`/inbound/{sourceId}`) and its lookup must be one strongly consistent GetItem; a fleet's sources
 * are listed through the by-fleet index. Their secret material is stored sealed (AES-256-GCM).
 */
export const INBOUND_SOURCES_TABLE: TableSchema = {
  logicalName: 'InboundSources',
  partitionKey: S('id'),
  globalSecondaryIndexes: [{ indexName: INBOUND_SOURCES_BY_FLEET_INDEX, partitionKey: S('fleetId'), sortKey: S('id') }],
};

export const TABLE_SCHEMAS: readonly TableSchema[] = [SUBSCRIPTIONS_TABLE, EVENTS_TABLE, DELIVERIES_TABLE, TOKENS_TABLE, INBOUND_SOURCES_TABLE];
