import type { APIGatewayProxyEvent } from 'aws-lambda';
import { wireApi } from '../../../lambdas/api/wiring';
import { newTokenId } from '../../../lambdas/core/ids';
import { formatApiToken, generateApiTokenSecret, hashTokenSecret, parseApiToken } from '../../../lambdas/core/secrets';
import type { DeploymentSettingsInput } from '../../../lambdas/core/settings';
import { createDocumentClient, createSecretsClient } from '../../../lambdas/shared/clients';
import { DeliveriesStore } from '../../../lambdas/shared/deliveries-store';
import { EventsStore } from '../../../lambdas/shared/events-store';
import type { Resolver } from '../../../lambdas/shared/http-delivery';
import { ENV } from '../../../lambdas/shared/environment';
import type { SigningSecrets } from '../../../lambdas/shared/signing-secrets';
import { testSigningSecrets } from '../../support/sealing-key';
import { SubscriptionsStore } from '../../../lambdas/shared/subscriptions-store';
import { TokensStore } from '../../../lambdas/shared/tokens-store';
import { createLambdaContext } from '../../../local/lambda-context';
import { proxyEvent as buildProxyEvent } from '../../support/proxy-event';
import { startLocalRuntime, type LocalRuntime } from '../../../local/runtime';

export interface ApiCall {
  body?: unknown;
  /** Sent exactly as given (malformed JSON, huge bodies). */
  rawBody?: string;
  headers?: Record<string, string>;
  query?: Record<string, string | string[]>;
  /** A bearer token; `null` sends no Authorization header; a string starting with "raw:" is sent as the whole header. */
  token?: string | null;
}

export interface ApiAnswer {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON, undefined for an empty body. */
  body: any;
  raw: string;
}

export interface IssuedToken {
  id: string;
  token: string;
}

export interface ApiStack {
  runtime: LocalRuntime;
  call(method: string, path: string, options?: ApiCall): Promise<ApiAnswer>;
  issueToken(fleets: string[]): Promise<IssuedToken>;
  subscriptions: SubscriptionsStore;
  events: EventsStore;
  deliveries: DeliveriesStore;
  tokens: TokensStore;
  secrets: SigningSecrets;
  stop(): Promise<void>;
}

/** A REST proxy event as API Gateway builds it for `/{proxy+}`. */
export function proxyEvent(method: string, path: string, options: ApiCall & { authorization?: string }): APIGatewayProxyEvent {
  const { token: _token, ...eventOptions } = options;
  return buildProxyEvent(method, path, eventOptions);
}

/**
 * The API exactly as deployed (wireApi: environment, SDK clients, stores, Powertools, middy) on the
 * local runtime's stand-ins, invoked in process: no HTTP front, so thousands of requests stay fast.
 * Only DNS is injected.
 */
export async function startApiStack(options: {
  settings?: DeploymentSettingsInput;
  resolve: Resolver;
  logLevel?: string;
}): Promise<ApiStack> {
  const runtime = await startLocalRuntime({ settings: options.settings ?? {}, queueVisibilitySeconds: { events: 300, deliveries: 300 } });
  runtime.applyEnv();
  process.env.POWERTOOLS_LOG_LEVEL = options.logLevel ?? 'WARN';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const handler = wireApi(runtime.env, { resolve: options.resolve });
  const doc = createDocumentClient();
  const secretsClient = createSecretsClient();
  const tokens = new TokensStore(doc, runtime.tables.tokens);

  return {
    runtime,
    subscriptions: new SubscriptionsStore(doc, runtime.tables.subscriptions),
    events: new EventsStore(doc, runtime.tables.events),
    deliveries: new DeliveriesStore(doc, runtime.tables.deliveries),
    tokens,
    secrets: testSigningSecrets(secretsClient, runtime.env[ENV.sealingKeySecret]),
    async call(method, path, call = {}) {
      let authorization: string | undefined;
      if (typeof call.token === 'string') authorization = call.token.startsWith('raw:') ? call.token.slice(4) : `Bearer ${call.token}`;
      const result = await handler(
        proxyEvent(method, path, { ...call, ...(authorization === undefined ? {} : { authorization }) }),
        createLambdaContext('hookline-api', 29_000),
      );
      const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]));
      let body: unknown;
      if (result.body !== '') body = JSON.parse(result.body);
      return { status: result.statusCode, headers, body, raw: result.body };
    },
    async issueToken(fleets) {
      const id = newTokenId();
      const secret = generateApiTokenSecret();
      await tokens.create({ id, secretHash: hashTokenSecret(secret), fleets, createdAt: new Date().toISOString() });
      return { id, token: formatApiToken(id, secret) };
    },
    async stop() {
      doc.destroy();
      secretsClient.destroy();
      await runtime.stop();
    },
  };
}

/** The secret part of an API token (base64url may itself contain `_`, so the token's own parser splits it). */
export function tokenSecretOf(token: string): string {
  const parsed = parseApiToken(token);
  if (parsed === undefined) throw new Error('not an API token');
  return parsed.secret;
}
