import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ENV } from '../lambdas/shared/environment';
import { InboundSourcesStore } from '../lambdas/shared/inbound-sources-store';
import { SealingKeys } from '../lambdas/shared/sealing-keys';
import { SubscriptionsStore } from '../lambdas/shared/subscriptions-store';
import { startLocalRuntime } from '../local/runtime';
import { localDataDir } from './data-dir';
import { rekeyAll, type RekeyStores } from './rekey';

export const SECRETS_USAGE = `Usage: hookline secrets rekey [target] [options]

Re-seals every webhook's signing secret and every inbound source's credentials under the newest
version of the key ring (after a key rotation; see the README). Idempotent: what is already on
the newest version is skipped.

Target (one of):
  --stack <name> [--output-prefix <p>]  a deployed stack: its SubscriptionsTableName,
                                        InboundSourcesTableName and SealingKeySecretArn outputs
  --table <name> --secret <arn|name>    the subscriptions table and the key ring secret, and
    [--inbound-table <name>]            optionally the inbound sources table
                                        (AWS_ENDPOINT_URL_DYNAMODB / _SECRETS_MANAGER are honoured)
  --local [--data-dir <dir>]            local mode's data directory (default HOOKLINE_DATA_DIR or
                                        .hookline/), while \`npm start\` is not running on it

Options:
  --region <region>   AWS region (default: the SDK's)
  -h, --help          this text
`;

export interface SecretsCliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env?: NodeJS.ProcessEnv;
}

interface Opened {
  stores: RekeyStores;
  keys: SealingKeys;
  description: string;
  close(): Promise<void>;
}

type Values = {
  stack?: string;
  'output-prefix'?: string;
  table?: string;
  'inbound-table'?: string;
  secret?: string;
  local?: boolean;
  'data-dir'?: string;
  region?: string;
};

/** `hookline secrets …`; returns the exit code (0 done, 1 failed, 2 usage). */
export async function runSecretsCli(argv: readonly string[], io: SecretsCliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        stack: { type: 'string' },
        'output-prefix': { type: 'string' },
        table: { type: 'string' },
        'inbound-table': { type: 'string' },
        secret: { type: 'string' },
        local: { type: 'boolean' },
        'data-dir': { type: 'string' },
        region: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    io.stderr(`hookline: ${error instanceof Error ? error.message : String(error)}\n\n${SECRETS_USAGE}`);
    return 2;
  }
  if (parsed.values.help === true) {
    io.stdout(SECRETS_USAGE);
    return 0;
  }
  const usage = usageProblem(parsed.positionals, parsed.values);
  if (usage !== undefined) {
    io.stderr(`hookline: ${usage}\n\n${SECRETS_USAGE}`);
    return 2;
  }

  let opened: Opened | undefined;
  try {
    opened = await open(parsed.values, io.env ?? process.env);
    io.stdout(`Re-sealing secrets in ${opened.description}…\n`);
    const result = await rekeyAll(opened.stores, opened.keys, {
      onPage: (p) => io.stdout(`  ${p.scanned} scanned: ${p.resealed} re-sealed, ${p.current} already current, ${p.failed.length} failed\n`),
    });
    for (const failure of result.failed) io.stderr(`hookline: ${failure.kind} ${failure.fleetId}/${failure.id}: ${failure.reason}\n`);
    io.stdout(
      `Done: ${result.scanned} scanned, ${result.resealed} re-sealed, ${result.current} already current, ` +
        `${result.gone} deleted meanwhile, ${result.failed.length} failed.\n`,
    );
    return result.failed.length === 0 ? 0 : 1;
  } catch (error) {
    io.stderr(`hookline: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
    return 1;
  } finally {
    await opened?.close();
  }
}

function usageProblem(positionals: readonly string[], values: Values): string | undefined {
  const targets = [values.stack, values.table ?? values.secret, values.local].filter((value) => value !== undefined);
  if (positionals.length !== 1 || positionals[0] !== 'rekey') return 'the command is `hookline secrets rekey`';
  if (targets.length !== 1) return 'name exactly one target: --stack, --table with --secret, or --local';
  if ((values.table === undefined) !== (values.secret === undefined)) return '--table and --secret go together';
  if (values['inbound-table'] !== undefined && values.table === undefined) return '--inbound-table goes with --table and --secret';
  return undefined;
}

async function open(values: Values, env: NodeJS.ProcessEnv): Promise<Opened> {
  if (values.local === true) {
    const dataDir = localDataDir(values['data-dir'], env);
    const quiet = () => undefined;
    const runtime = await startLocalRuntime({ dataDir, logger: { debug: quiet, info: quiet, warn: quiet, error: quiet } });
    const config = { region: runtime.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
    return connect(
      new DynamoDBClient({ ...config, endpoint: runtime.endpoints.dynamodb }),
      new SecretsManagerClient({ ...config, endpoint: runtime.endpoints.secretsManager }),
      { subscriptions: runtime.tables.subscriptions, inbound: runtime.tables.inboundSources, secret: runtime.env[ENV.sealingKeySecret] as string },
      `local data directory ${dataDir}`,
      () => runtime.stop(),
    );
  }
  const region = values.region === undefined ? {} : { region: values.region };
  const names =
    values.stack !== undefined
      ? await stackOutputs(values.stack, values['output-prefix'] ?? '', values.region)
      : { subscriptions: values.table as string, secret: values.secret as string, ...(values['inbound-table'] === undefined ? {} : { inbound: values['inbound-table'] }) };
  return connect(new DynamoDBClient(region), new SecretsManagerClient(region), names, `table ${names.subscriptions}`, async () => undefined);
}

function connect(
  dynamo: DynamoDBClient,
  secrets: SecretsManagerClient,
  names: { subscriptions: string; inbound?: string; secret: string },
  description: string,
  stop: () => Promise<void>,
): Opened {
  const doc = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  return {
    stores: {
      subscriptions: new SubscriptionsStore(doc, names.subscriptions),
      ...(names.inbound === undefined ? {} : { inboundSources: new InboundSourcesStore(doc, names.inbound) }),
    },
    // A fresh loader: the newest key version is read now, not cached from anywhere.
    keys: new SealingKeys(secrets, names.secret),
    description,
    close: async () => {
      dynamo.destroy();
      secrets.destroy();
      await stop();
    },
  };
}

async function stackOutputs(stack: string, prefix: string, region: string | undefined): Promise<{ subscriptions: string; inbound: string; secret: string }> {
  const client = new CloudFormationClient(region === undefined ? {} : { region });
  try {
    const outputs = (await client.send(new DescribeStacksCommand({ StackName: stack }))).Stacks?.[0]?.Outputs ?? [];
    const pick = (name: string): string => {
      const found = outputs.filter((output) => output.OutputKey === `${prefix}${name}` || (prefix === '' && output.OutputKey?.endsWith(name)));
      if (found.length !== 1 || found[0]?.OutputValue === undefined) {
        throw new Error(`stack ${stack} has ${found.length === 0 ? 'no' : 'several'} ${prefix}${name} output(s); pass --output-prefix or --table/--secret`);
      }
      return found[0].OutputValue;
    };
    return { subscriptions: pick('SubscriptionsTableName'), inbound: pick('InboundSourcesTableName'), secret: pick('SealingKeySecretArn') };
  } finally {
    client.destroy();
  }
}
