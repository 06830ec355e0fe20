import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';

/**
 * How a function traces. The construct turns Lambda's active tracing on either way.
 *
 * - `lambda` (default): the X-Ray SDK is not loaded. X-Ray still shows every invocation from
 *   Lambda's own segments (the function and its service-map node, init, duration, errors, the
 *   trace continued from SQS or API Gateway); it loses what the SDK adds: the handler subsegment
 *   with its cold-start and service annotations, and one subsegment per DynamoDB, SQS, Secrets
 *   Manager or EventBridge call. The benchmark (section 1) measures why: the SDK's async hook,
 *   installed by its import alone on every promise, and the per-call subsegments cost about as
 *   much CPU as a delivery itself.
 * - `sdk`: the Powertools Tracer (and with it the X-Ray SDK) is loaded on the first invocation and
 *   adds those subsegments. Outbound HTTP is not captured: a webhook URL's path or query may carry
 *   the receiver's own credential, which must not land in a trace.
 *
 * The construct compiles the mode into the bundle (`process.env.HOOKLINE_TRACING` is replaced at
 * build time), so a `lambda` bundle does not contain the X-Ray SDK at all.
 */
export type TracingMode = 'lambda' | 'sdk';

export interface Tracing {
  mode: TracingMode;
  /** Adds the AWS-call subsegments to an SDK client (in `sdk` mode); returns the client. */
  client<T extends object>(client: T): T;
  /** For middy's `use`: the handler's subsegment in `sdk` mode, none otherwise (middy refuses an empty middleware). */
  middlewares(): MiddlewareObj<unknown, unknown>[];
}

export interface Observability {
  logger: Logger;
  metrics: Metrics;
  tracing: Tracing;
}

/**
 * Powertools logger and metrics (EMF), and tracing, for one function. Service name, namespace and
 * log level come from the POWERTOOLS_* variables the construct sets; these are only fallbacks.
 * Log lines carry ids, never secrets, bodies' signatures or tokens.
 */
export function createObservability(serviceName: string): Observability {
  const namespace = process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Hookline';
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace, serviceName }),
    tracing: createTracing(serviceName),
  };
}

type TracerModules = [typeof import('@aws-lambda-powertools/tracer'), typeof import('@aws-lambda-powertools/tracer/middleware')];

function createTracing(serviceName: string): Tracing {
  // Spelled out in full, with the imports inside the branch: the bundler's define turns the
  // condition into a constant, and then leaves the branch, and the X-Ray SDK, out of the bundle.
  if (process.env.HOOKLINE_TRACING === 'sdk') {
    return sdkTracing(serviceName, () =>
      Promise.all([import('@aws-lambda-powertools/tracer'), import('@aws-lambda-powertools/tracer/middleware')]),
    );
  }
  return { mode: 'lambda', client: (client) => client, middlewares: () => [] };
}

function sdkTracing(serviceName: string, importTracer: () => Promise<TracerModules>): Tracing {
  const clients: object[] = [];
  let loading: Promise<MiddlewareObj<unknown, unknown>> | undefined;
  const load = () => {
    loading ??= (async () => {
      // Loaded on first use, not at import: importing the X-Ray SDK installs a process-wide async hook.
      const [{ Tracer }, { captureLambdaHandler }] = await importTracer();
      const tracer = new Tracer({ serviceName, captureHTTPsRequests: false, enabled: process.env.POWERTOOLS_TRACE_ENABLED !== 'false' });
      for (const client of clients) tracer.captureAWSv3Client(client as Parameters<typeof tracer.captureAWSv3Client>[0]);
      return captureLambdaHandler(tracer) as MiddlewareObj<unknown, unknown>;
    })();
    return loading;
  };
  return {
    mode: 'sdk',
    client: (client) => {
      clients.push(client);
      return client;
    },
    middlewares: () => [
      {
        before: async (request) => (await load()).before?.(request),
        after: async (request) => (await load()).after?.(request),
        onError: async (request) => (await load()).onError?.(request),
      },
    ],
  };
}

/** The logging a record handler needs. */
export type RecordLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

type LogAttributes = Record<string, unknown>;

/**
 * A logger that adds `keys` to every line. Powertools' createChild copies the whole logger, which
 * measured ≈60 µs per record against ≈9 µs for a line with the keys passed along; records of one
 * batch run concurrently, so appendKeys on the shared logger is not an option either. One small
 * object per record: its methods live on the prototype, not in four closures per record.
 */
class KeyedLogger implements RecordLogger {
  constructor(
    private readonly logger: Logger,
    private readonly keys: LogAttributes,
  ) {}

  debug(message: string, ...extra: LogAttributes[]): void {
    this.logger.debug(message, this.keys, ...extra);
  }

  info(message: string, ...extra: LogAttributes[]): void {
    this.logger.info(message, this.keys, ...extra);
  }

  warn(message: string, ...extra: LogAttributes[]): void {
    this.logger.warn(message, this.keys, ...extra);
  }

  error(message: string, ...extra: LogAttributes[]): void {
    this.logger.error(message, this.keys, ...extra);
  }
}

export function withKeys(logger: Logger, keys: LogAttributes): RecordLogger {
  return new KeyedLogger(logger, keys);
}
