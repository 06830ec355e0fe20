import type { APIGatewayProxyEvent } from 'aws-lambda';

export interface ProxyEventOptions {
  body?: unknown;
  /** Sent exactly as given (malformed JSON, huge bodies). */
  rawBody?: string;
  headers?: Record<string, string>;
  query?: Record<string, string | string[]>;
  authorization?: string;
  requestId?: string;
}

/** An API Gateway REST proxy event as the deployed `/{proxy+}` resource delivers it. */
export function proxyEvent(method: string, path: string, options: ProxyEventOptions = {}): APIGatewayProxyEvent {
  const headers: Record<string, string> = { ...options.headers };
  if (options.authorization !== undefined) headers.Authorization = options.authorization;
  const query: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(options.query ?? {})) {
    const values = Array.isArray(value) ? value : [value];
    if (values.length === 0) continue;
    multi[name] = values;
    query[name] = values[values.length - 1] as string;
  }
  const hasQuery = Object.keys(query).length > 0;
  const body = options.rawBody ?? (options.body === undefined ? null : JSON.stringify(options.body));
  const requestId = options.requestId ?? `req-${Math.random().toString(36).slice(2)}`;
  return {
    resource: '/{proxy+}',
    path,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multi : null,
    pathParameters: { proxy: path.slice(1) },
    stageVariables: null,
    body,
    isBase64Encoded: false,
    requestContext: { requestId, stage: 'test', httpMethod: method } as APIGatewayProxyEvent['requestContext'],
  };
}
