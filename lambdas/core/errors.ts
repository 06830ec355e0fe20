/**
 * Typed errors shared by the handlers. The class decides what happens to the work item: a queue
 * record is retried (RetryableError) or set aside (PermanentError); an API request gets a 4xx
 * (ClientError) or a bare 5xx (anything else, whose message never reaches the caller).
 */

export interface FieldProblem {
  /** Where the problem is, e.g. `url`, `events[2]`, `body`. */
  field: string;
  reason: string;
}

export class HooklineError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }

  // Spelled out per class: minified bundles rename classes, and logs should still say which one.
  override name = 'HooklineError';
}

/** Transient failure: the queue record goes back to the queue and is tried again. */
export class RetryableError extends HooklineError {
  override name = 'RetryableError';
}

/** Retrying cannot help: the record is set aside with this message as the logged reason. */
export class PermanentError extends HooklineError {
  override name = 'PermanentError';
}

/** A stored signing secret that is not `whsec_` + base64; the message never contains the secret. */
export class MalformedSecretError extends PermanentError {
  override name = 'MalformedSecretError';
}

/** An API request the caller must fix; `message` and `details` are shown to the caller. */
export class ClientError extends HooklineError {
  override name = 'ClientError';
  readonly statusCode: number;
  readonly code: string;
  readonly details: FieldProblem[];

  constructor(
    statusCode: number,
    code: string,
    message: string,
    details: FieldProblem[] = [],
    options?: { cause?: unknown },
  ) {
    if (!Number.isInteger(statusCode) || statusCode < 400 || statusCode > 499) {
      throw new RangeError(`ClientError status must be 4xx, got ${statusCode}`);
    }
    super(message, options);
    this.statusCode = statusCode;
    this.code = code;
    this.details = details;
  }
}

export function isClientError(error: unknown): error is ClientError {
  return error instanceof ClientError;
}

export function badRequest(details: FieldProblem[], message = 'The request is invalid.'): ClientError {
  return new ClientError(400, 'invalid_request', message, details);
}

/** Malformed JSON body; the parser's error is kept as `cause` for logs, not shown. */
export function malformedJson(cause?: unknown): ClientError {
  return new ClientError(400, 'malformed_json', 'The request body is not valid JSON.', [
    { field: 'body', reason: 'must be valid JSON' },
  ], { cause });
}

export function conflict(message: string, details: FieldProblem[] = []): ClientError {
  return new ClientError(409, 'conflict', message, details);
}

export function payloadTooLarge(limitBytes: number, field = 'body'): ClientError {
  return new ClientError(413, 'payload_too_large', `The ${field} is larger than ${limitBytes} bytes.`, [
    { field, reason: `must be at most ${limitBytes} bytes` },
  ]);
}

