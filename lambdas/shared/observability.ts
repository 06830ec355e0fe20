import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

export interface Observability {
  logger: Logger;
  metrics: Metrics;
  tracer: Tracer;
}

/**
 * Powertools logger, metrics (EMF) and tracer for one function. Service name, namespace and log
 * level come from the POWERTOOLS_* variables the construct sets; these are only fallbacks.
 * Log lines carry ids, never secrets, bodies' signatures or tokens.
 */
export function createObservability(serviceName: string): Observability {
  const namespace = process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Hookline';
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace, serviceName }),
    tracer: new Tracer({ serviceName, enabled: process.env.POWERTOOLS_TRACE_ENABLED !== 'false' }),
  };
}
