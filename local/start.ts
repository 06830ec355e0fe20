/**
 * `npm start`: the whole of Hookline in one process with no AWS account — the local AWS stand-ins,
 * the fan-out and dispatcher behind event source mapping stand-ins, and the API behind an HTTP
 * front — configured by HOOKLINE_PORT, HOOKLINE_TOKEN, HOOKLINE_DATA_DIR, plus HOOKLINE_SETTINGS
 * (JSON overrides of the deployment settings) and HOOKLINE_LOG_FORMAT.
 */
import { accessSync, constants, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { parseDeploymentSettings, type DeploymentSettingsInput } from '../lambdas/core/settings';
import { ENV } from '../lambdas/shared/environment';
import type { ApiServer } from './api-server';
import { chooseDevToken, GENERATED_TOKEN_FILE, registerDevToken } from './dev-token';
import { removeInstanceFile, writeInstanceFile } from './instance-file';
import { HumanLogFilter, installHumanLogSink, readLogFormat } from './log-format';
import type { Pipeline } from './pipeline';
import type { LocalRuntime } from './runtime';

const DEFAULT_PORT = 8787;
const DEFAULT_DATA_DIR = '.hookline';
/** Local mode may deliver to loopback only; the address policy still refuses the rest. */
const LOOPBACK_TARGETS = ['127.0.0.0/8', '::1/128'];
/** A stop that hangs (a stuck connection, a wedged stand-in) must not keep the terminal hostage. */
const STOP_TIMEOUT_MS = 10_000;

/** The message alone: these lines are read by people, and never carry a request or a secret. */
function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function fail(message: string): never {
  console.error(`Hookline: ${message}`);
  process.exit(1);
}

function readPort(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new Error(`HOOKLINE_PORT must be a port number between 1 and 65535, not ${JSON.stringify(value)}`);
  }
  return port;
}

