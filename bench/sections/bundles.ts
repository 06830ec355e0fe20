import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { ENV } from '../../lambdas/shared/environment';
import { lambdaBuildOptions } from '../../lib/bundling';
import type { BenchOptions } from '../options';
import { PROJECT_ROOT } from '../paths';
import { figure, type Figure } from '../results';
import type { SectionOutcome } from '../section';
import { median } from '../stats';

/**
 * Section 3: each Lambda bundle as `cdk deploy` builds it, its size and its module-load time in
 * fresh node processes, against a floor bundle built the same way that only creates the AWS SDK
 * clients the handler uses.
 */

const HANDLERS = ['api', 'fanout', 'dispatcher'] as const;
type HandlerName = (typeof HANDLERS)[number];

/** The bar for a handler's module-load time relative to its SDK-only floor. */
const LOAD_TARGET = 1.15;
const LOAD_TIMEOUT_MS = 30_000;

/** The esbuild options the CDK derives from lib/functions.ts FUNCTION_BUNDLING (nothing external: the SDK is bundled). */
export const STACK_BUNDLING: BuildOptions = lambdaBuildOptions('lambda');
/** The construct's function environment adds this to every function. */
const NODE_OPTIONS_OF_STACK = ['--enable-source-maps'];

/** How a floor bundle creates each SDK client it finds in a handler's bundle. */
const CLIENT_CONSTRUCTION: Record<string, { imports: string; create: string }> = {
  'client-dynamodb': { imports: "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';", create: 'new DynamoDBClient({})' },
  'lib-dynamodb': {
    imports: "import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';",
    create: 'DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } })',
  },
  'client-sqs': { imports: "import { SQSClient } from '@aws-sdk/client-sqs';", create: 'new SQSClient({})' },
  'client-secrets-manager': { imports: "import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';", create: 'new SecretsManagerClient({})' },
  'client-eventbridge': { imports: "import { EventBridgeClient } from '@aws-sdk/client-eventbridge';", create: 'new EventBridgeClient({})' },
};

interface BundleMeasure {
  bytes: number;
  mapBytes: number;
  loadMs: number[];
}

interface HandlerResult {
  handler: HandlerName;
  clients: string[];
  bundle: BundleMeasure;
  floor: BundleMeasure;
  /** Output bytes the handler adds over the floor, by package, largest first. */
  additions: { name: string; bytes: number }[];
}

