import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { ReceiverConfig, ReceiverStats } from './receiver';
import { serveWorker } from './worker';

/**
 * The webhook endpoint of section 1, in its own process so it does not compete with the code under
 * test for one event loop. `/hook/<ms>`, `/rotated/<ms>` and `/plain/<ms>` answer 200 after `<ms>`
 * milliseconds; the first `verifySample` requests to the first two have both signature schemes
 * checked, which proves the deliveries being timed carry real signatures.
 */
const config = JSON.parse(process.env.BENCH_RECEIVER_CONFIG ?? '{}') as ReceiverConfig;
const prefix = config.headerPrefix.toLowerCase();
const standard = config.secrets.map((secret) => new Webhook(secret));
const ANSWER = Buffer.from('ok');
const ROUTE = /^\/(hook|rotated|plain)\/(\d+)$/;

let stats: ReceiverStats = freshStats();

function freshStats(): ReceiverStats {
  return { hook: 0, plain: 0, bytes: 0, verified: 0, verifyFailures: 0 };
}

const server = createServer({ keepAliveTimeout: 120_000, requestTimeout: 0 }, (req, res) => {
  const match = ROUTE.exec(req.url ?? '');
  if (req.method !== 'POST' || match === null) {
    res.writeHead(404).end();
    return;
  }
  const route = match[1] as 'hook' | 'rotated' | 'plain';
  const kind = route === 'plain' ? 'plain' : 'hook';
  const delayMs = Number(match[2]);
  const verify = kind === 'hook' && stats.verified + stats.verifyFailures < config.verifySample;
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => {
    stats.bytes += chunk.length;
    if (verify) chunks.push(chunk);
  });
  req.on('end', () => {
    stats[kind] += 1;
    // `/rotated/…` deliveries are signed with every secret, `/hook/…` ones with the current only.
    if (verify) check(req, Buffer.concat(chunks).toString('utf8'), route === 'rotated' ? standard : standard.slice(0, 1));
    if (delayMs === 0) answer(res);
    else setTimeout(() => answer(res), delayMs);
  });
});

function answer(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': ANSWER.length });
  res.end(ANSWER);
}

function check(req: IncomingMessage, body: string, verifiers: readonly Webhook[]): void {
  const header = (name: string) => String(req.headers[name] ?? '');
  try {
    const headers = {
      'webhook-id': header('webhook-id'),
      'webhook-timestamp': header('webhook-timestamp'),
      'webhook-signature': header('webhook-signature'),
    };
    // Each secret of a rotation must verify on its own, as a receiver holding only one of them would.
    for (const webhook of verifiers) webhook.verify(body, headers);
    const [current] = config.secrets;
    const expected = `sha256=${createHmac('sha256', current ?? '').update(`${header(`${prefix}-timestamp`)}.${body}`).digest('hex')}`;
    const given = header(`${prefix}-signature`);
    if (given.length !== expected.length || !timingSafeEqual(Buffer.from(given), Buffer.from(expected))) {
      throw new Error(`${prefix}-signature does not match`);
    }
    stats.verified += 1;
  } catch (error) {
    stats.verifyFailures += 1;
    stats.firstFailure ??= error instanceof Error ? error.message : String(error);
  }
}

server.listen(0, '127.0.0.1', () => {
  serveWorker(
    { port: (server.address() as AddressInfo).port },
    async (request) => {
      if (request.type === 'reset') stats = freshStats();
      return { ...stats };
    },
    () => {
      server.close(() => process.exit(0));
      server.closeAllConnections();
    },
  );
});
