import { ArnFormat, Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { HooklineFunction } from './functions';
import { acknowledge, wildcardResourceFinding } from './nag';
import type { HooklineQueues } from './queues';
import type { HooklineTable, HooklineTables } from './tables';

/**
 * Least-privilege grants, written out instead of `table.grantReadWriteData()`: those add Scan,
 * DescribeTable, the batch and ConditionCheck actions and `index/*`, while these name each action
 * each function's code sends (lambdas/shared/*-store.ts: GetCommand, PutCommand, UpdateCommand,
 * DeleteCommand, QueryCommand; no batch, transaction or scan call runs in a Lambda) and each index
 * a Query may use.
 */
const GET = 'dynamodb:GetItem';
const PUT = 'dynamodb:PutItem';
const UPDATE = 'dynamodb:UpdateItem';
const DELETE = 'dynamodb:DeleteItem';
const QUERY = 'dynamodb:Query';

/** Table actions per function and table, from the store methods each handler calls. */
export const TABLE_ACTIONS = {
  api: {
    // create, get, list, update, delete, disable
    subscriptions: [GET, PUT, UPDATE, DELETE, QUERY],
    // putIfAbsent and claimIdempotencyKey (conditional puts, read back), get, list
    events: [GET, PUT, QUERY],
    // get, list (by subscription, fleet and event), endPendingAsDisabled
    deliveries: [GET, UPDATE, QUERY],
    // bearer-token lookup and console portal sessions (stored like tokens, with an expiry): it can
    // add a session, never change or delete a token
    tokens: [GET, PUT],
    inboundSources: [GET, PUT, UPDATE, DELETE, QUERY],
  },
  fanout: {
    // putIfAbsent, markFannedOut, listByTime (replay)
    events: [GET, PUT, UPDATE, QUERY],
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
export const API_SECRET_ACTIONS = [
  'secretsmanager:CreateSecret',
  'secretsmanager:PutSecretValue',
  'secretsmanager:GetSecretValue',
  'secretsmanager:DeleteSecret',
  'secretsmanager:DescribeSecret',
  'secretsmanager:TagResource',
];
export const DISPATCHER_SECRET_ACTIONS = ['secretsmanager:GetSecretValue'];

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

/** `arn:<partition>:secretsmanager:<region>:<account>:secret:<prefix>*`, every signing secret and only those. */
export function secretPrefixArn(scope: Construct, secretPrefix: string): string {
  return Stack.of(scope).formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: `${secretPrefix}*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

export interface GrantContext {
  readonly tables: HooklineTables;
  /** The secret whose value keys the sealing of inbound source credentials; only the API reads it. */
  readonly inboundKey?: ISecret;
  readonly queues: HooklineQueues;
  readonly secretPrefix: string;
  readonly tableEncryptionKey?: IKey;
}

function allowSecrets(fn: HooklineFunction, context: GrantContext, actions: readonly string[]): void {
  const arn = secretPrefixArn(fn, context.secretPrefix);
  fn.allow(new PolicyStatement({ actions: [...actions], resources: [arn] }));
  acknowledge(
    fn.role,
    wildcardResourceFinding(fn, arn),
    'Signing secrets are created at run time, one per subscription, under the deployment secret prefix; ' +
      'the prefix wildcard is the narrowest ARN that covers them and no other secret.',
  );
}

function allowTableKey(fn: HooklineFunction, context: GrantContext): void {
  if (context.tableEncryptionKey === undefined) return;
  fn.allow(new PolicyStatement({ actions: TABLE_KEY_ACTIONS, resources: [context.tableEncryptionKey.keyArn] }));
}

/**
 * API: the tables it serves, publish to both queues, manage signing secrets, read the inbound key.
 */
export function grantApi(fn: HooklineFunction, context: GrantContext): void {
  const { tables, queues } = context;
  const actions = TABLE_ACTIONS.api;
  allowTable(fn, tables.subscriptions, actions.subscriptions);
  allowTable(fn, tables.events, actions.events);
  allowTable(fn, tables.deliveries, actions.deliveries);
  allowTable(fn, tables.tokens, actions.tokens);
  allowTable(fn, tables.inboundSources, actions.inboundSources);
  if (context.inboundKey !== undefined) {
    fn.allow(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [context.inboundKey.secretArn] }));
  }
  queues.eventsQueue.grantSendMessages(fn.role);
  queues.deliveriesQueue.grantSendMessages(fn.role);
  allowSecrets(fn, context, API_SECRET_ACTIONS);
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
 * disabled), signing secrets read, and SendMessage on the deliveries queue (the next attempt's
 * delayed message). Consuming the deliveries queue, ChangeMessageVisibility included, is granted
 * by its event source.
 */
export function grantDispatcher(fn: HooklineFunction, context: GrantContext): void {
  const { tables, queues } = context;
  queues.deliveriesQueue.grantSendMessages(fn.role);
  allowTable(fn, tables.subscriptions, TABLE_ACTIONS.dispatcher.subscriptions);
  allowTable(fn, tables.deliveries, TABLE_ACTIONS.dispatcher.deliveries);
  allowSecrets(fn, context, DISPATCHER_SECRET_ACTIONS);
  allowTableKey(fn, context);
}
