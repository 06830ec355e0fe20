import { parseCliArgs, USAGE, UsageError, type CliCommand, type Target } from './args';
import { runSecretsCli } from './secrets';
import { openTokensStore, TargetError, type OpenedStore } from './target';
import { createToken, listTokens, revokeToken } from './tokens';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Injectable for tests; opens the real table by default. */
  open?: (target: Target) => Promise<OpenedStore>;
  now?: () => Date;
}

const defaultIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/**
 * `hookline token create|list|revoke`. Returns the exit code: 0 done, 1 failed (AWS or table
 * errors), 2 usage error. The token is printed once; only its hash is stored.
 */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  // `hookline secrets …` (rekey) parses its own arguments: see cli/secrets.ts.
  if (argv[0] === 'secrets') return runSecretsCli(argv.slice(1), io);
  let command: CliCommand;
  try {
    command = parseCliArgs(argv, io.env ?? process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`hookline: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (command.command === 'help') {
    io.stdout(USAGE);
    return 0;
  }

  let opened: OpenedStore | undefined;
  try {
    opened = await (io.open ?? openTokensStore)(command.target);
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
