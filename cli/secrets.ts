import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SubscriptionRecord } from '../lambdas/core/records';
import { keyVersionsOf, openSigningSecrets, sealSigningSecrets, SealedSecretError, type KeyRing } from '../lambdas/core/sealed-secrets';
import { SigningKeys } from '../lambdas/shared/signing-secrets';
import { SubscriptionsStore } from '../lambdas/shared/subscriptions-store';
import { startLocalRuntime } from '../local/runtime';

export const SECRETS_USAGE = `Usage: hookline secrets rekey [target] [options]

Re-seals every subscription's signing secret under the newest version of the signing key
(after a key rotation; see the README). Idempotent: subscriptions already on it are skipped.

Target (one of):
  --stack <name> [--output-prefix <p>]  a deployed stack: its SubscriptionsTableName and
                                        SigningKeySecretArn outputs
  --table <name> --secret <arn|name>    the subscriptions table and the signing-key secret
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

export interface RekeyProgress {
  scanned: number;
  resealed: number;
  /** Already sealed under the newest key version. */
  current: number;
  /** Deleted between the scan and the write. */
  gone: number;
  /** Could not be opened (altered, or sealed under a key the ring no longer holds). */
  failed: { fleetId: string; id: string; reason: string }[];
}

/** Rounds for one subscription whose secret a concurrent rotation changed under us. */
const MAX_ATTEMPTS = 3;

/**
 * Walks every subscription and re-seals its secrets under the ring's newest key. A concurrent
 * rotation wins (the write is conditional on the sealed value read) and the subscription is read
 * again. A previous secret past its grace period is dropped on the way: it signs nothing.
 */
export async function rekeySubscriptions(
  store: SubscriptionsStore,
  keys: SigningKeys,
  options: { now?: () => Date; onPage?: (progress: Readonly<RekeyProgress>) => void; pageSize?: number } = {},
): Promise<RekeyProgress> {
  const progress: RekeyProgress = { scanned: 0, resealed: 0, current: 0, gone: 0, failed: [] };
  const ring = await keys.ringForSealing();
  for await (const page of store.scanAll(options.pageSize)) {
    for (const record of page) {
      progress.scanned += 1;
      await rekeyOne(store, keys, ring, record, progress, options.now?.() ?? new Date());
    }
    options.onPage?.(progress);
  }
  return progress;
}

async function rekeyOne(
  store: SubscriptionsStore,
  keys: SigningKeys,
  ring: KeyRing,
  first: SubscriptionRecord,
  progress: RekeyProgress,
  now: Date,
): Promise<void> {
  let record: SubscriptionRecord | undefined = first;
  for (let attempt = 0; attempt < MAX_ATTEMPTS && record !== undefined; attempt += 1) {
    const expired = record.previousSecretExpiresAt !== undefined && !(Date.parse(record.previousSecretExpiresAt) > now.getTime());
    let value;
    try {
      if (!expired && keyVersionsOf(record).every((version) => version === ring.current)) {
        progress.current += 1;
        return;
      }
      value = openSigningSecrets(await keys.ringFor(keyVersionsOf(record)), record);
    } catch (error) {
      if (!(error instanceof SealedSecretError)) throw error;
      progress.failed.push({ fleetId: record.fleetId, id: record.id, reason: error.message });
      return;
    }
    if (expired) value = { current: value.current };
    const result = await store.replaceSecret(record.fleetId, record.id, record.sealedSecret, sealSigningSecrets(ring, record.fleetId, record.id, value), undefined);
    if (result === 'missing') {
      progress.gone += 1;
      return;
    }
    if (result !== 'changed') {
      progress.resealed += 1;
      return;
    }
    record = await store.get(record.fleetId, record.id, true);
  }
  if (record === undefined) progress.gone += 1;
  else progress.failed.push({ fleetId: record.fleetId, id: record.id, reason: 'kept changing under concurrent rotations; run rekey again' });
}

interface Opened {
  store: SubscriptionsStore;
  keys: SigningKeys;
  description: string;
  close(): Promise<void>;
}

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
  const { values, positionals } = parsed;
  const targets = [values.stack, values.table ?? values.secret, values.local].filter((value) => value !== undefined);
  const usage = positionals.length !== 1 || positionals[0] !== 'rekey'
    ? 'the command is `hookline secrets rekey`'
    : targets.length !== 1
      ? 'name exactly one target: --stack, --table with --secret, or --local'
      : (values.table === undefined) !== (values.secret === undefined)
        ? '--table and --secret go together'
        : undefined;
  if (usage !== undefined) {
    io.stderr(`hookline: ${usage}\n\n${SECRETS_USAGE}`);
    return 2;
  }

  let opened: Opened | undefined;
  try {
    opened = await open(values, io.env ?? process.env);
    io.stdout(`Re-sealing signing secrets in ${opened.description}…\n`);
    const result = await rekeySubscriptions(opened.store, opened.keys, {
      onPage: (p) => io.stdout(`  ${p.scanned} scanned: ${p.resealed} re-sealed, ${p.current} already current, ${p.failed.length} failed\n`),
    });
    for (const failure of result.failed) io.stderr(`hookline: ${failure.fleetId}/${failure.id}: ${failure.reason}\n`);
    io.stdout(
      `Done: ${result.scanned} subscriptions, ${result.resealed} re-sealed, ${result.current} already current, ` +
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

type Values = { stack?: string; 'output-prefix'?: string; table?: string; secret?: string; local?: boolean; 'data-dir'?: string; region?: string };

async function open(values: Values, env: NodeJS.ProcessEnv): Promise<Opened> {
  const region = values.region === undefined ? {} : { region: values.region };
  if (values.local === true) {
    const dataDir = values['data-dir'] ?? env.HOOKLINE_DATA_DIR ?? '.hookline';
    const runtime = await startLocalRuntime({ dataDir, logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } });
    const config = { region: runtime.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
    return connect(
      new DynamoDBClient({ ...config, endpoint: runtime.endpoints.dynamodb }),
      new SecretsManagerClient({ ...config, endpoint: runtime.endpoints.secretsManager }),
      runtime.tables.subscriptions,
      runtime.signingKeySecretArn,
      `local data directory ${dataDir}`,
      () => runtime.stop(),
    );
  }
  let table = values.table;
  let secret = values.secret;
  if (values.stack !== undefined) {
    ({ table, secret } = await stackOutputs(values.stack, values['output-prefix'] ?? '', values.region));
  }
  return connect(new DynamoDBClient(region), new SecretsManagerClient(region), table as string, secret as string, `table ${table}`, async () => undefined);
}

function connect(
  dynamo: DynamoDBClient,
  secrets: SecretsManagerClient,
  table: string,
  secret: string,
  description: string,
  stop: () => Promise<void>,
): Opened {
  const doc = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  return {
    store: new SubscriptionsStore(doc, table),
    // A fresh loader: the newest key version is read now, not cached from anywhere.
    keys: new SigningKeys(secrets, secret),
    description,
    close: async () => {
      dynamo.destroy();
      secrets.destroy();
      await stop();
    },
  };
}

async function stackOutputs(stack: string, prefix: string, region: string | undefined): Promise<{ table: string; secret: string }> {
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
    return { table: pick('SubscriptionsTableName'), secret: pick('SigningKeySecretArn') };
  } finally {
    client.destroy();
  }
}
