/** A flag or variable that holds only blanks counts as unset, as `npm start` reads HOOKLINE_DATA_DIR. */
export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** The local data directory a command means: `--data-dir`, else HOOKLINE_DATA_DIR, else `.hookline` (`npm start`'s default). */
export function localDataDir(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag ?? nonEmpty(env.HOOKLINE_DATA_DIR) ?? '.hookline';
}
