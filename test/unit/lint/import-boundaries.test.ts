import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The import boundaries of biome.jsonc, checked on files written for the purpose: each case is a
 * file at a path of the source tree with one import, linted with the repository's own config.
 */
const repo = resolve(__dirname, '../../..');
const biome = join(repo, 'node_modules/.bin/biome');

const cases: { path: string; from: string; allowed: boolean }[] = [
  { path: 'lambdas/core/a.ts', from: '@aws-sdk/client-dynamodb', allowed: false },
  { path: 'lambdas/core/b.ts', from: '@aws-sdk/lib-dynamodb', allowed: false },
  { path: 'lambdas/core/c.ts', from: '@aws-lambda-powertools/logger', allowed: false },
  { path: 'lambdas/core/d.ts', from: 'aws-cdk-lib', allowed: false },
  { path: 'lambdas/core/e.ts', from: '../shared/clients', allowed: false },
  { path: 'lambdas/core/inbound/f.ts', from: '../../shared/clients', allowed: false },
  { path: 'lambdas/core/g.ts', from: './records', allowed: true },
  { path: 'lambdas/core/inbound/h.ts', from: '../ids', allowed: true },
  { path: 'lambdas/core/i.ts', from: 'zod', allowed: true },
  { path: 'lambdas/api/a.ts', from: '../dispatcher/wiring', allowed: false },
  { path: 'lambdas/api/b.ts', from: '../fanout/messages', allowed: false },
  { path: 'lambdas/api/c.ts', from: '../../local/runtime', allowed: false },
  { path: 'lambdas/api/d.ts', from: '../shared/clients', allowed: true },
  { path: 'lambdas/api/e.ts', from: '../core/records', allowed: true },
  { path: 'lambdas/dispatcher/a.ts', from: '../api/deps', allowed: false },
  { path: 'lambdas/dispatcher/b.ts', from: '../fanout/fanout', allowed: false },
  { path: 'lambdas/dispatcher/c.ts', from: '../../local/queues', allowed: false },
  { path: 'lambdas/dispatcher/d.ts', from: '@aws-sdk/client-sqs', allowed: true },
  { path: 'lambdas/fanout/a.ts', from: '../api/publish', allowed: false },
  { path: 'lambdas/fanout/b.ts', from: '../dispatcher/message', allowed: false },
  { path: 'lambdas/fanout/c.ts', from: '../shared/replay', allowed: true },
  { path: 'lambdas/shared/a.ts', from: '../api/deps', allowed: false },
  { path: 'lambdas/shared/b.ts', from: '../../local/dynamodb', allowed: false },
  { path: 'lambdas/shared/c.ts', from: '../core/settings', allowed: true },
  // A package's own folders are not this repository's: only relative paths are boundaries.
  { path: 'lambdas/shared/d.ts', from: 'undici/lib/api/api-request.js', allowed: true },
  { path: 'lambdas/core/j.ts', from: 'some-parser/lib/shared/util.js', allowed: true },
  { path: 'lambdas/fanout/d.ts', from: 'some-package/local/thing', allowed: true },
  { path: 'local/a.ts', from: '../lambdas/api/wiring', allowed: true },
];

interface Diagnostic {
  category: string;
  location: { path: string };
}

describe('import boundaries (biome.jsonc)', () => {
  let dir: string;
  let flagged: Set<string>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hookline-lint-'));
    copyFileSync(join(repo, 'biome.jsonc'), join(dir, 'biome.jsonc'));
    for (const { path, from } of cases) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), `import { x } from '${from}';\nexport const y = x;\n`);
    }
    // Exit status 1 means "diagnostics found"; the JSON report is on stdout either way.
    let out: string;
    try {
      out = execFileSync(biome, ['lint', '--vcs-enabled=false', '--reporter=json', '.'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      out = (error as { stdout: string }).stdout;
    }
    const report = JSON.parse(out) as { diagnostics: Diagnostic[] };
    flagged = new Set(
      report.diagnostics.filter((d) => d.category === 'lint/style/noRestrictedImports').map((d) => d.location.path),
    );
  }, 60_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(cases)('$path importing $from: allowed $allowed', ({ path, allowed }) => {
    expect(flagged.has(path)).toBe(!allowed);
  });
});
