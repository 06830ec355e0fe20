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
 * SQS on fauxqs, in process, on a free loopback port. fauxqs keeps everything in memory: queues and
 * in-flight messages do not survive a restart.
 *
 * fauxqs names queues `http://sqs.<region>.localhost:<port>/…`. The SDK's SQS client, when it has no
 * explicit endpoint (the Lambda handlers' case), sends each call to its QueueUrl's origin and warns
 * when that differs from the configured endpoint, and `*.localhost` does not resolve everywhere. So
 * this stand-in shows queue URLs on its own origin, as real SQS does, translating at the edge.
 */
export async function startSqs(options: SqsStandInOptions): Promise<SqsStandIn> {
  const app = buildApp({ logger: false, host: 'localhost', defaultRegion: options.region });
  let endpoint = '';
  let internal = /$^/;
  const internalOrigin = (region: string): string => `http://sqs.${region}.localhost:${new URL(endpoint).port}`;

  app.addHook('preHandler', async (request: { body: unknown; headers: { authorization?: string } }) => {
    const body: unknown = request.body;
    if (typeof body !== 'object' || body === null || !('QueueUrl' in body) || typeof body.QueueUrl !== 'string') return;
    if (!body.QueueUrl.startsWith(`${endpoint}/`)) return;
    const region = regionOf(request.headers.authorization) ?? options.region;
    (body as { QueueUrl: string }).QueueUrl = internalOrigin(region) + body.QueueUrl.slice(endpoint.length);
  });
  app.addHook('onSend', async (_request: unknown, _reply: unknown, payload: unknown) =>
    typeof payload === 'string' ? payload.replace(internal, endpoint) : payload,
  );

  const address = await app.listen({ port: 0, host: LOOPBACK_HOST });
  endpoint = new URL(address).origin;
  internal = new RegExp(`http://sqs\\.[a-z0-9-]+\\.localhost:${new URL(endpoint).port}`, 'g');
  return { endpoint, close: () => app.close() };
}

/** The region of a SigV4 `Authorization` header's credential scope, as fauxqs reads it. */
function regionOf(authorization: string | undefined): string | undefined {
  return authorization?.match(/Credential=\S+?\/\d{8}\/([^/]+)\//)?.[1];
}
