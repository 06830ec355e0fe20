import type { FastifyReply, FastifyRequest } from 'fastify';
import { buildApp } from 'fauxqs';
import { LOOPBACK_HOST } from './listen';

export interface SqsStandInOptions {
  /** Region of queues created by requests that carry no SigV4 credential scope. */
  region: string;
}

export interface SqsStandIn {
  /** `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_SQS`; every queue URL starts with it. */
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * How often a waiting long poll looks again. Sends and visibility changes wake it at once; this
 * bounds how late it sees a message whose visibility timeout or delay ran out.
 */
const LONG_POLL_INTERVAL_MS = 200;
/**
 * A long poll woken by a send looks this much later: a client that abandoned its poll just before
 * another one sent must have its disconnect seen first, or the abandoned poll would take the message.
 */
const CLOSE_SETTLE_MS = 10;
const RECEIVE_TARGET = 'AmazonSQS.ReceiveMessage';
const MAKES_MESSAGES_VISIBLE = new Set([
  'AmazonSQS.SendMessage',
  'AmazonSQS.SendMessageBatch',
  'AmazonSQS.ChangeMessageVisibility',
  'AmazonSQS.ChangeMessageVisibilityBatch',
]);

/**
 * SQS on fauxqs, in process, on a free loopback port. fauxqs keeps everything in memory: queues and
 * in-flight messages do not survive a restart.
 *
 * Two adjustments at the edge, so the SDK sees what real SQS gives it:
 * - Queue URLs on the stand-in's own origin. fauxqs names queues `http://sqs.<region>.localhost:<port>/…`;
 *   the SDK's SQS client without an explicit endpoint (the handlers' case) sends each call to its
 *   QueueUrl's origin, warning on every call, and `*.localhost` does not resolve everywhere.
 * - Long polls that end with their connection. fauxqs finishes a long poll whose client went away
 *   and takes the message that arrives meanwhile, hiding it for a visibility timeout and counting a
 *   receive nobody saw; a stopped event source mapping would cost the next consumer an attempt.
 *   Here a long poll is a series of short polls that stops as soon as the client has gone.
 */
export async function startSqs(options: SqsStandInOptions): Promise<SqsStandIn> {
  const app = buildApp({ logger: false, host: 'localhost', defaultRegion: options.region });
  let endpoint = '';
  let internalUrls = /$^/g;
  const internalOrigin = (region: string): string => `http://sqs.${region}.localhost:${new URL(endpoint).port}`;

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const body = request.body;
    if (typeof body !== 'object' || body === null) return undefined;
    const input = body as Record<string, unknown>;
    if (typeof input.QueueUrl === 'string' && input.QueueUrl.startsWith(`${endpoint}/`)) {
      input.QueueUrl = internalOrigin(regionOf(request.headers.authorization) ?? options.region) + input.QueueUrl.slice(endpoint.length);
    }
    if (request.headers['x-amz-target'] !== RECEIVE_TARGET) return undefined;
    const waitSeconds = await longPollSeconds(input, request);
    if (waitSeconds === undefined) return undefined;
    return longPoll(input, waitSeconds, request, reply);
  });
  app.addHook('onSend', async (_request: FastifyRequest, _reply: FastifyReply, payload: unknown) =>
    typeof payload === 'string' ? payload.replace(internalUrls, endpoint) : payload,
  );
  /** Called when a message may have become visible. */
  const waitingPolls = new Set<() => void>();
  app.addHook('onResponse', async (request: FastifyRequest) => {
    const target = request.headers['x-amz-target'];
    if (typeof target === 'string' && MAKES_MESSAGES_VISIBLE.has(target)) for (const notify of waitingPolls) notify();
  });

  /** The wait of a valid long-polling receive; undefined leaves the request to fauxqs. */
  async function longPollSeconds(input: Record<string, unknown>, request: FastifyRequest): Promise<number | undefined> {
    let wait = input.WaitTimeSeconds;
    if (wait === undefined || wait === null) {
      const attributes = await app.inject({
        method: 'POST',
        url: '/',
        headers: forwardedHeaders(request, 'AmazonSQS.GetQueueAttributes'),
        payload: JSON.stringify({ QueueUrl: input.QueueUrl, AttributeNames: ['ReceiveMessageWaitTimeSeconds'] }),
      });
      if (attributes.statusCode !== 200) return undefined;
      wait = Number((attributes.json() as { Attributes?: Record<string, string> }).Attributes?.ReceiveMessageWaitTimeSeconds ?? 0);
    }
    return typeof wait === 'number' && Number.isInteger(wait) && wait > 0 && wait <= 20 ? wait : undefined;
  }

  async function longPoll(input: Record<string, unknown>, waitSeconds: number, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const deadline = Date.now() + waitSeconds * 1000;
    let gone = false;
    let wake: () => void = () => undefined;
    reply.raw.once('close', () => {
      gone = true;
      wake();
    });
    for (;;) {
      // Nobody is listening any more: end without taking a message.
      if (gone) return reply.code(200).header('content-type', 'application/x-amz-json-1.0').send('{}');
      const result = await app.inject({
        method: 'POST',
        url: '/',
        headers: forwardedHeaders(request, RECEIVE_TARGET),
        payload: JSON.stringify({ ...input, WaitTimeSeconds: 0 }),
      });
      const received = result.statusCode === 200 && ((result.json() as { Messages?: unknown[] }).Messages ?? []).length > 0;
      if (received || result.statusCode !== 200 || Date.now() >= deadline) {
        const contentType = result.headers['content-type'];
        const queryError = result.headers['x-amzn-query-error'];
        if (contentType !== undefined) void reply.header('content-type', contentType);
        if (queryError !== undefined) void reply.header('x-amzn-query-error', queryError);
        return reply.code(result.statusCode).send(result.payload);
      }
      await new Promise<void>((resolve) => {
        let timer = setTimeout(() => wake(), Math.min(LONG_POLL_INTERVAL_MS, Math.max(0, deadline - Date.now())));
        let settling = false;
        const onVisible = (): void => {
          if (settling) return;
          settling = true;
          clearTimeout(timer);
          timer = setTimeout(() => wake(), CLOSE_SETTLE_MS);
        };
        wake = () => {
          clearTimeout(timer);
          waitingPolls.delete(onVisible);
          resolve();
        };
        waitingPolls.add(onVisible);
      });
    }
  }

  const address = await app.listen({ port: 0, host: LOOPBACK_HOST });
  endpoint = new URL(address).origin;
  internalUrls = new RegExp(`http://sqs\\.[a-z0-9-]+\\.localhost:${new URL(endpoint).port}`, 'g');
  return { endpoint, close: () => app.close() };
}

/** The headers fauxqs reads (the SigV4 scope gives the region) for a request made on a client's behalf. */
function forwardedHeaders(request: FastifyRequest, target: string): Record<string, string> {
  const authorization = request.headers.authorization;
  return {
    'content-type': 'application/x-amz-json-1.0',
    'x-amz-target': target,
    ...(authorization === undefined ? {} : { authorization }),
  };
}

/** The region of a SigV4 `Authorization` header's credential scope, as fauxqs reads it. */
function regionOf(authorization: string | undefined): string | undefined {
  return authorization?.match(/Credential=\S+?\/\d{8}\/([^/]+)\//)?.[1];
}
