import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { describeError, type LocalLogger } from './logger';

/** An error the AWS JSON protocol reports as `{"__type": type, "message": ...}` with `statusCode`. */
export class AwsServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
    this.name = type;
  }
}

export type AwsJsonInput = Readonly<Record<string, unknown>>;
/** What an operation may need of its request beyond the input. */
export interface AwsJsonContext {
  /** Aborted when the client goes away before the answer is sent (e.g. an abandoned long poll). */
  readonly signal: AbortSignal;
}
export type AwsJsonOperation = (input: AwsJsonInput, context: AwsJsonContext) => unknown;

export interface AwsJsonServerOptions {
  /** The `X-Amz-Target` prefix before the dot, e.g. `secretsmanager` or `AWSEvents`. */
  targetPrefix: string;
  operations: Readonly<Record<string, AwsJsonOperation>>;
  maxBodyBytes: number;
  logger: LocalLogger;
  /** The protocol's content type; default `application/x-amz-json-1.1` (SQS speaks 1.0). */
  contentType?: string;
  /** Extra headers of an error answer (SQS adds `x-amzn-query-error`). */
  errorHeaders?: (error: AwsServiceError) => Readonly<Record<string, string>>;
}

const DEFAULT_CONTENT_TYPE = 'application/x-amz-json-1.1';

/**
 * An HTTP server speaking the AWS JSON 1.0/1.1 protocol the SDK v3 clients use: POST /, operation in
 * `X-Amz-Target`, JSON in and out, errors typed by `__type`. Credentials are accepted unchecked.
 */
export function createAwsJsonServer(options: AwsJsonServerOptions): Server {
  return createServer((request, response) => {
    handle(options, request, response).catch((error: unknown) => {
      options.logger.error(`${options.targetPrefix} stand-in could not answer: ${describeError(error)}`);
      response.destroy();
    });
  });
}

async function handle(options: AwsJsonServerOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const requestId = randomUUID();
  const contentType = options.contentType ?? DEFAULT_CONTENT_TYPE;
  const gone = new AbortController();
  response.once('close', () => {
    if (!response.writableFinished) gone.abort();
  });
  try {
    const result = await dispatch(options, request, { signal: gone.signal });
    send(response, contentType, 200, requestId, result ?? {});
  } catch (error) {
    if (error instanceof AwsServiceError) {
      const headers = { 'x-amzn-errortype': error.type, ...options.errorHeaders?.(error) };
      send(response, contentType, error.statusCode, requestId, { __type: error.type, message: error.message }, headers);
      return;
    }
    options.logger.error(`${options.targetPrefix} stand-in failed: ${describeError(error)}`);
    send(response, contentType, 500, requestId, { __type: 'InternalFailure', message: 'The request processing has failed.' }, { 'x-amzn-errortype': 'InternalFailure' });
  }
}

async function dispatch(options: AwsJsonServerOptions, request: IncomingMessage, context: AwsJsonContext): Promise<unknown> {
  const body = await readBody(request, options.maxBodyBytes);
  if (request.method !== 'POST') throw new AwsServiceError('UnknownOperationException', 'Only POST is supported.', 404);
  const target = request.headers['x-amz-target'];
  const prefix = `${options.targetPrefix}.`;
  const operationName = typeof target === 'string' && target.startsWith(prefix) ? target.slice(prefix.length) : '';
  const operation = Object.hasOwn(options.operations, operationName) ? options.operations[operationName] : undefined;
  if (operation === undefined) {
    throw new AwsServiceError('UnknownOperationException', `Unknown operation ${String(target ?? '(none)')}.`);
  }
  return operation(parseInput(body), context);
}

function readBody(request: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        request.removeAllListeners('data');
        request.resume();
        reject(new AwsServiceError('SerializationException', `Request body exceeds ${maxBytes} bytes.`, 413));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function parseInput(body: string): AwsJsonInput {
  if (body.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new AwsServiceError('SerializationException', 'The request body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AwsServiceError('SerializationException', 'The request body must be a JSON object.');
  }
  return parsed as AwsJsonInput;
}

function send(
  response: ServerResponse,
  contentType: string,
  status: number,
  requestId: string,
  payload: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  // A client that went away (an abandoned long poll) has nobody to answer.
  if (response.destroyed) return;
  const body = JSON.stringify(payload);
  response.writeHead(status, {
    ...headers,
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': requestId,
  });
  response.end(body);
}
