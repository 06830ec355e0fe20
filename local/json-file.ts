import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';

/** Reads a JSON file; `undefined` when it does not exist yet. */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`${path} is not valid JSON; fix or delete it`);
  }
}

/**
 * Replaces a file atomically: a crash mid-write leaves the old content, never a torn file.
 * Owner-only permissions, since local secrets are stored in clear. `compact` skips the
 * indentation, for large files written often.
 */
export async function writeJsonFileAtomically(path: string, value: unknown, options: { compact?: boolean } = {}): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, `${JSON.stringify(value, null, options.compact === true ? undefined : 2)}\n`, { mode: 0o600 });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
