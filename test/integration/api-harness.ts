import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createDocumentClient, createSecretsClient } from '../../lambdas/shared/clients';
import { newTokenId } from '../../lambdas/core/ids';
import { formatApiToken, generateApiTokenSecret, hashTokenSecret } from '../../lambdas/core/secrets';
import type { DeploymentSettingsInput } from '../../lambdas/core/settings';
import { ENV } from '../../lambdas/shared/environment';
import type { SigningSecrets } from '../../lambdas/shared/signing-secrets';
import { testSigningSecrets } from '../support/sealing-key';
import { TokensStore } from '../../lambdas/shared/tokens-store';
import { wireApi } from '../../lambdas/api/wiring';
import type { Resolver } from '../../lambdas/api/endpoint-check';
import { startApiServer, type ApiServer } from '../../local/api-server';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { createLambdaContext } from '../../local/lambda-context';

/** Example hosts resolve to public addresses; `internal.example.com` to a private one. No real DNS. */
export const testResolver: Resolver = async (hostname) => {
  const table: Record<string, string> = {
    'example.com': '93.184.216.34',
    'hooks.example.com': '93.184.216.35',
    'internal.example.com': '10.1.2.3',
  };
  const address = table[hostname];
  if (address === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return [{ address, family: 4 }];
};

export interface ApiStack {
  runtime: LocalRuntime;
  server: ApiServer;
  /** `fetch` against the local front with a bearer token (the all-fleets token unless given). */
  request(method: string, path: string, options?: { body?: unknown; rawBody?: string; token?: string | null; headers?: Record<string, string> }): Promise<{ status: number; headers: Headers; body: any }>;
  /** A token granting `fleets` (`['*']` for all). */
  issueToken(fleets: string[]): Promise<string>;
  tokens: TokensStore;
  secrets: SigningSecrets;
  /** Receives (and leaves in flight) what is on a queue right now. */
  drain(queueUrl: string): Promise<any[]>;
  stop(): Promise<void>;
}

/**
 * The API exactly as local mode serves it: the real handler wiring on the local runtime
 * (dynalite, the in-repo SQS and Secrets Manager stand-ins) behind local/api-server.ts.
 */
export async function startApiStack(settings: DeploymentSettingsInput = {}): Promise<ApiStack> {
  const runtime = await startLocalRuntime({ settings, queueVisibilitySeconds: { events: 30, deliveries: 30 } });
  runtime.applyEnv();
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const handler = wireApi(runtime.env, { resolve: testResolver });
  const server = await startApiServer({
    port: 0,
    handler: (event) => handler(event, createLambdaContext('hookline-api', 29_000)),
  });
  const doc = createDocumentClient();
  const tokens = new TokensStore(doc, runtime.tables.tokens);
  const secrets = testSigningSecrets(createSecretsClient(), runtime.env[ENV.sealingKeySecret]);
  const sqs = new SQSClient({});

  async function issueToken(fleets: string[]): Promise<string> {
    const id = newTokenId();
    const secret = generateApiTokenSecret();
    await tokens.create({ id, secretHash: hashTokenSecret(secret), fleets, createdAt: new Date().toISOString() });
    return formatApiToken(id, secret);
  }
  const adminToken = await issueToken(['*']);

  return {
    runtime,
    server,
    tokens,
    secrets,
    issueToken,
    async request(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      const token = options.token === undefined ? adminToken : options.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | undefined = options.rawBody;
      if (body === undefined && options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['content-type'] = 'application/json';
      }
      const response = await fetch(`${server.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
    },
    async drain(queueUrl) {
      const bodies: any[] = [];
      for (;;) {
        const result = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 30 }),
        );
        const messages = result.Messages ?? [];
        if (messages.length === 0) return bodies;
        bodies.push(...messages.map((message) => JSON.parse(message.Body as string)));
      }
    },
    async stop() {
      await server.close();
      sqs.destroy();
      doc.destroy();
      await runtime.stop();
    },
  };
}
