import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  SQSClient,
  type SendMessageBatchCommandInput,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SubscriptionRecord } from '../lambdas/core/records';

/**
 * In-memory answers for every AWS call the fan-out and dispatcher make, installed on the SDK
 * client classes' `send` (what aws-sdk-client-mock does too, minus sinon: its per-call argument
 * matching and call history cost several percent of the dispatcher's CPU, which would be billed to
 * Hookline). The handlers, their stores and the SDK command objects are the real ones; only the
 * round trip to AWS is replaced, so a timed loop measures Hookline's own work plus the webhook
 * POST. A call nobody expected fails loudly.
 */
export interface MemoryAwsState {
  /** The subscriptions table; a Query pages through the fleet's items ordered by id. */
  subscriptions: SubscriptionRecord[];
  /** SecretString by ARN (the key ring); every version of an ARN answers the same value. */
  secrets: Map<string, string>;
  subscriptionsTable: string;
  /** Sees every SendMessageBatch, e.g. to count the delivery messages of a fan-out. */
  onSendBatch?: (input: SendMessageBatchCommandInput) => void;
}

export interface MemoryAws {
  /** Calls per command class name since the last reset. */
  calls(): Record<string, number>;
  /** Forgets the call history (sinon keeps every call until then). */
  reset(): void;
  restore(): void;
}

type Command = { input: unknown };
type Answer = (input: never) => Promise<unknown>;
type Sendable = { prototype: { send: (...args: unknown[]) => unknown } };

export function installMemoryAws(state: MemoryAwsState): MemoryAws {
  const byFleet = new Map<string, SubscriptionRecord[]>();
  const byKey = new Map<string, SubscriptionRecord>();
  for (const subscription of [...state.subscriptions].sort((a, b) => a.id.localeCompare(b.id))) {
    const fleet = byFleet.get(subscription.fleetId) ?? [];
    fleet.push(subscription);
    byFleet.set(subscription.fleetId, fleet);
    byKey.set(`${subscription.fleetId}\0${subscription.id}`, subscription);
  }

  const answers = new Map<Function, Answer>([
    [GetCommand, async (input: { TableName: string; Key: { fleetId?: string; id: string } }) =>
      input.TableName === state.subscriptionsTable ? { Item: byKey.get(`${input.Key.fleetId}\0${input.Key.id}`) } : {}],
    [PutCommand, async () => ({})],
    [UpdateCommand, async (input: { TableName: string; Key: { fleetId?: string; id: string }; UpdateExpression?: string; ReturnValues?: string; ExpressionAttributeValues?: Record<string, unknown> }) => {
      // lastTriggeredAt is kept, as DynamoDB would, so the dispatcher writes it once a minute, not per delivery.
      if (input.TableName === state.subscriptionsTable && input.UpdateExpression === 'SET lastTriggeredAt = :at') {
        const stored = byKey.get(`${input.Key.fleetId}\0${input.Key.id}`);
        if (stored !== undefined) stored.lastTriggeredAt = input.ExpressionAttributeValues?.[':at'] as string;
      }
      // A claim asks for its round number; the failing clock for the state it leaves.
      return input.ReturnValues === 'UPDATED_NEW' ? { Attributes: { rounds: 1 } } : input.ReturnValues === 'ALL_NEW' ? { Attributes: { failingSince: input.ExpressionAttributeValues?.[':now'], consecutiveFailures: 1 } } : {};
    }],
    [QueryCommand, async (input: { TableName: string; Limit?: number; ExpressionAttributeValues?: Record<string, unknown>; ExclusiveStartKey?: { id?: string } }) => {
      if (input.TableName !== state.subscriptionsTable) return { Items: [] };
      const fleet = byFleet.get(String(input.ExpressionAttributeValues?.[':fleetId'])) ?? [];
      const after = input.ExclusiveStartKey?.id;
      const start = after === undefined ? 0 : fleet.findIndex((item) => item.id > after);
      const limit = input.Limit ?? fleet.length;
      const items = start < 0 ? [] : fleet.slice(start, start + limit);
      const last = items.at(-1);
      const more = start >= 0 && start + limit < fleet.length && last !== undefined;
      return { Items: items, ...(more ? { LastEvaluatedKey: { fleetId: last.fleetId, id: last.id } } : {}) };
    }],
    [SendMessageBatchCommand, async (input: SendMessageBatchCommandInput) => {
      state.onSendBatch?.(input);
      return {
        Successful: (input.Entries ?? []).map((entry, index) => ({ Id: entry.Id, MessageId: `bench-${index}`, MD5OfMessageBody: '' })),
        Failed: [],
      };
    }],
    [ChangeMessageVisibilityCommand, async () => ({})],
    [GetSecretValueCommand, async (input: { SecretId: string; VersionId?: string }) => {
      const value = state.secrets.get(input.SecretId);
      if (value === undefined) throw Object.assign(new Error('secret not found'), { name: 'ResourceNotFoundException' });
      return { ARN: input.SecretId, VersionId: input.VersionId, SecretString: value };
    }],
  ]);

  let counts = new Map<string, number>();
  const clients: Sendable[] = [DynamoDBDocumentClient, SQSClient, SecretsManagerClient] as unknown as Sendable[];
  const originals = clients.map((client) => Object.getOwnPropertyDescriptor(client.prototype, 'send'));
  for (const client of clients) {
    // An own property on each class shadows the send it inherits from the smithy Client.
    client.prototype.send = function send(command: Command): Promise<unknown> {
      const name = command.constructor.name;
      counts.set(name, (counts.get(name) ?? 0) + 1);
      const answer = answers.get(command.constructor);
      if (answer === undefined) return Promise.reject(new Error(`the benchmark's in-memory AWS has no answer for ${name}`));
      return answer(command.input as never);
    } as (...args: unknown[]) => unknown;
  }

  return {
    calls: () => Object.fromEntries(counts),
    reset: () => {
      counts = new Map();
    },
    restore: () => {
      clients.forEach((client, index) => {
        const original = originals[index];
        if (original === undefined) delete (client.prototype as { send?: unknown }).send;
        else Object.defineProperty(client.prototype, 'send', original);
      });
    },
  };
}
