import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { HooklineFunction } from './functions';
import type { HooklineQueues } from './queues';
import type { HooklineTable, HooklineTables } from './tables';

/**
 * Least-privilege grants, written out instead of `table.grantReadWriteData()`: those add Scan,
 * DescribeTable and `index/*`, while these name each action and each index the code uses.
 */
export const TABLE_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'];
export const TABLE_WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];
export const TABLE_READ_WRITE_ACTIONS = [...TABLE_READ_ACTIONS, ...TABLE_WRITE_ACTIONS];
/** What DynamoDB asks of the caller's principal when a table uses a customer-managed key. */
export const TABLE_KEY_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'];
/** All the API and the dispatcher do with Secrets Manager: read the one key-encryption key secret. */
export const SEALING_KEY_ACTIONS = ['secretsmanager:GetSecretValue'];

export function tableStatement(target: HooklineTable, actions: readonly string[]): PolicyStatement {
  const indexes = actions.includes('dynamodb:Query')
    ? target.schema.globalSecondaryIndexes.map((index) => `${target.table.tableArn}/index/${index.indexName}`)
    : [];
  return new PolicyStatement({ actions: [...actions], resources: [target.table.tableArn, ...indexes] });
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
 * API: every table but tokens read-write; tokens read plus PutItem (console portal sessions, stored
 * like tokens with an expiry: it can add a session, never change or delete a token); publish to
 * both queues, read the key ring that seals signing secrets and inbound credentials.
 */
export function grantApi(fn: HooklineFunction, context: GrantContext): void {
  const { tables, queues } = context;
  fn.allow(tableStatement(tables.subscriptions, TABLE_READ_WRITE_ACTIONS));
  fn.allow(tableStatement(tables.events, TABLE_READ_WRITE_ACTIONS));
  fn.allow(tableStatement(tables.deliveries, TABLE_READ_WRITE_ACTIONS));
  fn.allow(tableStatement(tables.tokens, [...TABLE_READ_ACTIONS, 'dynamodb:PutItem']));
  fn.allow(tableStatement(tables.inboundSources, TABLE_READ_WRITE_ACTIONS));
  queues.eventsQueue.grantSendMessages(fn.role);
  queues.deliveriesQueue.grantSendMessages(fn.role);
  allowSealingKey(fn, context);
  allowTableKey(fn, context);
}

/**
 * Fan-out: events read-write, subscriptions read, deliveries messages out, and events messages
 * back in (a large replay continues itself). Consuming the events queue is granted by its event source.
 */
export function grantFanout(fn: HooklineFunction, context: GrantContext): void {
  const { tables, queues } = context;
  fn.allow(tableStatement(tables.events, TABLE_READ_WRITE_ACTIONS));
  fn.allow(tableStatement(tables.subscriptions, TABLE_READ_ACTIONS));
  queues.deliveriesQueue.grantSendMessages(fn.role);
  queues.eventsQueue.grantSendMessages(fn.role);
  allowTableKey(fn, context);
}

/**
 * Dispatcher: subscriptions read plus UpdateItem (failure tracking, auto-disable), deliveries
 * read-write (attempt records; Query on the by-status index ends pending deliveries as disabled),
 * the key ring read (to open signing secrets), and SendMessage on the deliveries queue (the next attempt's delayed
 * message). Consuming the deliveries queue, ChangeMessageVisibility included, is granted by its
 * event source.
 */
export function grantDispatcher(fn: HooklineFunction, context: GrantContext): void {
  const { tables, queues } = context;
  queues.deliveriesQueue.grantSendMessages(fn.role);
  fn.allow(tableStatement(tables.subscriptions, [...TABLE_READ_ACTIONS, 'dynamodb:UpdateItem']));
  fn.allow(tableStatement(tables.deliveries, TABLE_READ_WRITE_ACTIONS));
  allowSealingKey(fn, context);
  allowTableKey(fn, context);
}
