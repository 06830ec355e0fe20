import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const PROJECT_ROOT = join(BENCH_DIR, '..');
export const DEFAULT_RESULTS_PATH = join(BENCH_DIR, 'results.json');
