import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Locations resolved from this file rather than the working directory, so the construct bundles
 * the right handlers whether it runs from `cdk synth`, vitest, or another app that imports it.
 */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The lock file pins what esbuild bundles and keys the asset hash. */
export const LOCK_FILE = join(PROJECT_ROOT, 'package-lock.json');

export type HandlerName = 'api' | 'fanout' | 'dispatcher';

export function handlerEntry(name: HandlerName): string {
  return join(PROJECT_ROOT, 'lambdas', name, 'handler.ts');
}

/**
 * The prebuilt bundle directory of a handler (`index.js` + source map) when this code runs from
 * the packaged construct (`dist/assets/<name>` beside the compiled module); undefined in the
 * repository, where the handler is bundled from its sources at synth time.
 */
export function prebuiltBundle(name: HandlerName): string | undefined {
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'assets', name);
  return existsSync(join(dir, 'index.js')) ? dir : undefined;
}
