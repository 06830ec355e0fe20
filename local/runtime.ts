import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import {
  defaultDispatcherTimeoutSeconds,
  parseDeploymentSettings,
  type DeploymentSettings,
  type DeploymentSettingsInput,
} from '../lambdas/core/settings';
import { TABLE_SCHEMAS, type TableSchema } from '../lambdas/core/table-schema';
import { ENV } from '../lambdas/shared/environment';
import { lockDataDir } from './data-dir-lock';
import { ensureTables, startDynamoDb } from './dynamodb';
import { startEventBridge, type EventBridgeEvent } from './eventbridge';
import { defaultLogger, describeError, type LocalLogger } from './logger';
import { createHooklineQueues, type HooklineQueues } from './queues';
import { ensureSealingKey, sealingKeySecretName } from './sealing-key';
import { startSecretsManager } from './secrets-manager';
import { startSqs } from './sqs';

/** Dispatcher invocations at once in local mode (the pipeline's pollers), unless the caller sets its own. */
export const DEFAULT_DISPATCHER_POLLERS = 2;

export interface LocalRuntimeOptions {
  /**
   * Keeps tables (`<dataDir>/dynamodb`), secrets (`<dataDir>/secrets.json`) and queue messages
   * (`<dataDir>/sqs.json`) across restarts; in memory when absent.
   */
  dataDir?: string;
  /** In-flight messages per queue the local SQS allows (past it, long polls return nothing); default 120,000 as on AWS. */
  sqsInFlightLimit?: number;
  settings?: DeploymentSettingsInput;
  region?: string;
  /** Visibility timeouts; default six times the construct's 60 s function timeouts, as deployed. */
  queueVisibilitySeconds?: { events?: number; deliveries?: number };
  /** Name prefix of the key ring secret (`<prefix>sealing-key`), as the construct's secretPrefix; default `hookline/local/`. */
  secretPrefix?: string;
  /** Tables, queues and the bus are named `<namePrefix>-…`; default `hookline`. */
  namePrefix?: string;
  logger?: LocalLogger;
}

export interface LocalRuntime {
  /** What the handlers need: Hookline's variables, region, dummy credentials, SDK endpoint variables. */
  readonly env: Readonly<Record<string, string>>;
  readonly settings: DeploymentSettings;
  readonly region: string;
  readonly queues: Readonly<HooklineQueues>;
  readonly tables: Readonly<{ subscriptions: string; events: string; deliveries: string; tokens: string; inboundSources: string }>;
  /** The Hookline bus, where PutEvents with `source` = settings.eventSource reaches the events queue. */
  readonly eventBus: Readonly<{ name: string; arn: string }>;
  /** Events accepted on the Hookline bus that its rule does not route (operator events among them), newest last. */
  unroutedEvents(): readonly EventBridgeEvent[];
  readonly endpoints: Readonly<{ dynamodb: string; sqs: string; secretsManager: string; eventBridge: string }>;
  /** Copies `env` into `process.env`. SDK clients read their endpoint on their first call, so apply it before that. */
  applyEnv(): void;
  /** Closes every stand-in; idempotent. */
  stop(): Promise<void>;
}

/** The construct's default function timeout (60 s) times its visibility factor (6). */
const DEFAULT_VISIBILITY_SECONDS = 360;
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * Starts DynamoDB (dynalite), SQS, Secrets Manager and EventBridge stand-ins on free
 * loopback ports and creates Hookline's tables, queues and bus rule in them. It starts no Hookline
 * handler: callers wire those to the queues with startEventSourceMapping.
 *
 * One runtime per dataDir at a time (a lock file guards it).
 * Kept across restarts with a dataDir: tables and items, secrets, queue messages (visible, delayed
 * and in flight, which become visible again when their visibility timeout ends). Not emulated:
 * DynamoDB TTL (items never expire locally).
 */
