import type { Server } from 'node:http';
import { createAwsJsonServer, type AwsJsonInput } from './aws-json-server';
import { readJsonFile, writeJsonFileAtomically } from './json-file';
import { closeServer, listenOnLoopback } from './listen';
import { defaultLogger, type LocalLogger } from './logger';
import { SecretsManagerState, type SecretEntry } from './secrets-manager-state';

export interface SecretsManagerStandInOptions {
  region: string;
  /** JSON file the secrets are kept in across restarts; in memory only when absent. */
  filePath?: string;
  logger?: LocalLogger;
}

export interface SecretsManagerStandIn {
  /** `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_SECRETS_MANAGER`. */
  readonly endpoint: string;
  close(): Promise<void>;
}

const FILE_FORMAT = 1;
const MAX_BODY_BYTES = 1_048_576;

interface SecretsFile {
  format: typeof FILE_FORMAT;
  secrets: SecretEntry[];
}

/**
 * Secrets Manager on the AWS JSON 1.1 protocol: CreateSecret, GetSecretValue, PutSecretValue,
 * DeleteSecret, DescribeSecret, RestoreSecret, ListSecrets. With a file, every change is written before it is
 * acknowledged, so an acknowledged secret survives a restart.
 */
export async function startSecretsManager(options: SecretsManagerStandInOptions): Promise<SecretsManagerStandIn> {
  const { filePath } = options;
  const entries = filePath === undefined ? [] : await loadSecrets(filePath);
  const state = new SecretsManagerState(options.region, entries);

  let writes: Promise<void> = Promise.resolve();
  const persist = (): Promise<void> => {
    if (filePath === undefined) return Promise.resolve();
    // Chained so writes land in order; each one snapshots the state when its turn comes.
    writes = writes
      .catch(() => undefined)
      .then(() => writeJsonFileAtomically(filePath, { format: FILE_FORMAT, secrets: state.snapshot() } satisfies SecretsFile));
    return writes;
  };
  const mutating =
    (operation: (input: AwsJsonInput) => unknown) =>
    async (input: AwsJsonInput): Promise<unknown> => {
      const result = operation(input);
      await persist();
      return result;
    };

  const server: Server = createAwsJsonServer({
    targetPrefix: 'secretsmanager',
    maxBodyBytes: MAX_BODY_BYTES,
    logger: options.logger ?? defaultLogger,
    operations: {
      CreateSecret: mutating((input) => state.createSecret(input)),
      PutSecretValue: mutating((input) => state.putSecretValue(input)),
      DeleteSecret: mutating((input) => state.deleteSecret(input)),
      RestoreSecret: mutating((input) => state.restoreSecret(input)),
      GetSecretValue: (input) => state.getSecretValue(input),
      DescribeSecret: (input) => state.describeSecret(input),
      ListSecrets: (input) => state.listSecrets(input),
    },
  });
  const endpoint = await listenOnLoopback(server);
  return {
    endpoint,
    close: async () => {
      await closeServer(server);
      await writes.catch(() => undefined);
    },
  };
}

async function loadSecrets(filePath: string): Promise<SecretEntry[]> {
  const content = await readJsonFile(filePath);
  if (content === undefined) return [];
  const file = content as Partial<SecretsFile>;
  if (file.format !== FILE_FORMAT || !Array.isArray(file.secrets)) {
    throw new Error(`${filePath} is not a Hookline local secrets file (format ${FILE_FORMAT})`);
  }
  return file.secrets;
}
