import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseHooklineContext } from '../lib/context';
import { HooklineStack } from '../lib/hookline-stack';
import { ensureConsoleBuilt } from '../console/build';

// The API bundle embeds the web console; build it first when it is missing or stale.
await ensureConsoleBuilt();

// Environment-agnostic on purpose: `cdk synth` needs no credentials and no lookups.
const app = new App();
const settings = parseHooklineContext(app.node.tryGetContext('hookline'));
new HooklineStack(app, settings.stackName ?? 'Hookline', {
  settings,
  description: 'Hookline: signed, retried, replayable webhook delivery',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
