import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCliArgs, UsageError } from '../../../cli/args';
import { runCli } from '../../../cli/hookline';
import { pickTokensTable, type OpenedStore } from '../../../cli/target';
import type { TokenRecord } from '../../../lambdas/core/records';
import { parseApiToken, tokenSecretMatches } from '../../../lambdas/core/secrets';
import type { TokensStore } from '../../../lambdas/shared/tokens-store';

const TOKEN_ID = 'tok_01HX0000000000000000000000';

describe('parseCliArgs', () => {
  it.each([
    [['token', 'create', '--fleet', 'a', '--fleet', 'b', '--table', 'T'], { command: 'token-create', fleets: ['a', 'b'], target: { kind: 'table', table: 'T' }, json: false }],
    [['token', 'create', '--all-fleets', '--name', 'ops', '--stack', 'Prod', '--region', 'eu-west-1'], { command: 'token-create', fleets: ['*'], name: 'ops', target: { kind: 'stack', stack: 'Prod', outputPrefix: '', region: 'eu-west-1' } }],
    [['token', 'list', '--local'], { command: 'token-list', target: { kind: 'local', dataDir: '.hookline' } }],
    [['token', 'list', '--local', '--endpoint', 'http://127.0.0.1:4567', '--json'], { command: 'token-list', json: true, target: { kind: 'local', dataDir: '.hookline', endpoint: 'http://127.0.0.1:4567' } }],
    [['token', 'revoke', TOKEN_ID, '--stack', 'S', '--output-prefix', 'Blue'], { command: 'token-revoke', tokenId: TOKEN_ID, target: { kind: 'stack', stack: 'S', outputPrefix: 'Blue' } }],
    [['--help'], { command: 'help' }],
    [[], { command: 'help' }],
  ])('%j', (argv, expected) => {
    expect(parseCliArgs(argv, {})).toMatchObject(expected);
  });

  it('takes the target from the environment when no flag names one', () => {
    expect(parseCliArgs(['token', 'list'], { HOOKLINE_TOKENS_TABLE: 'from-env' })).toMatchObject({ target: { kind: 'table', table: 'from-env' } });
    expect(parseCliArgs(['token', 'list', '--local'], { HOOKLINE_DATA_DIR: '/d', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:1' })).toMatchObject({
      target: { kind: 'local', dataDir: '/d', endpoint: 'http://127.0.0.1:1' },
    });
  });

  it('dedupes repeated fleets', () => {
    expect(parseCliArgs(['token', 'create', '--fleet', 'a', '--fleet', 'a', '--local'], {})).toMatchObject({ fleets: ['a'] });
  });

  it.each([
    [['token', 'create', '--table', 'T'], /--fleet/],
    [['token', 'create', '--fleet', 'a', '--all-fleets', '--table', 'T'], /not both/],
    [['token', 'create', '--fleet', '*', '--table', 'T'], /--all-fleets/],
    [['token', 'create', '--fleet', 'bad fleet', '--table', 'T'], /not a fleet id/],
    [['token', 'create', '--fleet', 'a', '--name', '', '--table', 'T'], /--name/],
    [['token', 'create', '--fleet', 'a', '--region', 'eu-west-1'], /--region goes with --stack or --table/],
    [['token', 'create', '--fleet', 'a', '--table', 'T', '--local'], /one target/],
    [['token', 'list', '--table', 'T', '--endpoint', 'http://x'], /go with --local/],
    [['token', 'list', '--table', 'T', '--fleet', 'a'], /go with token create/],
    [['token', 'revoke', '--table', 'T'], /token id/],
    [['token', 'revoke', 'abc', '--table', 'T'], /not a token id/],
    [['token', 'rotate', '--table', 'T'], /Unknown tokens command/],
    [['tokenz', 'list'], /Unknown command/],
    [['token', 'list', '--table', 'T', '--bogus'], /bogus/],
    [['token', 'list', 'extra', '--table', 'T'], /Unexpected argument/],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseCliArgs(argv, {})).toThrow(UsageError);
    expect(() => parseCliArgs(argv, {})).toThrow(message);
  });
});

