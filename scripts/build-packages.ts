/**
 * Builds the developer packages beside the construct package at `npm pack` time (each package's
 * `prepack` runs `node --import tsx ../../scripts/build-packages.ts <name>`):
 * - `@hookline/client` (packages/client): the typed API client and `verify()`, from client/index.ts;
 * - `@hookline/verify` (packages/verify): `verify()` alone, from client/verify.ts, no dependency.
 * Each gets dist/index.mjs (importing its dependencies), dist/index.cjs (everything inlined) and
 * dist/types (declarations, marked CommonJS like the construct's so node16/nodenext
 * consumers resolve their extensionless imports).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build, type BuildOptions } from 'esbuild';
import { PROJECT_ROOT } from '../lib/paths';

export interface DeveloperPackage {
  /** Folder under packages/. */
  readonly dir: string;
  /** Source entry, relative to the repository. */
  readonly entry: string;
  /** Where tsc puts the entry's declarations under dist/types. */
  readonly types: string;
}

export const DEVELOPER_PACKAGES: Readonly<Record<'client' | 'verify', DeveloperPackage>> = {
  client: { dir: 'client', entry: 'client/index.ts', types: 'dist/types/index.d.ts' },
  verify: { dir: 'verify', entry: 'client/verify.ts', types: 'dist/types/verify.d.ts' },
};

export async function buildDeveloperPackage(name: keyof typeof DEVELOPER_PACKAGES): Promise<void> {
  const spec = DEVELOPER_PACKAGES[name];
  const packageDir = join(PROJECT_ROOT, 'packages', spec.dir);
  const dist = join(packageDir, 'dist');
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  await rm(dist, { recursive: true, force: true });
  await mkdir(dist, { recursive: true });
  const common: BuildOptions = {
    entryPoints: [join(PROJECT_ROOT, spec.entry)],
    bundle: true,
    platform: 'node',
    target: 'node20',
    // Dependencies are the consumer's npm's to install (and dedupe); nothing else is needed at run time.
    external: Object.keys(manifest.dependencies ?? {}),
    sourcemap: true,
    logLevel: 'warning',
  };
  await build({ ...common, format: 'esm', outfile: join(dist, 'index.mjs') });
  // CommonJS inlines the dependencies: the sources are ES modules, and for them esbuild (like Node)
  // takes a CommonJS dependency's whole `module.exports` as its default export, while
  // openapi-fetch's createClient is its `exports.default`.
  await build({ ...common, format: 'cjs', outfile: join(dist, 'index.cjs'), external: [] });
  const tsc = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await promisify(execFile)(
    process.execPath,
    [tsc, '--declaration', '--emitDeclarationOnly', '--strict', '--skipLibCheck', '--target', 'ES2022', '--module', 'preserve', '--moduleResolution', 'bundler', '--types', 'node', '--rootDir', join(PROJECT_ROOT, 'client'), '--outDir', join(dist, 'types'), join(PROJECT_ROOT, spec.entry)],
    { cwd: PROJECT_ROOT },
  );
  await writeFile(join(dist, 'types', 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const name = process.argv[2];
  if (name !== 'client' && name !== 'verify') throw new Error(`usage: build-packages.ts client|verify (got ${String(name)})`);
  await buildDeveloperPackage(name);
}
