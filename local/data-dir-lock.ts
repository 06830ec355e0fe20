import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const LOCK_FILE = 'hookline.lock';

/**
 * Claims a local data directory for this process. LevelDB (under dynalite) allows one opener, and a
 * second one does not fail cleanly: its requests hang. A lock left by a process that no longer
 * runs is taken over. Resolves with the release function.
 */
export async function lockDataDir(directory: string): Promise<() => Promise<void>> {
  const path = join(directory, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx' });
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(holder) && holder > 0 && isRunning(holder)) {
        throw new Error(`${directory} is in use by another Hookline local runtime (process ${holder}); stop it or choose another data directory`);
      }
      await rm(path, { force: true });
    }
  }
  throw new Error(`could not lock ${directory}`);
}

function isRunning(pid: number): boolean {
  try {
    // Signal 0 only checks that the process exists.
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