describe('pickTokensTable', () => {
  const outputs = [
    { OutputKey: 'ApiUrl', OutputValue: 'https://x' },
    { OutputKey: 'TokensTableName', OutputValue: 'Prod-Tokens-1' },
  ];
  it('finds the output, with or without a prefix', () => {
    expect(pickTokensTable('S', '', outputs)).toBe('Prod-Tokens-1');
    expect(pickTokensTable('S', 'Blue', [{ OutputKey: 'BlueTokensTableName', OutputValue: 'b' }, { OutputKey: 'GreenTokensTableName', OutputValue: 'g' }])).toBe('b');
  });
  it('refuses ambiguity and absence with a way out', () => {
    expect(() => pickTokensTable('S', '', [{ OutputKey: 'BlueTokensTableName', OutputValue: 'b' }, { OutputKey: 'GreenTokensTableName', OutputValue: 'g' }])).toThrow(/--output-prefix/);
    expect(() => pickTokensTable('S', '', [{ OutputKey: 'ApiUrl', OutputValue: 'x' }])).toThrow(/--table/);
  });
});

/** A tokens table in memory behind the store's interface, recording every call. */
function fakeStore() {
  const records = new Map<string, TokenRecord>();
  const calls: string[] = [];
  const store = {
    async create(record: TokenRecord) {
      calls.push(`create ${record.id}`);
      records.set(record.id, record);
    },
    async list(options: { limit: number; cursor?: string }) {
      calls.push(`list ${options.cursor ?? ''}`);
      const all = [...records.values()].map(({ secretHash: _h, ...rest }) => rest);
      const start = options.cursor === undefined ? 0 : Number(options.cursor);
      const items = all.slice(start, start + 1);
      return { items, ...(start + 1 < all.length ? { nextCursor: String(start + 1) } : {}) };
    },
    async delete(id: string) {
      calls.push(`delete ${id}`);
      return records.delete(id);
    },
  };
  let closed = 0;
  const opened = (): Promise<OpenedStore> =>
    Promise.resolve({ store: store as unknown as TokensStore, description: 'test table', close: async () => void (closed += 1) });
  return { records, calls, opened, closedCount: () => closed };
}

function io(store: ReturnType<typeof fakeStore>) {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), env: {}, open: store.opened, now: () => new Date('2024-05-10T12:00:00Z') } };
}

