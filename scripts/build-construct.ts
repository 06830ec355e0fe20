/**
 * Builds the construct package (packages/construct/dist) at `npm pack` time:
 * - dist/assets/<handler>/index.js(.map): each Lambda bundled with FUNCTION_BUNDLING, the options
 *   `cdk synth` uses in this repository, so a consumer deploys the same code without esbuild;
 * - dist/index.mjs and dist/index.cjs: lib/ compiled, with aws-cdk-lib and constructs left to the
 *   consumer (peer dependencies) and everything else it imports inlined;
 * - dist/types: declarations of the public surface.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build, type BuildOptions } from 'esbuild';
import { ensureConsoleBuilt } from '../console/build';
import { lambdaBuildOptions } from '../lib/bundling';
import { PROJECT_ROOT, handlerEntry, type HandlerName } from '../lib/paths';

export const PACKAGE_DIR = join(PROJECT_ROOT, 'packages', 'construct');
const DIST = join(PACKAGE_DIR, 'dist');
const HANDLERS: readonly HandlerName[] = ['api', 'fanout', 'dispatcher'];

async function buildHandlers(): Promise<void> {
  await Promise.all(
    HANDLERS.map((name) =>
      build({ ...lambdaBuildOptions(), logLevel: 'warning', entryPoints: [handlerEntry(name)], outfile: join(DIST, 'assets', name, 'index.js') }),
    ),
  );
}

async function buildLibrary(): Promise<void> {
  const common: BuildOptions = {
    entryPoints: [join(PROJECT_ROOT, 'lib', 'index.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    // Peers: one copy of the CDK in the consumer's app, or its constructs would not be ours.
    // zod stays inlined although it is a dependency: the dependency is for the declarations (the
    // settings props and the cdk.json context are zod types), and the inlined copy is the one the
    // code was tested with (zod's CommonJS locale modules have no default export to import).
    external: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'],
    sourcemap: true,
    logLevel: 'warning',
  };
  await build({ ...common, format: 'esm', outfile: join(DIST, 'index.mjs') });
  // CommonJS has no import.meta: give lib/paths.ts the module's own URL instead.
  await build({
    ...common,
    format: 'cjs',
    outfile: join(DIST, 'index.cjs'),
    banner: { js: 'const __hooklineModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
    define: { 'import.meta.url': '__hooklineModuleUrl' },
  });
}

async function buildTypes(): Promise<void> {
  const tsc = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', join(PACKAGE_DIR, 'tsconfig.types.json')], { cwd: PACKAGE_DIR });
  // The declarations import each other without extensions, as the sources do. In a "type":
  // "module" package, node16/nodenext resolution reads them as ES modules and refuses those
  // imports (TS2834), so a consumer's `tsc` would see every type as `any`. Marked CommonJS, they
  // resolve for CommonJS and ES module consumers alike (an ES module may import a CommonJS one).
  await writeFile(join(DIST, 'types', 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
}

export async function buildConstructPackage(): Promise<void> {
  await rm(DIST, { recursive: true, force: true });
  await mkdir(DIST, { recursive: true });
  // The API bundle embeds the web console.
  await ensureConsoleBuilt();
  await buildHandlers();
  await buildLibrary();
  await buildTypes();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await buildConstructPackage();
}
