import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createHooklineClient, type HooklineClient } from '../client';
import { GENERATED_TOKEN_FILE } from '../local/dev-token';
import { readInstanceFile } from '../local/instance-file';
import { UsageError } from './args';
import { localDataDir, nonEmpty } from './data-dir';
import { TargetError } from './errors';

export interface ConnectionFlags {
  api?: string;
  token?: string;
  dataDir?: string;
}

export interface Connection {
  baseUrl: string;
  token: string;
  /** Where the CLI is talking to, for messages. */
  description: string;
}

/**
 * Which API to call. `--api` (or HOOKLINE_API) names a deployed stack, with `--token` (or
 * HOOKLINE_TOKEN). Otherwise the local instance of the data directory (`--data-dir`,
 * HOOKLINE_DATA_DIR, default .hookline/) is found through the instance file `npm start` writes,
 * with its development token unless one is given.
 */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv): Connection {
  const token = nonEmpty(flags.token) ?? nonEmpty(env.HOOKLINE_TOKEN);
  const api = nonEmpty(flags.api) ?? nonEmpty(env.HOOKLINE_API);
  if (api !== undefined) {
    let url: URL;
    try {
      url = new URL(api);
    } catch {
      throw new UsageError(`--api ${JSON.stringify(api)} is not a URL (the stack's ApiUrl output, e.g. https://abc123.execute-api.us-east-1.amazonaws.com/v1)`);
    }
    if (token === undefined) throw new UsageError('--api needs a token: pass --token <token> or set HOOKLINE_TOKEN');
    return { baseUrl: url.href.replace(/\/+$/, ''), token, description: url.host };
  }
  const dataDir = resolve(localDataDir(nonEmpty(flags.dataDir), env));
  const instance = readInstanceFile(dataDir);
  if (instance === undefined) {
    throw new TargetError(
      `No local Hookline is running on ${dataDir}. Start one with \`npm start\` (same HOOKLINE_DATA_DIR), ` +
        'or pass --api <url> --token <token> for a deployed stack.',
    );
  }
  return { baseUrl: instance.apiUrl, token: token ?? localToken(dataDir, instance.tokenSource), description: `local ${instance.apiUrl}` };
}

function localToken(dataDir: string, source: string | undefined): string {
  if (source === 'HOOKLINE_TOKEN') {
    throw new TargetError('This local Hookline was started with HOOKLINE_TOKEN: set HOOKLINE_TOKEN here too, or pass --token <token>.');
  }
  const file = join(dataDir, GENERATED_TOKEN_FILE);
  if (!existsSync(file)) throw new TargetError(`No development token in ${file}: pass --token <token>`);
  return readFileSync(file, 'utf8').trim();
}

export function connect(connection: Connection): HooklineClient {
  return createHooklineClient({ baseUrl: connection.baseUrl, token: connection.token });
}
