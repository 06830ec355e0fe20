import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TABLE_SCHEMAS, TOKENS_TABLE } from '../lambdas/core/table-schema';
import { TokensStore, type TokensStorePort } from '../lambdas/shared/tokens-store';
import { ensureTables, startDynamoDb, tableName } from '../local/dynamodb';
import { readInstanceFile } from '../local/instance-file';
import type { Target } from './args';
import { TargetError } from './errors';

/** Local mode's table prefix (local/runtime.ts default). */
const LOCAL_NAME_PREFIX = 'hookline';
const LOCAL_CLIENT = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
const TOKENS_OUTPUT = 'TokensTableName';

export interface OpenedStore {
  store: TokensStorePort;
  /** Where the tokens are, for the user to read. */
  description: string;
  close(): Promise<void>;
}

export { TargetError };

/** Opens the tokens table a target names; the caller closes it. */
export async function openTokensStore(target: Target): Promise<OpenedStore> {
  switch (target.kind) {
    case 'table':
      return remote(target.table, target.region, `table ${target.table}`);
    case 'stack':
      return remote(await tokensTableOfStack(target), target.region, `stack ${target.stack}`);
    case 'local': {
      if (target.endpoint !== undefined) return local(target.endpoint);
      // A running `npm start` holds the data directory's lock: go through its DynamoDB stand-in.
      const running = readInstanceFile(target.dataDir);
      if (running === undefined) return openDataDir(target.dataDir);
      if (running.dynamoDbEndpoint === undefined) {
        throw new TargetError(`The Hookline running on ${target.dataDir} is older than this CLI: restart \`npm start\` and try again`);
      }
      return local(running.dynamoDbEndpoint, `the running local Hookline (${target.dataDir})`);
    }
  }
}

function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

function remote(table: string, region: string | undefined, description: string): OpenedStore {
  const client = new DynamoDBClient(region === undefined ? {} : { region });
  return { store: new TokensStore(documentClient(client), table), description, close: async () => client.destroy() };
}

function local(endpoint: string, description = `local mode at ${endpoint}`): OpenedStore {
  quietLocalSdk();
  const client = new DynamoDBClient({ ...LOCAL_CLIENT, endpoint });
  const table = tableName(LOCAL_NAME_PREFIX, TOKENS_TABLE);
  return { store: new TokensStore(documentClient(client), table), description, close: async () => client.destroy() };
}

/**
 * The SDK's notice about its future Node.js baseline concerns deployed use; talking to local
 * stand-ins it is noise (`npm start` silences it the same way). Remote targets keep it.
 */
function quietLocalSdk(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

/**
 * Opens local mode's DynamoDB data directly, when no `npm start` runs on it (LevelDB allows one
 * process per directory; a running instance is reached through its endpoint instead).
 */
async function openDataDir(dataDir: string): Promise<OpenedStore> {
  quietLocalSdk();
  let standIn;
  try {
    standIn = await startDynamoDb({ path: `${dataDir.replace(/\/+$/, '')}/dynamodb` });
  } catch (error) {
    throw new TargetError(
      `Cannot open ${dataDir}/dynamodb (${error instanceof Error ? error.message : String(error)}). Is another ` +
        'process using this data directory?',
    );
  }
  const client = new DynamoDBClient({ ...LOCAL_CLIENT, endpoint: standIn.endpoint });
  try {
    await ensureTables(client, LOCAL_NAME_PREFIX, TABLE_SCHEMAS);
  } catch (error) {
    client.destroy();
    await standIn.close();
    throw new TargetError(`Cannot use the tables in ${dataDir}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return {
    store: new TokensStore(documentClient(client), tableName(LOCAL_NAME_PREFIX, TOKENS_TABLE)),
    description: `local data directory ${dataDir}`,
    close: async () => {
      client.destroy();
      await standIn.close();
    },
  };
}

async function tokensTableOfStack(target: Extract<Target, { kind: 'stack' }>): Promise<string> {
  const client = new CloudFormationClient(target.region === undefined ? {} : { region: target.region });
  try {
    const result = await client.send(new DescribeStacksCommand({ StackName: target.stack }));
    return pickTokensTable(target.stack, target.outputPrefix, result.Stacks?.[0]?.Outputs ?? []);
  } finally {
    client.destroy();
  }
}

/** The stack's `<prefix>TokensTableName` output; without a prefix, the only output ending so. */
export function pickTokensTable(stack: string, prefix: string, outputs: readonly { OutputKey?: string; OutputValue?: string }[]): string {
  const wanted = `${prefix}${TOKENS_OUTPUT}`;
  const exact = outputs.find((output) => output.OutputKey === wanted);
  const candidates = exact !== undefined ? [exact] : prefix === '' ? outputs.filter((o) => o.OutputKey?.endsWith(TOKENS_OUTPUT)) : [];
  if (candidates.length === 1 && candidates[0]?.OutputValue) return candidates[0].OutputValue;
  if (candidates.length > 1) {
    const keys = candidates.map((c) => c.OutputKey).join(', ');
    throw new TargetError(`Stack ${stack} has several Hookline services (${keys}); choose one with --output-prefix`);
  }
  throw new TargetError(`Stack ${stack} has no ${wanted} output; is it a Hookline stack? (or pass --table)`);
}
