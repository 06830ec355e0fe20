/**
 * Example webhook receiver for the local-mode quickstart (`npm run receiver`). Self-contained on
 * purpose — only node:http, node:crypto and the `standardwebhooks` package — so it can be copied
 * into a consumer's project as the starting point of a real endpoint.
 *
 *   WEBHOOK_SECRET        the subscription's `whsec_…` secret (several, space-separated, during a rotation)
 *   RECEIVER_PORT         port on 127.0.0.1 (default 4000)
 *   RECEIVER_FAIL_STATUS  answer every delivery with this status instead of 204, e.g. 500 to watch retries
 *   WEBHOOK_HEADER_PREFIX prefix of the seed-scheme headers (default X-Webhook)
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { Webhook } from 'standardwebhooks';

const MAX_BODY_BYTES = 1_048_576;
/** Same replay window as the `standardwebhooks` package applies to `webhook-timestamp`. */
const TOLERANCE_SECONDS = 300;

export interface ReceiverOptions {
  port: number;
  secrets: string[];
  failStatus?: number;
  headerPrefix: string;
  print: (line: string) => void;
}

export interface VerifyResult {
  standardWebhooks: boolean;
  seedScheme: boolean;
}

/** Checks both signature schemes Hookline sends; any one secret of a rotation may match. */
export function verifyDelivery(
  secrets: string[],
  headers: IncomingHttpHeaders,
  body: string,
  headerPrefix: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): VerifyResult {
  const standard: Record<string, string> = {
    'webhook-id': header(headers, 'webhook-id'),
    'webhook-timestamp': header(headers, 'webhook-timestamp'),
    'webhook-signature': header(headers, 'webhook-signature'),
  };
  const standardWebhooks = secrets.some((secret) => {
    try {
      new Webhook(secret).verify(body, standard);
      return true;
    } catch {
      return false;
    }
  });

  const prefix = headerPrefix.toLowerCase();
  const timestamp = header(headers, `${prefix}-timestamp`);
  const signature = Buffer.from(header(headers, `${prefix}-signature`));
  const fresh = Math.abs(nowSeconds - Number(timestamp)) <= TOLERANCE_SECONDS;
  const seedScheme =
    fresh &&
    secrets.some((secret) => {
      // Seed scheme: the whole secret string is the HMAC key, and the signed text is "{timestamp}.{body}".
      const hex = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
      const expected = Buffer.from(`sha256=${hex}`);
      return expected.length === signature.length && timingSafeEqual(expected, signature);
    });
  return { standardWebhooks, seedScheme };
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
      const body = Buffer.concat(chunks).toString('utf8');
      const result = verifyDelivery(options.secrets, req.headers, body, options.headerPrefix);
      const verified = result.standardWebhooks && result.seedScheme;
      const status = !verified ? 401 : (options.failStatus ?? 204);
      options.print(
        `${new Date().toISOString()} ${describeEnvelope(body)} webhook-id=${header(req.headers, 'webhook-id')} ` +
          `verified=${verified} (standard-webhooks=${result.standardWebhooks} seed=${result.seedScheme}) → ${status}`,
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
  const secrets = (env.WEBHOOK_SECRET ?? '').split(/\s+/).filter((secret) => secret !== '');
  if (secrets.length === 0) throw new Error('Set WEBHOOK_SECRET to the subscription secret (whsec_…)');
  const port = Number(env.RECEIVER_PORT ?? 4000);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error('RECEIVER_PORT must be a port number');
  const failStatus = env.RECEIVER_FAIL_STATUS ? Number(env.RECEIVER_FAIL_STATUS) : undefined;
  if (failStatus !== undefined && !(Number.isInteger(failStatus) && failStatus >= 200 && failStatus <= 599)) {
    throw new Error('RECEIVER_FAIL_STATUS must be an HTTP status such as 500');
  }
  return { port, secrets, failStatus, headerPrefix: env.WEBHOOK_HEADER_PREFIX ?? 'X-Webhook', print: console.log };
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
