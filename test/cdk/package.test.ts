import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/paths';

// The construct as a consumer gets it: `npm pack` (which builds the package), the tarball
// installed offline into a fresh CDK app, and that app synthesized with no credentials, no
// esbuild on the path and none of this repository's TypeScript sources.
const PACKAGE_DIR = join(PROJECT_ROOT, 'packages', 'construct');
const HANDLERS = ['api', 'fanout', 'dispatcher'];
const PACK_TIMEOUT_MS = 480_000;
const ROOT_MANIFEST = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8'));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeout ?? 240_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

let work: string;
let tarball: string;
let packedFiles: string[];
let app: string;

/** A consumer's environment: node alone on PATH (no npx, no esbuild), no AWS credentials or profile. */
function consumerEnv(outdir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: dirname(process.execPath),
    HOME: work,
    CDK_OUTDIR: outdir,
    CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:enable-asset-metadata': true }),
  };
  return env;
}

/**
 * A TypeScript app using the public surface. The @ts-expect-error lines fail the compile if a
 * declaration the package ships degrades to `any` (a missing module does that under skipLibCheck).
 */
const CONSUMER_TS = `import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Role, AccountRootPrincipal } from 'aws-cdk-lib/aws-iam';
import { WebhookService, parseHooklineContext, type HooklineContext, type WebhookServiceProps } from '@hookline/cdk';

const app = new App();
const stack = new Stack(app, 'Consumer');
const context: HooklineContext = parseHooklineContext({ dispatcherTimeoutSeconds: 60 });
const props: WebhookServiceProps = {
  eventSource: 'acme.orders',
  maxAttempts: 5,
  removalPolicy: RemovalPolicy.DESTROY,
  dispatcherTimeout: Duration.seconds(context.dispatcherTimeoutSeconds ?? 60),
};
const webhooks = new WebhookService(stack, 'Webhooks', props);
webhooks.grantRedrive(new Role(stack, 'Operator', { assumedBy: new AccountRootPrincipal() }));
const seconds: number | undefined = context.dispatcherTimeoutSeconds;
// @ts-expect-error a runtime setting keeps its type
const wrongSetting: WebhookServiceProps = { maxAttempts: 'nine' };
// @ts-expect-error the context keeps its type
const wrongContext: HooklineContext = { dispatcherTimeoutSeconds: 'sixty' };
void [seconds, wrongSetting, wrongContext];
app.synth();
`;