export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const settings = parseDeploymentSettings(options.settings ?? {});
  const region = options.region ?? 'us-east-1';
  const namePrefix = options.namePrefix ?? 'hookline';
  const secretPrefix = options.secretPrefix ?? 'hookline/local/';
  const logger = options.logger ?? defaultLogger;
  const clientConfig = { region, credentials: LOCAL_CREDENTIALS };

  // Closed last-started first: the EventBridge stand-in before the SQS client it routes with.
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (error) {
        logger.warn(`local runtime: a stand-in did not close cleanly: ${describeError(error)}`);
      }
    }
    closers.length = 0;
  };

  try {
    if (options.dataDir !== undefined) {
      await mkdir(options.dataDir, { recursive: true });
      closers.push(await lockDataDir(options.dataDir));
    }

    const [dynamo, sqsServer] = await Promise.all([
      startDynamoDb(options.dataDir === undefined ? {} : { path: join(options.dataDir, 'dynamodb') }),
      startSqs({
        region,
        logger,
        ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
        ...(options.sqsInFlightLimit === undefined ? {} : { inFlightLimit: options.sqsInFlightLimit }),
      }),
    ]);
    closers.push(dynamo.close, sqsServer.close);
    const secrets = await startSecretsManager({
      region,
      logger,
      ...(options.dataDir === undefined ? {} : { filePath: join(options.dataDir, 'secrets.json') }),
    });
    closers.push(secrets.close);

    const dynamoClient = new DynamoDBClient({ ...clientConfig, endpoint: dynamo.endpoint });
    const sqs = new SQSClient({ ...clientConfig, endpoint: sqsServer.endpoint });
    closers.push(async () => {
      dynamoClient.destroy();
      sqs.destroy();
    });

    const secretsClient = new SecretsManagerClient({ ...clientConfig, endpoint: secrets.endpoint });
    const sealingKeySecret = sealingKeySecretName(secretPrefix);
    // Alongside the tables and queues rather than after them: start-up time is what a developer waits for.
    const sealingKeyReady = ensureSealingKey(secretsClient, sealingKeySecret).finally(() => secretsClient.destroy());
    sealingKeyReady.catch(() => undefined);
    const [tableNames, queues] = await Promise.all([
      ensureTables(dynamoClient, namePrefix, TABLE_SCHEMAS),
      createHooklineQueues(sqs, {
        namePrefix,
        deliveriesMaxReceiveCount: settings.deliveriesMaxReceiveCount,
        visibilitySeconds: {
          events: options.queueVisibilitySeconds?.events ?? DEFAULT_VISIBILITY_SECONDS,
          // Six times the dispatcher's timeout, which follows the longest attempt the settings allow.
          deliveries:
            options.queueVisibilitySeconds?.deliveries ?? Math.max(DEFAULT_VISIBILITY_SECONDS, 6 * defaultDispatcherTimeoutSeconds(settings)),
        },
      }),
    ]);
    logger.debug('local runtime: dynalite has no TTL; items with expiresAt are kept until deleted');

    const busName = `${namePrefix}-bus`;
    const eventBridge = await startEventBridge({
      region,
      busName,
      eventSource: settings.eventSource,
      sqs,
      targetQueueUrl: queues.eventsUrl,
      logger,
    });
    closers.push(eventBridge.close);

    const table = (name: TableSchema['logicalName']): string => {
      const found = tableNames.get(name);
      if (found === undefined) throw new Error(`table ${name} was not created`);
      return found;
    };
    const tables = {
      subscriptions: table('Subscriptions'),
      events: table('Events'),
      deliveries: table('Deliveries'),
      tokens: table('Tokens'),
      inboundSources: table('InboundSources'),
    };
    await sealingKeyReady;
    const endpoints = { dynamodb: dynamo.endpoint, sqs: sqsServer.endpoint, secretsManager: secrets.endpoint, eventBridge: eventBridge.endpoint };
    const env: Record<string, string> = {
      [ENV.subscriptionsTable]: tables.subscriptions,
      [ENV.eventsTable]: tables.events,
      [ENV.deliveriesTable]: tables.deliveries,
      [ENV.tokensTable]: tables.tokens,
      [ENV.inboundSourcesTable]: tables.inboundSources,
      [ENV.eventsQueueUrl]: queues.eventsUrl,
      [ENV.deliveriesQueueUrl]: queues.deliveriesUrl,
      [ENV.sealingKeySecret]: sealingKeySecret,
      [ENV.settings]: JSON.stringify(settings),
      [ENV.eventBusName]: busName,
      // Local mode's default number of dispatcher pollers; startPipeline sets its own.
      [ENV.dispatcherConcurrency]: String(DEFAULT_DISPATCHER_POLLERS),
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_SQS: endpoints.sqs,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoints.secretsManager,
      AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.eventBridge,
      // A developer's own setting must not send the handlers, with dummy credentials, to real AWS.
      AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'false',
      POWERTOOLS_METRICS_NAMESPACE: 'Hookline',
      // No X-Ray daemon locally.
      POWERTOOLS_TRACE_ENABLED: 'false',
    };

    let stopping: Promise<void> | undefined;
    return {
      env,
      settings,
      region,
      queues,
      tables,
      eventBus: { name: busName, arn: eventBridge.busArn },
      unroutedEvents: () => eventBridge.unrouted(),
      endpoints,
      applyEnv: () => {
        Object.assign(process.env, env);
      },
      stop: () => {
        stopping ??= closeAll();
        return stopping;
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
