/**
 * Entry point for integ-runner (README, "End-to-end test on AWS"): synthesizes the IntegTest of
 * webhook-service-integ.ts with the repository's cdk.json feature flags.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { PROJECT_ROOT } from '../../lib/paths';
import { buildHooklineInteg } from './webhook-service-integ';

const { context } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
const app = new App({ context });
buildHooklineInteg(app);
app.synth();