describe('runCli', () => {
  it('create prints the token once and stores only its hash', async () => {
    const store = fakeStore();
    const { out, io: cli } = io(store);
    expect(await runCli(['token', 'create', '--fleet', 'acme', '--name', 'ci', '--table', 'T'], cli)).toBe(0);
    const [record] = [...store.records.values()];
    const printed = out.join('');
    const token = /hlk_\S+/.exec(printed)?.[0] as string;
    const parsed = parseApiToken(token);
    expect(parsed?.tokenId).toBe(record!.id);
    expect(record).toEqual({ id: record!.id, secretHash: expect.stringMatching(/^[0-9a-f]{64}$/), fleets: ['acme'], name: 'ci', createdAt: '2024-05-10T12:00:00.000Z' });
    expect(tokenSecretMatches(parsed!.secret, record!.secretHash)).toBe(true);
    expect(JSON.stringify(record)).not.toContain(parsed!.secret);
    expect(printed).not.toContain(record!.secretHash);
    expect(printed.match(/hlk_/g)).toHaveLength(1);
    expect(store.closedCount()).toBe(1);
  });

  it('--all-fleets grants *; --json prints a parseable object', async () => {
    const store = fakeStore();
    const { out, io: cli } = io(store);
    await runCli(['token', 'create', '--all-fleets', '--json', '--table', 'T'], cli);
    const result = JSON.parse(out.join(''));
    expect(result).toMatchObject({ fleets: ['*'], token: expect.stringMatching(/^hlk_tok_/) });
    expect(result).not.toHaveProperty('secretHash');
  });

  it('list walks every page and never shows hashes; revoke deletes; unknown id exits 1', async () => {
    const store = fakeStore();
    const { out, err, io: cli } = io(store);
    await runCli(['token', 'create', '--fleet', 'a', '--table', 'T'], cli);
    await runCli(['token', 'create', '--all-fleets', '--table', 'T'], cli);
    out.length = 0;
    expect(await runCli(['token', 'list', '--table', 'T'], cli)).toBe(0);
    const listing = out.join('');
    for (const id of store.records.keys()) expect(listing).toContain(id);
    expect(listing).toContain('all fleets');
    expect(listing).not.toMatch(/[0-9a-f]{64}/);
    expect(store.calls.filter((c) => c.startsWith('list'))).toEqual(['list ', 'list 1']);

    const [first] = store.records.keys();
    expect(await runCli(['token', 'revoke', first as string, '--table', 'T'], cli)).toBe(0);
    expect(store.records.has(first as string)).toBe(false);
    expect(await runCli(['token', 'revoke', first as string, '--table', 'T'], cli)).toBe(1);
    expect(err.join('')).toContain('no token');
  });

  it('usage errors exit 2 with one line and a hint, and open nothing', async () => {
    const store = fakeStore();
    const { err, io: cli } = io(store);
    expect(await runCli(['token', 'create'], cli)).toBe(2);
    expect(err.join('').trim().split('\n')).toEqual([
      expect.stringMatching(/^hookline: token create needs --fleet/),
      'Run `hookline tokens --help` for the commands and their options.',
    ]);
    expect(store.calls).toEqual([]);
  });

  it('without a target, tokens go to local mode (HOOKLINE_DATA_DIR); "tokens" and "token" are the same command', () => {
    expect(parseCliArgs(['tokens', 'list'], {})).toMatchObject({ command: 'token-list', target: { kind: 'local', dataDir: '.hookline' } });
    expect(parseCliArgs(['tokens', 'create', '--fleet', 'a'], { HOOKLINE_DATA_DIR: '/data' })).toMatchObject({ target: { kind: 'local', dataDir: '/data' } });
  });

  it('store failures exit 1 with the reason and still close the store', async () => {
    const store = fakeStore();
    const { err, io: cli } = io(store);
    const failing = async (): Promise<OpenedStore> => {
      const opened = await store.opened();
      return { ...opened, store: { ...opened.store, list: async () => Promise.reject(Object.assign(new Error('Requested resource not found'), { name: 'ResourceNotFoundException' })) } as unknown as TokensStore };
    };
    expect(await runCli(['token', 'list', '--table', 'Nope'], { ...cli, open: failing })).toBe(1);
    expect(err.join('')).toContain('tokens table was not found');
    expect(store.closedCount()).toBe(1);
  });

  it('works against a local data directory end to end', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hookline-cli-'));
    try {
      const out: string[] = [];
      const cli = { stdout: (t: string) => out.push(t), stderr: (t: string) => out.push(t), env: {} };
      expect(await runCli(['token', 'create', '--fleet', 'acme', '--local', '--data-dir', dir, '--json'], cli)).toBe(0);
      const created = JSON.parse(out.join(''));
      out.length = 0;
      expect(await runCli(['token', 'list', '--local', '--data-dir', dir, '--json'], cli)).toBe(0);
      expect(JSON.parse(out.join(''))).toEqual([{ id: created.id, fleets: ['acme'], createdAt: created.createdAt }]);
      out.length = 0;
      expect(await runCli(['token', 'revoke', created.id, '--local', '--data-dir', dir], cli)).toBe(0);
      out.length = 0;
      await runCli(['token', 'list', '--local', '--data-dir', dir, '--json'], cli);
      expect(JSON.parse(out.join(''))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
