import { readFileSync } from 'node:fs';
import { ApiError, runApiCommand } from './api-commands';
import { parseCliArgs, USAGE, UsageError, type CliCommand, type Target } from './args';
import { API_GROUPS, apiUsage, CONNECTION_HELP, parseApiCommand } from './commands';
import { connect, resolveConnection } from './connection';
import { TargetError } from './errors';
import type { OpenedStore } from './target';
import { runSecretsCli } from './secrets';
import { createToken, listTokens, revokeToken } from './tokens';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Injectable for tests; opens the real table by default. */
  open?: (target: Target) => Promise<OpenedStore>;
  now?: () => Date;
  /** Resolves when a long-running command (deliveries tail) should stop; SIGINT/SIGTERM by default. */
  interrupted?: Promise<void>;
}

const defaultIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export const OVERVIEW = `Usage: hookline <command> [options]

${apiUsage()}
  ${'tokens create|list|revoke'.padEnd(58)} API tokens (hookline tokens --help)
  ${'secrets rekey'.padEnd(58)} re-seal secrets after a key rotation (hookline secrets --help)

${CONNECTION_HELP}
Exit codes: 0 done, 1 the API or the service refused or failed (the reason is printed), 2 usage mistake.
hookline <command> --help shows a command's options; hookline --version prints the version.
`;

export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * \`hookline …\`: the API commands (webhooks, events, deliveries, replay, inbound-sources),
 * \`tokens create|list|revoke\` and \`secrets rekey\`. Returns the exit code: 0 done, 1 failed, 2 usage error.
 */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const [first] = argv;
  if (first === '--version' || first === '-v' || first === 'version') {
    io.stdout(`hookline ${cliVersion()}\n`);
    return EXIT.ok;
  }
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    io.stdout(OVERVIEW);
    return EXIT.ok;
  }
  const group = argv.find((arg) => !arg.startsWith('-'));
  if (group !== undefined && API_GROUPS.has(group)) return runApi(argv, group, io);
  if (group === 'secrets') return runSecretsCli(argv.slice(argv.indexOf('secrets') + 1), io);
  if (group !== 'token' && group !== 'tokens') {
    return usageError(io, `Unknown command ${JSON.stringify(group ?? first)}`, 'hookline --help');
  }
  return runTokens(argv, io);
}

function usageError(io: CliIo, message: string, help: string): number {
  io.stderr(`hookline: ${message}\nRun \`${help}\` for the commands and their options.\n`);
  return EXIT.usage;
}

async function runApi(argv: readonly string[], group: string, io: CliIo): Promise<number> {
  try {
    const parsed = parseApiCommand(argv);
    if ('help' in parsed) {
      io.stdout(parsed.help);
      return EXIT.ok;
    }
    const connection = resolveConnection(
      { api: parsed.values.api, token: parsed.values.token, dataDir: parsed.values['data-dir'] },
      io.env ?? process.env,
    );
    const tailing = parsed.spec.action === 'tail';
    const stop = tailing && io.interrupted === undefined ? interruption() : undefined;
    try {
      return await runApiCommand(parsed, connect(connection), {
        stdout: io.stdout,
        stderr: io.stderr,
        ...(io.now === undefined ? {} : { now: io.now }),
        ...((io.interrupted ?? stop?.promise) === undefined ? {} : { interrupted: (io.interrupted ?? stop?.promise) as Promise<void> }),
      }).catch((error: unknown) => {
        if (error instanceof TypeError && error.message === 'fetch failed') {
          throw new TargetError(`Cannot reach ${connection.description} (${describeCause(error)})`);
        }
        throw error;
      });
    } finally {
      stop?.dispose();
    }
  } catch (error) {
    if (error instanceof UsageError) return usageError(io, error.message, `hookline ${group} --help`);
    if (error instanceof ApiError) {
      const fields = error.details.map((detail) => `\n  ${detail.field}: ${detail.reason}`).join('');
      io.stderr(`hookline: ${error.message} (HTTP ${error.status})${fields}\n`);
      return EXIT.failed;
    }
    io.stderr(`hookline: ${describe(error)}\n`);
    return EXIT.failed;
  }
}

function describeCause(error: Error): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? error.message;
}

function interruption(): { promise: Promise<void>; dispose: () => void } {
  let onSignal = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    onSignal = () => resolve();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  return {
    promise,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

async function runTokens(argv: readonly string[], io: CliIo): Promise<number> {
  let command: CliCommand;
  try {
    command = parseCliArgs(argv, io.env ?? process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return usageError(io, error.message, 'hookline tokens --help');
  }
  if (command.command === 'help') {
    io.stdout(USAGE);
    return EXIT.ok;
  }

  let opened: OpenedStore | undefined;
  try {
    // Loaded only here: the AWS SDK and the DynamoDB stand-in are for token commands alone.
    const open = io.open ?? (await import('./target')).openTokensStore;
    opened = await open(command.target);
    return await run(command, opened, io);
  } catch (error) {
    io.stderr(`hookline: ${describe(error)}\n`);
    return 1;
  } finally {
    await opened?.close();
  }
}

async function run(command: Exclude<CliCommand, { command: 'help' }>, opened: OpenedStore, io: CliIo): Promise<number> {
  const { store, description } = opened;
  switch (command.command) {
    case 'token-create': {
      const created = await createToken(
        store,
        { fleets: command.fleets, ...(command.name === undefined ? {} : { name: command.name }) },
        io.now?.() ?? new Date(),
      );
      if (command.json) {
        io.stdout(`${JSON.stringify({ ...created.record, token: created.token })}\n`);
      } else {
        io.stdout(
          `Created ${created.record.id} in ${description} for ${fleetsText(created.record.fleets)}.\n` +
            `${created.token}\n` +
            'This is the only time the token is shown; Hookline keeps only its hash. Use it as "Authorization: Bearer <token>".\n',
        );
      }
      return 0;
    }
    case 'token-list': {
      const tokens = await listTokens(store);
      if (command.json) {
        io.stdout(`${JSON.stringify(tokens)}\n`);
      } else if (tokens.length === 0) {
        io.stdout(`No tokens in ${description}.\n`);
      } else {
        const rows = tokens.map((token) => [token.id, token.createdAt, fleetsText(token.fleets), token.name ?? '']);
        io.stdout(table([['ID', 'CREATED', 'FLEETS', 'NAME'], ...rows]));
      }
      return 0;
    }
    case 'token-revoke': {
      const deleted = await revokeToken(store, command.tokenId);
      if (command.json) io.stdout(`${JSON.stringify({ id: command.tokenId, revoked: deleted })}\n`);
      else if (deleted) io.stdout(`Revoked ${command.tokenId}; API instances stop accepting it within 5 seconds.\n`);
      else io.stderr(`hookline: no token ${command.tokenId} in ${description}\n`);
      return deleted ? 0 : 1;
    }
  }
}

function fleetsText(fleets: readonly string[]): string {
  return fleets.includes('*') ? 'all fleets' : `fleet${fleets.length === 1 ? '' : 's'} ${fleets.join(', ')}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n') + '\n';
}

function describe(error: unknown): string {
  if (error instanceof TargetError) return error.message;
  if (error instanceof Error) {
    if (error.name === 'ResourceNotFoundException') return `the tokens table was not found (${error.message})`;
    if (error.name === 'CredentialsProviderError') return `no AWS credentials (${error.message})`;
    return `${error.name}: ${error.message}`;
  }
  return String(error);
}
