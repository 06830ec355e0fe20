/**
 * `npm run smoke`: checks a running Hookline end to end, the way a user who just deployed would.
 * It issues a throwaway token for a throwaway fleet, starts a receiver, subscribes it, publishes
 * one event through the API and one through EventBridge, checks that both arrive signed with the
 * subscription's secret, cleans up and prints a verdict (exit 0 on PASS, 1 on FAIL, 2 on usage).
 *
 *   npm run smoke                                   # the local Hookline (`npm start`, HOOKLINE_DATA_DIR)
 *   npm run smoke -- --stack Hookline --receiver-url https://<tunnel to the receiver port> [--receiver-port 4100]
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { verify } from '../client/verify';
import { readInstanceFile } from '../local/instance-file';
import type { Target } from './args';
import { localDataDir } from './data-dir';
import { openTokensStore } from './target';
import { createToken, revokeToken } from './tokens';

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const REQUEST_TIMEOUT_MS = 15_000;

export interface SmokeTarget {
  /** Where the throwaway token is issued. */
  tokens: Target;
  apiUrl: string;
  eventBus: string;
  eventSource: string;
  eventBridge: ConstructorParameters<typeof EventBridgeClient>[0];
  /** Public URL of the receiver when Hookline cannot reach 127.0.0.1 (a deployed stack). */
  receiverUrl?: string;
  receiverPort: number;
  waitSeconds: number;
}

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

class SmokeFailure extends Error {}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function startReceiver(port: number): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${bound}/smoke`, received };
}

async function call(target: SmokeTarget, token: string, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${target.apiUrl.replace(/\/+$/, '')}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  if (!response.ok) throw new SmokeFailure(`${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return text === '' ? undefined : JSON.parse(text);
}

/** Waits (bounded) for a delivery whose envelope carries `marker`, and checks its signature. */
async function awaitSigned(received: Received[], marker: string, secret: string, waitSeconds: number): Promise<string> {
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    const delivery = received.find((r) => r.body.includes(marker));
    if (delivery !== undefined) {
      const result = verify(delivery.headers, delivery.body, secret);
      if (!result.ok) throw new SmokeFailure(`delivery ${marker} arrived but its signature does not verify: ${result.message}`);
      return result.scheme;
    }
    if (Date.now() > deadline) throw new SmokeFailure(`no delivery of ${marker} within ${waitSeconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The whole check; resolves true on PASS. Everything it created is removed, pass or fail. */
export async function runSmoke(target: SmokeTarget): Promise<boolean> {
  const run = randomBytes(4).toString('hex');
  const fleet = `smoke-${run}`;
  const cleanups: { what: string; undo: () => Promise<unknown> }[] = [];
  const receiver = await startReceiver(target.receiverPort);
  cleanups.push({ what: 'receiver', undo: () => new Promise((resolve) => receiver.server.close(resolve)) });
  try {
    const opened = await openTokensStore(target.tokens);
    const issued = await createToken(opened.store, { fleets: [fleet], name: `smoke ${run}` }).finally(() => opened.close());
    cleanups.push({
      what: 'token',
      undo: async () => {
        const store = await openTokensStore(target.tokens);
        await revokeToken(store.store, issued.record.id).finally(() => store.close());
      },
    });
    say(`✓ throwaway token ${issued.record.id} for fleet ${fleet}`);

    const catalog = (await call(target, issued.token, 'GET', '/event-types')) as { data: { type: string; origin: string }[] };
    const type = catalog.data.find((entry) => entry.origin === 'catalog' && entry.type !== 'webhook.test')?.type;
    if (type === undefined) throw new SmokeFailure('the deployment has no event type to publish');
    const url = target.receiverUrl ?? receiver.url;
    const webhook = (await call(target, issued.token, 'POST', `/fleets/${fleet}/webhooks`, { url, events: [type], name: `smoke ${run}` })) as {
      id: string;
      secret: string;
    };
    cleanups.push({ what: 'subscription', undo: () => call(target, issued.token, 'DELETE', `/fleets/${fleet}/webhooks/${webhook.id}`) });
    say(`✓ subscription ${webhook.id} → ${url} for ${type}`);

    const viaApi = `smoke-${run}-api`;
    await call(target, issued.token, 'POST', `/fleets/${fleet}/events`, { type, data: { smoke: viaApi } });
    say('✓ published through the API');
    const viaBus = `smoke-${run}-bus`;
    const bus = new EventBridgeClient(target.eventBridge ?? {});
    try {
      const put = await bus.send(
        new PutEventsCommand({
          Entries: [{ EventBusName: target.eventBus, Source: target.eventSource, DetailType: type, Detail: JSON.stringify({ fleetId: fleet, data: { smoke: viaBus } }) }],
        }),
      );
      if ((put.FailedEntryCount ?? 0) > 0) throw new SmokeFailure(`PutEvents refused the event: ${put.Entries?.[0]?.ErrorMessage ?? 'no reason'}`);
    } finally {
      bus.destroy();
    }
    say(`✓ published through EventBridge (bus ${target.eventBus}, source ${target.eventSource})`);

    for (const [label, marker] of [
      ['API', viaApi],
      ['EventBridge', viaBus],
    ] as const) {
      const scheme = await awaitSigned(receiver.received, marker, webhook.secret, target.waitSeconds);
      say(`✓ ${label} event delivered and its signature verifies (${scheme})`);
    }
    say('PASS');
    return true;
  } catch (error) {
    say(`FAIL: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  } finally {
    for (const cleanup of cleanups.reverse()) {
      await cleanup.undo().catch((error: unknown) => say(`warning: could not remove the ${cleanup.what}: ${String(error)}`));
    }
  }
}

