/**
 * Example webhook receiver for the local-mode quickstart (`npm run receiver`). Small on purpose —
 * node:http and `verify()` from Hookline's client package — so it can be copied into a consumer's
 * project as the starting point of a real endpoint.
 *
 *   WEBHOOK_SECRET        the subscription's `whsec_…` secret; several (comma- or space-separated)
 *                         during a rotation, or WEBHOOK_SECRETS
 *   RECEIVER_PORT         port on 127.0.0.1 (default 4000)
 *   RECEIVER_FAIL_STATUS  answer every delivery with this status instead of 204, e.g. 500 to watch retries
 *   WEBHOOK_HEADER_PREFIX prefix of the hex X-Webhook-Signature scheme's headers (default X-Webhook)
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { verify, type VerifyResult } from '../client/verify';

const MAX_BODY_BYTES = 1_048_576;

export interface ReceiverOptions {
  port: number;
  secrets: string[];
  failStatus?: number;
  headerPrefix: string;
  print: (line: string) => void;
}

/**
 * A delivery is genuine when either signature scheme verifies under any of the secrets: during a
 * rotation the old secret still verifies the Standard Webhooks signature while the hex scheme
 * carries the new one only, so demanding both would refuse deliveries the README promises.
 */
export function verifyDelivery(
  secrets: string[],
  headers: IncomingHttpHeaders,
  body: string | Buffer,
  headerPrefix: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): VerifyResult {
  return verify(headers, body, secrets, { headerPrefix, nowSeconds });
}

function header(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

function describeEnvelope(body: string): string {
  try {
    const envelope = JSON.parse(body) as { type?: unknown; id?: unknown; fleetId?: unknown };
    return `${String(envelope.type)} event=${String(envelope.id)} fleet=${String(envelope.fleetId)}`;
  } catch {
    return 'unparsable body';
  }
}

export function startReceiver(options: ReceiverOptions): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413).end();
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (res.writableEnded) return;
      const raw = Buffer.concat(chunks);
      // Verify the bytes as received: parsing and re-serialising the JSON would break the signature.
      const result = verifyDelivery(options.secrets, req.headers, raw, options.headerPrefix);
      const status = !result.ok ? 401 : (options.failStatus ?? 204);
      const verdict = result.ok
        ? `verified=true (${result.scheme}, secret ${result.secretIndex + 1})`
        : `verified=false (${result.reason}: ${result.message})`;
      options.print(
        `${new Date().toISOString()} ${describeEnvelope(raw.toString('utf8'))} webhook-id=${header(req.headers, 'webhook-id')} ` +
          `${verdict} → ${status}`,
      );
      res.writeHead(status).end();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve(server));
  });
}

function optionsFromEnv(env: NodeJS.ProcessEnv): ReceiverOptions {
  const secrets = readSecrets(env);
  if (secrets.length === 0) throw new Error('Set WEBHOOK_SECRET to the subscription secret (whsec_…)');
  const port = Number(env.RECEIVER_PORT ?? 4000);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error('RECEIVER_PORT must be a port number');
  const failStatus = env.RECEIVER_FAIL_STATUS ? Number(env.RECEIVER_FAIL_STATUS) : undefined;
  if (failStatus !== undefined && !(Number.isInteger(failStatus) && failStatus >= 200 && failStatus <= 599)) {
    throw new Error('RECEIVER_FAIL_STATUS must be an HTTP status such as 500');
  }
  return { port, secrets, failStatus, headerPrefix: env.WEBHOOK_HEADER_PREFIX ?? 'X-Webhook', print: console.log };
}

/** WEBHOOK_SECRET and WEBHOOK_SECRETS, each a list separated by commas or whitespace. */
export function readSecrets(env: NodeJS.ProcessEnv): string[] {
  return [env.WEBHOOK_SECRET, env.WEBHOOK_SECRETS]
    .flatMap((value) => (value ?? '').split(/[\s,]+/))
    .filter((secret) => secret !== '');
}

async function main(): Promise<void> {
  let options: ReceiverOptions;
  try {
    options = optionsFromEnv(process.env);
  } catch (error) {
    console.error(`receiver: ${(error as Error).message}`);
    process.exit(1);
  }
  let server: Server;
  try {
    server = await startReceiver(options);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'EADDRINUSE' ? `port ${options.port} is already in use` : (error as Error).message;
    console.error(`receiver: cannot listen on 127.0.0.1:${options.port}: ${reason}`);
    process.exit(1);
  }
  const mode = options.failStatus === undefined ? 'answering 204' : `answering ${options.failStatus} to every delivery`;
  console.log(`Receiver listening on http://127.0.0.1:${options.port}/ (${mode})`);
  const stop = (): void => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

// Run only as a program, so tests can import verifyDelivery/startReceiver without starting a server.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
