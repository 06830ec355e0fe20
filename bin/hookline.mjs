#!/usr/bin/env node
// `npx hookline …`: runs the TypeScript CLI through tsx, so no build step is needed.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../cli/hookline.ts');
process.exitCode = await runCli(process.argv.slice(2));