/** A CDK app's compiler options (node16/nodenext resolution honours the exports map), every declaration checked. */
const CONSUMER_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    types: ['node'],
  },
  // consumer.ts is CommonJS (the app's package.json has no "type"), consumer.mts an ES module.
  files: ['consumer.ts', 'consumer.mts'],
};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'hookline-pack-'));
  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: PACKAGE_DIR, timeout: PACK_TIMEOUT_MS });
  if (packed.code !== 0) throw new Error(`npm pack failed: ${packed.stderr}`);
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  tarball = join(work, info!.filename);
  packedFiles = info!.files.map((f) => f.path);

  // Offline, the tarball's dependency cannot be resolved from the registry: `npm ci` caches
  // tarballs but not the registry's version lists a range like ^4 is resolved against
  // (ENOTCACHED). So the registry's answer is played by this repository's installed copy,
  // packed and installed beside the construct, which then satisfies the construct's range.
  const dependencyTarballs: string[] = [];
  for (const dependency of Object.keys(JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')).dependencies ?? {})) {
    const copy = await run('npm', ['pack', '--json', '--pack-destination', work, join(PROJECT_ROOT, 'node_modules', dependency)], { cwd: work });
    if (copy.code !== 0) throw new Error(`npm pack of ${dependency} failed: ${copy.stderr}`);
    dependencyTarballs.push(join(work, (JSON.parse(copy.stdout.slice(copy.stdout.indexOf('['))) as { filename: string }[])[0]!.filename));
  }

  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer-app', version: '1.0.0', private: true }));
  // Its peers are not fetched (--legacy-peer-deps).
  const installed = await run(
    'npm',
    ['install', '--offline', '--ignore-scripts', '--legacy-peer-deps', '--no-audit', '--no-fund', '--no-package-lock', ...dependencyTarballs, tarball],
    { cwd: app },
  );
  if (installed.code !== 0) throw new Error(`npm install of the tarball failed: ${installed.stderr}`);
  // The peers come from this repository's node_modules, as if the app had installed them; so
  // does @types/node, which every TypeScript CDK app has.
  for (const peer of ['aws-cdk-lib', 'constructs']) symlinkSync(join(PROJECT_ROOT, 'node_modules', peer), join(app, 'node_modules', peer), 'dir');
  mkdirSync(join(app, 'node_modules', '@types'), { recursive: true });
  symlinkSync(join(PROJECT_ROOT, 'node_modules', '@types', 'node'), join(app, 'node_modules', '@types', 'node'), 'dir');
  const usage = [
    "const app = new App();",
    "const stack = new Stack(app, 'Consumer');",
    "const webhooks = new WebhookService(stack, 'Webhooks', { eventSource: 'acme.orders' });",
    'webhooks.addOutputs();',
    'app.synth();',
  ].join('\n');
  writeFileSync(
    join(app, 'app.cjs'),
    `const { App, Stack } = require('aws-cdk-lib');\nconst { WebhookService } = require('@hookline/cdk');\n${usage}\n`,
  );
  writeFileSync(join(app, 'consumer.ts'), CONSUMER_TS);
  writeFileSync(join(app, 'consumer.mts'), CONSUMER_TS);
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(CONSUMER_TSCONFIG));
  writeFileSync(join(app, 'app.mjs'), `import { App, Stack } from 'aws-cdk-lib';\nimport { WebhookService } from '@hookline/cdk';\n${usage}\n`);
}, PACK_TIMEOUT_MS + 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('npm pack of the construct', () => {
  it('ships compiled code, declarations and one prebuilt minified bundle per function, and no TypeScript sources', () => {
    for (const name of HANDLERS) expect(packedFiles).toContain(`dist/assets/${name}/index.js`);
    expect(packedFiles).toEqual(expect.arrayContaining(['package.json', 'dist/index.mjs', 'dist/index.cjs', 'dist/types/lib/index.d.ts']));
    expect(packedFiles.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules', '@hookline', 'cdk', 'package.json'), 'utf8'));
    expect(manifest.peerDependencies).toMatchObject({ 'aws-cdk-lib': expect.any(String), constructs: expect.any(String) });
    // zod only: the declarations of the settings props and the context are zod types.
    expect(manifest.dependencies).toEqual({ zod: ROOT_MANIFEST.dependencies.zod });
    expect(manifest.private).toBeUndefined();
  });

  it('installs without esbuild or tsx: nothing but the package and its peers in the app', () => {
    for (const absent of ['esbuild', 'tsx', 'typescript', '.bin/esbuild']) expect(existsSync(join(app, 'node_modules', absent)), absent).toBe(false);
  });

  it("a TypeScript app over the package's declarations compiles with every declaration checked", async () => {
    const tsc = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app, timeout: 300_000 });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  }, 300_000);

  for (const entry of ['app.cjs', 'app.mjs']) {
    it(`a fresh CDK app (${entry}) synthesizes it with no credentials and no esbuild, deploying the prebuilt bundles`, async () => {
      const outdir = join(work, `out-${entry}`);
      const result = await run(process.execPath, [entry], { cwd: app, env: consumerEnv(outdir) });
      expect(result.stderr).not.toMatch(/esbuild|docker/i);
      expect(result.code, result.stderr).toBe(0);
      const template = JSON.parse(readFileSync(join(outdir, 'Consumer.template.json'), 'utf8'));
      const functions = Object.values(template.Resources as Record<string, any>).filter((r) => r.Type === 'AWS::Lambda::Function');
      expect(functions).toHaveLength(3);
      for (const fn of functions) {
        expect(fn.Properties.Handler).toBe('index.handler');
        const asset = join(outdir, fn.Metadata['aws:asset:path']);
        const code = readFileSync(join(asset, 'index.js'), 'utf8');
        // Minified: long lines, a source map beside it.
        expect(code.length / code.split('\n').length).toBeGreaterThan(1_000);
        expect(statSync(join(asset, 'index.js.map')).size).toBeGreaterThan(0);
      }
      // Exactly the packaged bundles, not something bundled at synth time.
      const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
      const deployed = functions.map((fn) => sha(join(outdir, fn.Metadata['aws:asset:path'], 'index.js'))).sort();
      const packaged = HANDLERS.map((name) => sha(join(app, 'node_modules', '@hookline', 'cdk', 'dist', 'assets', name, 'index.js'))).sort();
      expect(deployed).toEqual(packaged);
      expect(Object.keys(template.Outputs)).toEqual(expect.arrayContaining(['ApiUrl', 'EventBusName', 'TokensTableName']));
      expect(JSON.stringify(template)).toContain('acme.orders');
    }, 240_000);
  }
});
