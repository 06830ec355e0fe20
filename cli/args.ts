import { parseArgs } from 'node:util';
import { isId } from '../lambdas/core/ids';
import { localDataDir, nonEmpty } from './data-dir';

/** Fleet ids as the API accepts them in paths. */
const FLEET_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_NAME_LENGTH = 200;

/** Where the tokens table is. */
export type Target =
  | { kind: 'table'; table: string; region?: string }
  | { kind: 'stack'; stack: string; outputPrefix: string; region?: string }
  /** `endpoint` unset: the running instance's (instance file), or the data directory opened directly. */
  | { kind: 'local'; dataDir: string; endpoint?: string };

export type CliCommand =
  | { command: 'help' }
  | { command: 'token-create'; target: Target; fleets: string[]; name?: string; json: boolean }
  | { command: 'token-list'; target: Target; json: boolean }
  | { command: 'token-revoke'; target: Target; tokenId: string; json: boolean };

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `Usage: hookline tokens <command> [target] [options]   (or: hookline token …)

Commands:
  tokens create --fleet <id> [--fleet <id>…] [--name <name>]  a token for these fleets
  tokens create --all-fleets [--name <name>]                  a token for every fleet
  tokens list                                                 tokens (never their secrets)
  tokens revoke <tok_id>                                      delete a token; it stops working within 5 s

Target (one of; local mode when none is given):
  --stack <name> [--output-prefix <p>]  a deployed stack: reads its TokensTableName output
  --table <name>                        the tokens table by name (or HOOKLINE_TOKENS_TABLE)
  --local [--data-dir <dir>] [--endpoint <url>]
                                        local mode, HOOKLINE_DATA_DIR (default .hookline/): a running
                                        \`npm start\` is found through its instance file; when none
                                        runs, the data directory is opened directly

Options:
  --region <region>   AWS region (default: the SDK's, e.g. AWS_REGION or your profile)
  --json              machine-readable output
  -h, --help          this text
`;

/** Parses `hookline …` arguments (without `node` and the script). Throws UsageError with a reason. */
export function parseCliArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CliCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        fleet: { type: 'string', multiple: true },
        'all-fleets': { type: 'boolean' },
        name: { type: 'string' },
        table: { type: 'string' },
        stack: { type: 'string' },
        'output-prefix': { type: 'string' },
        local: { type: 'boolean' },
        'data-dir': { type: 'string' },
        endpoint: { type: 'string' },
        region: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help === true || positionals.length === 0) return { command: 'help' };

  const [group, action, ...rest] = positionals;
  if (group !== 'token' && group !== 'tokens') throw new UsageError(`Unknown command "${group}"`);
  const json = values.json === true;

  switch (action) {
    case 'create': {
      noExtra(rest);
      const fleets = values.fleet ?? [];
      if (values['all-fleets'] === true && fleets.length > 0) throw new UsageError('Give either --fleet <id>… or --all-fleets, not both');
      if (values['all-fleets'] !== true && fleets.length === 0) throw new UsageError('token create needs --fleet <id> (repeatable) or --all-fleets');
      for (const fleet of fleets) {
        if (fleet === '*') throw new UsageError('Use --all-fleets for a token that grants every fleet');
        if (!FLEET_ID.test(fleet)) throw new UsageError(`--fleet ${JSON.stringify(fleet)} is not a fleet id (1-128 of A-Z a-z 0-9 . _ : -)`);
      }
      const name = values.name;
      if (name !== undefined && (name.length === 0 || name.length > MAX_NAME_LENGTH)) {
        throw new UsageError(`--name must be 1-${MAX_NAME_LENGTH} characters`);
      }
      return {
        command: 'token-create',
        target: target(values, env),
        fleets: values['all-fleets'] === true ? ['*'] : [...new Set(fleets)],
        ...(name === undefined ? {} : { name }),
        json,
      };
    }
    case 'list':
      noExtra(rest);
      refuseCreateOptions(values);
      return { command: 'token-list', target: target(values, env), json };
    case 'revoke': {
      const [tokenId, ...more] = rest;
      if (tokenId === undefined) throw new UsageError('token revoke needs the token id (tok_…), as shown by token list');
      noExtra(more);
      refuseCreateOptions(values);
      if (!isId('tok', tokenId)) throw new UsageError(`${JSON.stringify(tokenId)} is not a token id (tok_ followed by 26 characters)`);
      return { command: 'token-revoke', target: target(values, env), tokenId, json };
    }
    default:
      throw new UsageError(action === undefined ? 'tokens needs a command: create, list or revoke' : `Unknown tokens command "${action}"`);
  }
}

type Values = {
  fleet?: string[];
  'all-fleets'?: boolean;
  name?: string;
  table?: string;
  stack?: string;
  'output-prefix'?: string;
  local?: boolean;
  'data-dir'?: string;
  endpoint?: string;
  region?: string;
};

function target(values: Values, env: NodeJS.ProcessEnv): Target {
  const chosen = [values.table !== undefined, values.stack !== undefined, values.local === true].filter(Boolean).length;
  if (chosen > 1) throw new UsageError('Choose one target: --stack, --table or --local');
  const region = values.region === undefined ? {} : { region: values.region };
  if (values.local !== true && (values['data-dir'] !== undefined || values.endpoint !== undefined)) {
    throw new UsageError('--data-dir and --endpoint go with --local');
  }
  if (values.stack === undefined && values['output-prefix'] !== undefined) throw new UsageError('--output-prefix goes with --stack');
  if (values.local === true) {
    if (values.region !== undefined) throw new UsageError('--region does not apply to --local');
    const endpoint = values.endpoint ?? nonEmpty(env.AWS_ENDPOINT_URL_DYNAMODB);
    return {
      kind: 'local',
      dataDir: localDataDir(values['data-dir'], env),
      ...(endpoint === undefined ? {} : { endpoint }),
    };
  }
  if (values.stack !== undefined) {
    return { kind: 'stack', stack: values.stack, outputPrefix: values['output-prefix'] ?? '', ...region };
  }
  const table = values.table ?? nonEmpty(env.HOOKLINE_TOKENS_TABLE);
  if (table === undefined) {
    if (values.region !== undefined) throw new UsageError('--region goes with --stack or --table');
    return { kind: 'local', dataDir: localDataDir(undefined, env) };
  }
  return { kind: 'table', table, ...region };
}

function refuseCreateOptions(values: Values): void {
  if (values.fleet !== undefined || values['all-fleets'] === true || values.name !== undefined) {
    throw new UsageError('--fleet, --all-fleets and --name go with token create');
  }
}

function noExtra(rest: readonly string[]): void {
  if (rest.length > 0) throw new UsageError(`Unexpected argument ${JSON.stringify(rest[0])}`);
}
