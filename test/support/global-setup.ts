import { ensureConsoleBuilt } from '../../console/build';

/** The API imports the built console; a single test file run with `npx vitest` must find it too. */
export default async function setup(): Promise<void> {
  await ensureConsoleBuilt();
}