export async function runBundleSection(options: BenchOptions): Promise<SectionOutcome> {
  const dir = await mkdtemp(join(tmpdir(), 'hookline-bench-bundles-'));
  try {
    const results: HandlerResult[] = [];
    for (const handler of HANDLERS) results.push(await measureHandler(dir, handler, options.coldRuns));
    return report(results, options.coldRuns);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function measureHandler(dir: string, handler: HandlerName, runs: number): Promise<HandlerResult> {
  const outfile = join(dir, handler, 'index.js');
  const { metafile } = await build({
    ...STACK_BUNDLING,
    entryPoints: [join(PROJECT_ROOT, 'lambdas', handler, 'handler.ts')],
    outfile,
    absWorkingDir: PROJECT_ROOT,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = outputInputs(metafile);
  const clients = sdkClientsOf(inputs);
  const floorFile = join(dir, `${handler}-floor`, 'index.js');
  const floorBuild = await build({
    ...STACK_BUNDLING,
    stdin: { contents: floorSource(clients), resolveDir: PROJECT_ROOT, sourcefile: `${handler}-floor.ts`, loader: 'ts' },
    outfile: floorFile,
    absWorkingDir: PROJECT_ROOT,
    logLevel: 'silent',
    metafile: true,
  });
  const floorPackages = new Map(packageShares(outputInputs(floorBuild.metafile)).map(({ name, bytes }) => [name, bytes]));
  const bundle: BundleMeasure = { ...(await sizes(outfile)), loadMs: [] };
  const floor: BundleMeasure = { ...(await sizes(floorFile)), loadMs: [] };
  // Interleaved, so a burst of load on the machine hits both sides alike.
  for (let run = 0; run < runs; run += 1) {
    bundle.loadMs.push(await loadTime(outfile, handler));
    floor.loadMs.push(await loadTime(floorFile, `${handler}-floor`));
  }
  // What the handler adds on top of the floor, by package: where a smaller cold start would come from.
  const additions = packageShares(inputs)
    .map(({ name, bytes }) => ({ name, bytes: bytes - (floorPackages.get(name) ?? 0) }))
    .filter((entry) => entry.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes);
  return { handler, clients, bundle, floor, additions };
}

/** Bytes each input contributed to the output file, by input path. */
function outputInputs(metafile: Metafile): Map<string, number> {
  const [output] = Object.values(metafile.outputs).filter((entry) => entry.entryPoint !== undefined);
  if (output === undefined) throw new Error('esbuild reported no output for the entry point');
  return new Map(Object.entries(output.inputs).map(([path, input]) => [path, input.bytesInOutput]));
}

/** The @aws-sdk client packages (and lib-dynamodb) whose code ended up in the bundle, not just parsed. */
function sdkClientsOf(inputs: Map<string, number>): string[] {
  const found = new Set<string>();
  for (const [input, bytes] of inputs) {
    const match = /node_modules\/@aws-sdk\/((?:client-[a-z0-9-]+)|lib-dynamodb)\//.exec(input);
    if (match?.[1] !== undefined && bytes > 0) found.add(match[1]);
  }
  if (found.has('lib-dynamodb')) found.add('client-dynamodb');
  for (const name of found) {
    if (CLIENT_CONSTRUCTION[name] === undefined) {
      throw new Error(`a handler bundles @aws-sdk/${name}, which the floor bundle does not know how to create; add it to CLIENT_CONSTRUCTION`);
    }
  }
  return [...found].sort();
}

/** Output bytes per package (or `lambdas/…` for Hookline's own code), largest first. */
function packageShares(inputs: Map<string, number>): { name: string; bytes: number }[] {
  const totals = new Map<string, number>();
  for (const [input, bytes] of inputs) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    const name = match?.[1] ?? (input.startsWith('lambdas/') ? 'Hookline (lambdas/)' : input);
    totals.set(name, (totals.get(name) ?? 0) + bytes);
  }
  return [...totals].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

/** A module that creates (and exports, so tree-shaking keeps them) the same clients, nothing else. */
function floorSource(clients: readonly string[]): string {
  const parts = clients.map((name) => CLIENT_CONSTRUCTION[name] as { imports: string; create: string });
  const created = clients.filter((name) => !(name === 'client-dynamodb' && clients.includes('lib-dynamodb')));
  return [
    ...parts.map((part) => part.imports),
    `export const clients = [${created.map((name) => CLIENT_CONSTRUCTION[name]?.create).join(', ')}];`,
    'export const handler = async () => clients.length;',
  ].join('\n');
}

async function sizes(file: string): Promise<{ bytes: number; mapBytes: number }> {
  const [code, map] = await Promise.all([stat(file), stat(`${file}.map`)]);
  return { bytes: code.size, mapBytes: map.size };
}

/**
 * Milliseconds `require(file)` takes in a fresh node process with the stack's NODE_OPTIONS and a
 * Lambda-like environment: what a cold start spends in the module's init after the runtime is up.
 */
async function loadTime(file: string, functionName: string): Promise<number> {
  const script = [
    'const started = process.hrtime.bigint();',
    'const loaded = require(process.argv[1]);',
    'const ms = Number(process.hrtime.bigint() - started) / 1e6;',
    "if (typeof loaded.handler !== 'function') throw new Error('the bundle exports no handler function');",
    'process.stdout.write(JSON.stringify({ ms }));',
    'process.exit(0);',
  ].join('\n');
  const { stdout } = await promisify(execFile)(process.execPath, [...NODE_OPTIONS_OF_STACK, '-e', script, file], {
    env: lambdaEnvironment(functionName),
    timeout: LOAD_TIMEOUT_MS,
    cwd: tmpdir(),
  });
  const parsed = JSON.parse(stdout) as { ms: number };
  return parsed.ms;
}

/** What Lambda and the construct set, with dummy values; nothing of the benchmark's own environment leaks in. */
function lambdaEnvironment(functionName: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'ASIABENCH',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SESSION_TOKEN: 'bench',
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    [ENV.subscriptionsTable]: 'bench-Subscriptions',
    [ENV.eventsTable]: 'bench-Events',
    [ENV.deliveriesTable]: 'bench-Deliveries',
    [ENV.tokensTable]: 'bench-Tokens',
    [ENV.eventsQueueUrl]: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench-events',
    [ENV.deliveriesQueueUrl]: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench-deliveries',
    [ENV.sealingKeySecret]: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:hookline/bench/sealing-key',
    [ENV.settings]: '{}',
    [ENV.inboundSourcesTable]: 'bench-InboundSources',
    POWERTOOLS_SERVICE_NAME: `hookline-${functionName}`,
    POWERTOOLS_LOG_LEVEL: 'INFO',
    POWERTOOLS_METRICS_NAMESPACE: 'Hookline',
  };
}

function report(results: HandlerResult[], runs: number): SectionOutcome {
  const figures: Figure[] = [];
  for (const { handler, bundle, floor } of results) {
    figures.push(
      figure({
        id: `bundle.${handler}.size`,
        label: `${handler}: bundle size`,
        value: bundle.bytes / 1024,
        unit: 'KB',
        baselineLabel: 'SDK-only floor',
        baselineValue: floor.bytes / 1024,
      }),
      figure({
        id: `bundle.${handler}.load`,
        label: `${handler}: module load, median of ${runs}`,
        value: median(bundle.loadMs),
        unit: 'ms',
        baselineLabel: 'SDK-only floor',
        baselineValue: median(floor.loadMs),
        target: { op: '<=', value: LOAD_TARGET },
      }),
    );
  }
  return {
    title: 'Cold start and bundle size (esbuild with the stack\'s options, fresh node per load)',
    figures,
    notes: [
      ...results.map(
        ({ handler, clients, bundle, floor }) =>
          `${handler}: floor creates ${clients.map((name) => `@aws-sdk/${name}`).join(', ')}; source maps ${Math.round(bundle.mapBytes / 1024)} KB (floor ${Math.round(floor.mapBytes / 1024)} KB)`,
      ),
      ...results.map(
        ({ handler, additions }) =>
          `${handler} adds over its floor: ${additions
            .slice(0, 5)
            .map((entry) => `${entry.name} ${Math.round(entry.bytes / 1024)} KB`)
            .join(', ')}`,
      ),
      `load = require() of the bundle in a fresh \`node ${NODE_OPTIONS_OF_STACK.join(' ')}\` with the handler's variables set; runtime start-up itself is not included`,
      'esbuild options mirror lib/functions.ts (minify, sourcemap without sources, node22, cjs, main fields module,main, AWS SDK bundled)',
    ],
    details: Object.fromEntries(results.map((result) => [result.handler, result])),
  };
}
