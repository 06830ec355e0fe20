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
