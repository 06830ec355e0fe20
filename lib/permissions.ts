import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { HooklineFunction } from './functions';
import type { HooklineQueues } from './queues';
import type { HooklineTable, HooklineTables } from './tables';

/**
 * Least-privilege grants, written out instead of `table.grantReadWriteData()`: those add Scan,
 * DescribeTable, the batch and ConditionCheck actions and `index/*`, while these name each action
 * each function's code sends (lambdas/shared/*-store.ts: GetCommand, PutCommand, UpdateCommand,
 * DeleteCommand, QueryCommand; BatchGetCommand only to read events by key after a by-time index
 * query; no batch write, transaction or scan call runs in a Lambda) and each index a Query may use.
 */
const GET = 'dynamodb:GetItem';
const PUT = 'dynamodb:PutItem';
const UPDATE = 'dynamodb:UpdateItem';
const DELETE = 'dynamodb:DeleteItem';
const QUERY = 'dynamodb:Query';
const BATCH_GET = 'dynamodb:BatchGetItem';

/** Table actions per function and table, from the store methods each handler calls. */
export const TABLE_ACTIONS = {
  api: {
    // create, get, list, update, delete, disable
    subscriptions: [GET, PUT, UPDATE, DELETE, QUERY],
    // putIfAbsent and claimIdempotencyKey (conditional puts, read back), get, list (by-time index, then events and fan-out marks by key)
    events: [GET, PUT, QUERY, BATCH_GET],
    // get, list (by subscription, fleet and event), endPendingAsDisabled
    deliveries: [GET, UPDATE, QUERY],
    // bearer-token lookup and console portal sessions (stored like tokens, with an expiry): it can
    // add a session, never change or delete a token
    tokens: [GET, PUT],
    inboundSources: [GET, PUT, UPDATE, DELETE, QUERY],
  },
  fanout: {
    // putIfAbsent, markFannedOut (a put of a small item), listByTime (replay: by-time index, then events by key)
    events: [GET, PUT, QUERY, BATCH_GET],
    // pages (fan-out), get (replay)
    subscriptions: [GET, QUERY],
  },
  dispatcher: {
    // get, failure tracking, circuit state, auto-disable
    subscriptions: [GET, UPDATE],
    // claim, recordAttempt, endWithoutAttempt, endPendingAsDisabled; endpoint gates share the table
    deliveries: [GET, UPDATE, QUERY],
  },
} as const satisfies Record<string, Partial<Record<'subscriptions' | 'events' | 'deliveries' | 'tokens' | 'inboundSources', readonly string[]>>>;

/** What DynamoDB asks of the caller's principal when a table uses a customer-managed key. */
export const TABLE_KEY_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'];
/** All the API and the dispatcher do with Secrets Manager: read the one key-encryption key secret. */
export const SEALING_KEY_ACTIONS = ['secretsmanager:GetSecretValue'];

/** The actions on the table itself, and Query alone on each of its indexes when the function queries. */
export function tableStatements(target: HooklineTable, actions: readonly string[]): PolicyStatement[] {
  const statements = [new PolicyStatement({ actions: [...actions], resources: [target.table.tableArn] })];
  const indexes = target.schema.globalSecondaryIndexes.map((index) => `${target.table.tableArn}/index/${index.indexName}`);
  if (actions.includes(QUERY) && indexes.length > 0) {
    statements.push(new PolicyStatement({ actions: [QUERY], resources: indexes }));
  }
  return statements;
}

function allowTable(fn: HooklineFunction, target: HooklineTable, actions: readonly string[]): void {
  for (const statement of tableStatements(target, actions)) fn.allow(statement);
}

export interface GrantContext {
  readonly tables: HooklineTables;
  readonly queues: HooklineQueues;
  /** The key ring sealing every signing secret and inbound credential; the API and dispatcher read it. */
  readonly sealingKey: ISecret;
  readonly tableEncryptionKey?: IKey;
}

/** GetSecretValue on the key ring secret's own ARN: no prefix wildcard, no other secret, no writes. */
function allowSealingKey(fn: HooklineFunction, context: GrantContext): void {
  fn.allow(new PolicyStatement({ actions: SEALING_KEY_ACTIONS, resources: [context.sealingKey.secretArn] }));
}

function allowTableKey(fn: HooklineFunction, context: GrantContext): void {
  if (context.tableEncryptionKey === undefined) return;
  fn.allow(new PolicyStatement({ actions: TABLE_KEY_ACTIONS, resources: [context.tableEncryptionKey.keyArn] }));
}

/**
 * API: the tables it serves, publish to both queues, read the key ring that seals signing secrets
 * and inbound credentials.
 */
export function grantApi(fn: HooklineFunction, context: GrantContext): void {
  const { tables, queues } = context;
  const actions = TABLE_ACTIONS.api;
  allowTable(fn, tables.subscriptions, actions.subscriptions);
  allowTable(fn, tables.events, actions.events);
  allowTable(fn, tables.deliveries, actions.deliveries);
  allowTable(fn, tables.tokens, actions.tokens);
  allowTable(fn, tables.inboundSources, actions.inboundSources);
  queues.eventsQueue.grantSendMessages(fn.role);
  queues.deliveriesQueue.grantSendMessages(fn.role);
  allowSealingKey(fn, context);
  allowTableKey(fn, context);
}

/**
 * Fan-out: events and subscriptions as its code uses them, deliveries messages out, and events
 * messages back in (a large replay continues itself). Consuming the events queue is granted by its
 * event source.
 */
export function grantFanout(fn: HooklineFunction, context: GrantContext): void {
  const { tables, queues } = context;
  allowTable(fn, tables.events, TABLE_ACTIONS.fanout.events);
  allowTable(fn, tables.subscriptions, TABLE_ACTIONS.fanout.subscriptions);
  queues.deliveriesQueue.grantSendMessages(fn.role);
  queues.eventsQueue.grantSendMessages(fn.role);
  allowTableKey(fn, context);
}

/**
 * Dispatcher: subscriptions read plus UpdateItem (failure tracking, auto-disable), deliveries
 * read and update (attempt records; Query on the by-status index ends pending deliveries as
 * disabled), the key ring read (to open signing secrets), and SendMessage on the deliveries queue (the next attempt's
 * delayed message). Consuming the deliveries queue, ChangeMessageVisibility included, is granted
 * by its event source.
 */
export function grantDispatcher(fn: HooklineFunction, context: GrantContext): void {
  const { tables, queues } = context;
  queues.deliveriesQueue.grantSendMessages(fn.role);
  allowTable(fn, tables.subscriptions, TABLE_ACTIONS.dispatcher.subscriptions);
  allowTable(fn, tables.deliveries, TABLE_ACTIONS.dispatcher.deliveries);
  allowSealingKey(fn, context);
  allowTableKey(fn, context);
}
