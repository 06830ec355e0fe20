import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { badRequest, ClientError, malformedJson, payloadTooLarge } from '../core/errors';
import { findInexactNumber, inexactNumberReason } from '../core/json-numbers';
import { fieldName } from './validation';

/** A REST proxy event reduced to what the routes read: lower-case headers, one value per query key. */
export interface ApiRequest {
  method: string;
  /** Still percent-encoded, as API Gateway REST APIs deliver it. */
  path: string;
  headers: Readonly<Record<string, string>>;
  query: Readonly<Record<string, string>>;
  /** Raw body bytes (base64 bodies decoded); undefined when the request had none. */
  body: Buffer | undefined;
  requestId: string;
  /**
   * Where this API is reached, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/v1`: the
   * scheme from X-Forwarded-Proto (API Gateway sets it), the host API Gateway saw, and the base
   * path in front of the route (the stage, or a custom domain's mapping), as the gateway reports it.
   */
  baseUrl?: string;
}

/** Bodies sent back to the caller; `undefined` means no body (204). */
export interface ApiResult {
  statusCode: number;
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * A non-JSON body, sent as is: plain text by default (a provider handshake that wants the bare
   * value), or with the route's own content-type (the console's HTML and assets).
   */
  text?: string;
}

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

/**
 * Normalises a proxy event. Repeated query keys are refused here (with the key named) rather than
 * silently taking one of the values, because a filter applied twice is almost always a client bug.
 */
export function readRequest(event: APIGatewayProxyEvent, fallbackRequestId: string): ApiRequest {
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (typeof value === 'string') headers[name.toLowerCase()] = value;
  }
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    const key = name.toLowerCase();
    if (headers[key] === undefined && Array.isArray(values) && values.length > 0) headers[key] = values.join(', ');
  }

  const query: Record<string, string> = Object.create(null) as Record<string, string>;
  const repeated: string[] = [];
  const multi = event.multiValueQueryStringParameters ?? {};
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
    if (typeof value !== 'string') continue;
    if ((multi[name]?.length ?? 1) > 1) repeated.push(name);
    query[name] = value;
  }
  if (repeated.length > 0) {
    throw badRequest(repeated.map((field) => ({ field, reason: 'must be given at most once' })));
  }

  let body: Buffer | undefined;
  if (typeof event.body === 'string' && event.body.length > 0) {
    body = Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  }
  return {
    method: event.httpMethod.toUpperCase(),
    path: event.path,
    headers,
    query,
    body,
    requestId: event.requestContext?.requestId || fallbackRequestId,
    ...publicBaseUrl(event, headers),
  };
}

/**
 * Where the caller reached this API: API Gateway's context path carries the stage (or a custom
 * domain's base path) in front of the resource path. Behind API Gateway the scheme is always https.
 */
function publicBaseUrl(event: APIGatewayProxyEvent, headers: Readonly<Record<string, string>>): { baseUrl?: string } {
  // The host API Gateway saw (a custom domain's, not the execute-api one behind it); the Host header locally.
  const host = event.requestContext?.domainName || headers.host;
  if (host === undefined || !/^[A-Za-z0-9.:[\]-]{1,255}$/.test(host)) return {};
  const contextPath = event.requestContext?.path;
  const prefix =
    typeof contextPath === 'string' && contextPath.endsWith(event.path) ? contextPath.slice(0, contextPath.length - event.path.length) : '';
  if (!/^(\/[A-Za-z0-9._~-]+)*$/.test(prefix)) return {};
  const loopback = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.test(host);
  const forwarded = headers['x-forwarded-proto'];
  const scheme = forwarded === 'http' || forwarded === 'https' ? forwarded : loopback ? 'http' : 'https';
  return { baseUrl: `${scheme}://${host}${prefix}` };
}

/**
 * Parses a JSON body. `undefined` for an empty body lets the schema report a missing body as a
 * field problem instead of a parse error.
 */
export function parseJsonBody(body: Buffer | undefined, limitBytes: number): unknown {
  if (body === undefined) return undefined;
  if (body.length > limitBytes) throw payloadTooLarge(limitBytes);
  const text = body.toString('utf8');
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (error) {
    throw malformedJson(error);
  }
  const protoPath = findProtoKey(value);
  if (protoPath !== undefined) throw badRequest([{ field: protoPath, reason: 'is not allowed as a key' }]);
  // JSON.parse would round such a number silently; the caller learns which one instead.
  const inexact = findInexactNumber(text);
  if (inexact !== undefined) {
    throw badRequest([{ field: inexact.path.length === 0 ? 'body' : fieldName(inexact.path), reason: inexactNumberReason(inexact) }]);
  }
  return value;
}

/**
 * JSON.parse keeps `"__proto__"` as an own key, but any later copy by assignment would turn it
 * into a prototype. Refusing it anywhere in a body keeps that from ever mattering. Iterative, so
 * a deeply nested body cannot overflow the stack.
 */
function findProtoKey(root: unknown): string | undefined {
  const stack: { value: unknown; path: string }[] = [{ value: root, path: '' }];
  while (stack.length > 0) {
    const { value, path } = stack.pop() as { value: unknown; path: string };
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      value.forEach((item, index) => stack.push({ value: item, path: `${path}[${index}]` }));
      continue;
    }
    for (const [key, child] of Object.entries(value)) {
      const childPath = path === '' ? key : `${path}.${key}`;
      if (key === '__proto__') return childPath;
      stack.push({ value: child, path: childPath });
    }
  }
  return undefined;
}

export function toProxyResult(result: ApiResult): APIGatewayProxyResult {
  if (result.text !== undefined) {
    return {
      statusCode: result.statusCode,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...result.headers },
      body: result.text,
    };
  }
  if (result.body === undefined) {
    return { statusCode: result.statusCode, headers: { 'cache-control': 'no-store', ...result.headers }, body: '' };
  }
  return {
    statusCode: result.statusCode,
    headers: { ...JSON_HEADERS, ...result.headers },
    body: JSON.stringify(result.body),
  };
}

export function clientErrorResult(error: ClientError): ApiResult {
  const headers: Record<string, string> = {};
  if (error.statusCode === 401) headers['www-authenticate'] = 'Bearer realm="hookline"';
  return {
    statusCode: error.statusCode,
    headers: { ...headers, ...allowHeader(error) },
    body: { error: { code: error.code, message: error.message, details: error.details } },
  };
}

/** 405 answers name the methods the route does support. */
export class MethodNotAllowedError extends ClientError {
  override name = 'MethodNotAllowedError';
  constructor(
    method: string,
    readonly allowed: readonly string[],
  ) {
    super(405, 'method_not_allowed', `Method ${method} is not allowed on this route.`, [
      { field: 'method', reason: `must be one of ${allowed.join(', ')}` },
    ]);
  }
}

function allowHeader(error: ClientError): Record<string, string> {
  return error instanceof MethodNotAllowedError ? { allow: error.allowed.join(', ') } : {};
}

/** The generic 5xx body: the cause stays in the logs, the request id lets an operator find it. */
export function internalErrorResult(requestId: string): ApiResult {
  return {
    statusCode: 500,
    body: { error: { code: 'internal', message: 'Internal error', requestId } },
  };
}