/** Creates the data dir and proves it writable now, rather than failing later inside dynalite. */
function prepareDataDir(value: string | undefined): string {
  const dir = resolve(value === undefined || value.trim() === '' ? DEFAULT_DATA_DIR : value);
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.R_OK | constants.W_OK);
    const probe = join(dir, `.write-probe-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (error) {
    throw new Error(`data dir ${dir} is unusable (HOOKLINE_DATA_DIR): ${reason(error)}`);
  }
  return dir;
}

/** The construct's defaults (lambdas/core/settings.ts), loopback targets allowed, then HOOKLINE_SETTINGS on top. */
function localSettings(raw: string | undefined): DeploymentSettingsInput {
  let overrides: unknown = {};
  if (raw !== undefined && raw.trim() !== '') {
    try {
      overrides = JSON.parse(raw);
    } catch {
      throw new Error(`${ENV.settings} is not valid JSON`);
    }
    if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
      throw new Error(`${ENV.settings} must be a JSON object of deployment settings`);
    }
  }
  const input = { allowPrivateTargets: LOOPBACK_TARGETS, ...(overrides as Record<string, unknown>) } as DeploymentSettingsInput;
  // Validated here so a mistake is one line before anything starts; the runtime parses it again.
  parseDeploymentSettings(input, ENV.settings);
  return input;
}

/** Fails fast, before the stand-ins start, when the API port is taken; the real bind still reports a race. */
async function assertPortFree(port: number): Promise<void> {
  const probe = createServer();
  await new Promise<void>((resolvePromise, reject) => {
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `port ${port} on 127.0.0.1 is already in use; choose another with HOOKLINE_PORT`
            : `cannot listen on 127.0.0.1:${port}: ${error.message}`,
        ),
      ),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolvePromise()));
  });
}

function targetsNotice(allowPrivateTargets: boolean | readonly string[]): string {
  const loopbackOnly =
    Array.isArray(allowPrivateTargets) &&
    allowPrivateTargets.length === LOOPBACK_TARGETS.length &&
    LOOPBACK_TARGETS.every((range) => allowPrivateTargets.includes(range));
  if (loopbackOnly) {
    return 'Warning: loopback delivery targets (127.0.0.0/8, ::1) are allowed locally; private ranges and the metadata address stay refused.';
  }
  const allowed = allowPrivateTargets === true ? 'every private range' : JSON.stringify(allowPrivateTargets);
  return `Warning: allowPrivateTargets is overridden to ${allowed}; the link-local/metadata range stays refused.`;
}

interface Running {
  runtime: LocalRuntime;
  pipeline?: Pipeline;
  api?: ApiServer;
}

/** Front first so no new work arrives, then the pollers (waiting for invocations in flight), then the stand-ins. */
async function stopAll(running: Running, dataDir: string): Promise<void> {
  const steps = [
    () => running.api?.close(),
    () => running.pipeline?.stop(),
    () => running.runtime.stop(),
    () => removeInstanceFile(dataDir),
  ];
  const problems: string[] = [];
  // One step failing must not leave the later ones (and their ports or locks) behind.
  for (const step of steps) await Promise.resolve().then(step).catch((error: unknown) => problems.push(reason(error)));
  if (problems.length > 0) throw new Error(problems.join('; '));
}

async function main(): Promise<void> {
  const env = process.env;
  let port: number;
  let dataDir: string;
  let settings: DeploymentSettingsInput;
  let devToken: ReturnType<typeof chooseDevToken>;
  try {
    const logFormat = readLogFormat(env.HOOKLINE_LOG_FORMAT);
    if (logFormat === 'human') {
      // One filter for both streams: a repeated line is recognised whichever stream it comes on.
      const filter = new HumanLogFilter();
      installHumanLogSink(process.stdout, filter);
      installHumanLogSink(process.stderr, filter);
      // EMF metric blobs are for CloudWatch; in a terminal they only bury the attempt lines.
      env.POWERTOOLS_METRICS_DISABLED ??= 'true';
    }
    // The SDK's notice about its future Node baseline is not actionable while talking to local stand-ins.
    env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    port = readPort(env.HOOKLINE_PORT);
    dataDir = prepareDataDir(env.HOOKLINE_DATA_DIR);
    settings = localSettings(env[ENV.settings]);
    devToken = chooseDevToken(env.HOOKLINE_TOKEN, dataDir);
    await assertPortFree(port);
  } catch (error) {
    fail(reason(error));
  }

  // The AWS SDK, the stand-ins and the handlers load only now, so a bad setting fails in a blink.
  const [{ startLocalRuntime }, { startPipeline }, { startApiServer }, { createDocumentClient }, { TokensStore }] =
    await Promise.all([
      import('./runtime'),
      import('./pipeline'),
      import('./api-server'),
      import('../lambdas/shared/clients'),
      import('../lambdas/shared/tokens-store'),
    ]);
  let runtime: LocalRuntime;
  try {
    runtime = await startLocalRuntime({ dataDir, settings });
  } catch (error) {
    fail(`cannot start the local AWS stand-ins in ${dataDir}: ${reason(error)}`);
  }
  const running: Running = { runtime };
  let stopping = false;
  const stop = (): void => {
    // npm forwards a Ctrl-C or SIGTERM that the whole process group already received: stop once.
    if (stopping) return;
    stopping = true;
    setTimeout(() => {
      console.error(`Hookline: did not stop within ${STOP_TIMEOUT_MS / 1000} s; exiting anyway`);
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
    stopAll(running, dataDir).then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`Hookline: error while stopping: ${reason(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  try {
    runtime.applyEnv();
    await registerDevToken(new TokensStore(createDocumentClient(), runtime.tables.tokens), devToken.token);
    running.pipeline = startPipeline(runtime);
    // The API embeds the web console: build it when missing or stale (a hash check when current).
    if ((await (await import('../console/build')).ensureConsoleBuilt()).built) console.log('Web console built (console/src).');
    // The API module reads its configuration at import, so it comes after applyEnv().
    const { handler } = await import('../lambdas/api/handler');
    running.api = await startApiServer({
      handler,
      port,
      host: '127.0.0.1',
      onError: (error) => console.error(`Hookline: API front error: ${reason(error)}`),
    });
  } catch (error) {
    console.error(`Hookline: ${reason(error)}`);
    await stopAll(running, dataDir).catch((error: unknown) => console.error(`Hookline: error while stopping: ${reason(error)}`));
    process.exit(1);
  }
  if (stopping) return;

  const { api } = running;
  writeInstanceFile(dataDir, {
    pid: process.pid,
    apiUrl: api.url,
    region: runtime.region,
    sqsEndpoint: runtime.endpoints.sqs,
    eventBridgeEndpoint: runtime.endpoints.eventBridge,
    eventBus: runtime.eventBus.name,
    dynamoDbEndpoint: runtime.endpoints.dynamodb,
    tokenSource: devToken.source,
    queues: {
      eventsUrl: runtime.queues.eventsUrl,
      eventsDlqUrl: runtime.queues.eventsDlqUrl,
      deliveriesUrl: runtime.queues.deliveriesUrl,
      deliveriesDlqUrl: runtime.queues.deliveriesDlqUrl,
    },
  });

  const tokenFile = join(dataDir, GENERATED_TOKEN_FILE);
  const tokenOrigin = {
    HOOKLINE_TOKEN: 'from HOOKLINE_TOKEN',
    generated: `generated, kept in ${tokenFile}`,
    kept: `kept in ${tokenFile}`,
  }[devToken.source];
  console.log(`Data dir: ${dataDir} (tables, secrets and queued messages survive a restart)`);
  console.log(targetsNotice(runtime.settings.allowPrivateTargets));
  console.log(`Development token for every fleet (${tokenOrigin}): ${devToken.token}`);
  console.log(
    `EventBridge PutEvents: endpoint ${runtime.endpoints.eventBridge} region ${runtime.region} ` +
      `bus ${runtime.eventBus.name} source ${runtime.settings.eventSource}`,
  );
  console.log(`SQS: endpoint ${runtime.endpoints.sqs} deliveries DLQ ${runtime.queues.deliveriesDlqUrl}`);
  console.log('DLQ redrive (what the console\'s "Start DLQ redrive" does): npx tsx local/redrive.ts');
  console.log(`Hookline API: ${api.url}`);
}

await main();
