import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';

/**
 * SDK clients for a handler module to create once at module scope. Endpoints and credentials come
 * from the SDK's own environment variables, which is how local mode points them at its stand-ins.
 */
export function createDocumentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

export function createSqsClient(): SQSClient {
  return new SQSClient({});
}

export function createSecretsClient(): SecretsManagerClient {
  return new SecretsManagerClient({});
}

export function createEventBridgeClient(): EventBridgeClient {
  return new EventBridgeClient({});
}
