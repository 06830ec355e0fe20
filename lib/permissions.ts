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
 * DescribeTable and `index/*`, while these name each action and each index the code uses.
 */
export const TABLE_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'];
export const TABLE_WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];
export const TABLE_READ_WRITE_ACTIONS = [...TABLE_READ_ACTIONS, ...TABLE_WRITE_ACTIONS];
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

export function tableStatement(target: HooklineTable, actions: readonly string[]): PolicyStatement {
  const indexes = actions.includes('dynamodb:Query')
    ? target.schema.globalSecondaryIndexes.map((index) => `${target.table.tableArn}/index/${index.indexName}`)
    : [];
  return new PolicyStatement({ actions: [...actions], resources: [target.table.tableArn, ...indexes] });
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
 * API: every table but tokens read-write; tokens read plus PutItem (console portal sessions, stored
 * like tokens with an expiry: it can add a session, never change or delete a token); publish to
 * both queues, manage signing secrets, read the inbound key.
 */
export function grantApi(fn: HooklineFunction, context: GrantContext): void {
  const { tables, queues } = context;
  fn.allow(tableStatement(tables.subscriptions, TABLE_READ_WRITE_ACTIONS));
  fn.allow(tableStatement(tables.events, TABLE_READ_WRITE_ACTIONS));
  fn.allow(tableStatement(tables.deliveries, TABLE_READ_WRITE_ACTIONS));
  fn.allow(tableStatement(tables.tokens, [...TABLE_READ_ACTIONS, 'dynamodb:PutItem']));
  fn.allow(tableStatement(tables.inboundSources, TABLE_READ_WRITE_ACTIONS));
  if (context.inboundKey !== undefined) {
    fn.allow(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [context.inboundKey.secretArn] }));
  }
  queues.eventsQueue.grantSendMessages(fn.role);
  queues.deliveriesQueue.grantSendMessages(fn.role);
  allowSecrets(fn, context, API_SECRET_ACTIONS);
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
 * signing secrets read, and SendMessage on the deliveries queue (the next attempt's delayed
 * message). Consuming the deliveries queue, ChangeMessageVisibility included, is granted by its
 * event source.
 */
export function grantDispatcher(fn: HooklineFunction, context: GrantContext): void {
  const { tables, queues } = context;
  queues.deliveriesQueue.grantSendMessages(fn.role);
  fn.allow(tableStatement(tables.subscriptions, [...TABLE_READ_ACTIONS, 'dynamodb:UpdateItem']));
  fn.allow(tableStatement(tables.deliveries, TABLE_READ_WRITE_ACTIONS));
  allowSecrets(fn, context, DISPATCHER_SECRET_ACTIONS);
  allowTableKey(fn, context);
}