const USAGE = `usage: npm run smoke [-- --data-dir <dir>]
       npm run smoke -- --stack <name> --receiver-url <public https URL of the receiver port> [--receiver-port <n>]
                        [--region <r>] [--output-prefix <p>] [--event-source <source>] [--wait <seconds>]`;

async function stackOutputs(stack: string, region: string | undefined): Promise<Record<string, string>> {
  const client = new CloudFormationClient(region === undefined ? {} : { region });
  try {
    const described = await client.send(new DescribeStacksCommand({ StackName: stack }));
    return Object.fromEntries((described.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  } finally {
    client.destroy();
  }
}

/** Parses the command line into a target; throws a usage message. */
export async function smokeTargetFromArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<SmokeTarget> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      stack: { type: 'string' },
      region: { type: 'string' },
      'output-prefix': { type: 'string' },
      'data-dir': { type: 'string' },
      'event-source': { type: 'string' },
      'receiver-url': { type: 'string' },
      'receiver-port': { type: 'string' },
      wait: { type: 'string' },
    },
  });
  const waitSeconds = Number(values.wait ?? 60);
  const receiverPort = Number(values['receiver-port'] ?? 0);
  if (!Number.isInteger(waitSeconds) || waitSeconds < 1) throw new Error(`--wait must be a whole number of seconds\n${USAGE}`);
  if (!Number.isInteger(receiverPort) || receiverPort < 0 || receiverPort > 65_535) throw new Error(`--receiver-port must be a port\n${USAGE}`);
  const eventSource = values['event-source'] ?? 'hookline';
  if (values.stack !== undefined) {
    if (values['receiver-url'] === undefined) {
      throw new Error(`--receiver-url is required with --stack: the deployed dispatcher cannot reach 127.0.0.1, so expose the receiver port through a tunnel\n${USAGE}`);
    }
    const region = values.region ?? env.AWS_REGION;
    const prefix = values['output-prefix'] ?? '';
    const outputs = await stackOutputs(values.stack, region);
    const apiUrl = outputs[`${prefix}ApiUrl`];
    const eventBus = outputs[`${prefix}EventBusName`];
    if (apiUrl === undefined || eventBus === undefined) throw new Error(`stack ${values.stack} has no ${prefix}ApiUrl / ${prefix}EventBusName outputs`);
    return {
      tokens: { kind: 'stack', stack: values.stack, outputPrefix: prefix, ...(region === undefined ? {} : { region }) },
      apiUrl,
      eventBus,
      eventSource,
      eventBridge: region === undefined ? {} : { region },
      receiverUrl: values['receiver-url'],
      receiverPort,
      waitSeconds,
    };
  }
  const dataDir = localDataDir(values['data-dir'], env);
  const instance = readInstanceFile(dataDir);
  if (instance === undefined) throw new Error(`no running local Hookline on ${dataDir}: start it with \`npm start\` (same HOOKLINE_DATA_DIR) first\n${USAGE}`);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return {
    tokens: { kind: 'local', dataDir },
    apiUrl: instance.apiUrl,
    eventBus: instance.eventBus,
    eventSource,
    eventBridge: { endpoint: instance.eventBridgeEndpoint, region: instance.region, credentials: LOCAL_CREDENTIALS },
    ...(values['receiver-url'] === undefined ? {} : { receiverUrl: values['receiver-url'] }),
    receiverPort,
    waitSeconds,
  };
}

async function main(): Promise<number> {
  let target: SmokeTarget;
  try {
    target = await smokeTargetFromArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  say(`Hookline smoke test against ${target.apiUrl}`);
  return (await runSmoke(target)) ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === (await import('node:url')).pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main();
}
