import { wireDispatcher } from '../lambdas/dispatcher/wiring';
import { defaultDispatcherTimeoutSeconds } from '../lambdas/core/settings';
import { wireFanout } from '../lambdas/fanout/wiring';
import { createSqsClient } from '../lambdas/shared/clients';
import { ENV } from '../lambdas/shared/environment';
import type { Resolver } from '../lambdas/shared/http-delivery';
import { startEventSourceMapping, type EventSourceMappingOptions } from './event-source-mapping';
import type { LocalLogger } from './logger';
import { DEFAULT_DISPATCHER_POLLERS, type LocalRuntime } from './runtime';

export interface PipelineOptions {
  /** Concurrent dispatcher invocations (pollers on the deliveries queue), like the mapping's maxConcurrency. */
  dispatcherConcurrency?: number;
  /** Concurrent fan-out invocations. */
  fanoutConcurrency?: number;
  /** Hostname resolution for deliveries (the address policy still applies to what it returns). */
  resolver?: Resolver;
  /** Records per invocation, 1–10 (the construct deploys 10). */
  batchSize?: number;
  /** Long-poll wait; stop() does not wait for it. */
  waitTimeSeconds?: number;
  /** Function timeouts (the construct's default is 60 s for both). */
  dispatcherTimeoutMs?: number;
  fanoutTimeoutMs?: number;
  /** Simulated Lambda throttling of dispatcher batches (see EventSourceMappingOptions.throttle). */
  dispatcherThrottle?: EventSourceMappingOptions['throttle'];
  logger?: LocalLogger;
}

export interface Pipeline {
  /** Stops polling, waits for running invocations, closes the dispatcher's connections; idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_FUNCTION_TIMEOUT_MS = 60_000;

/**
 * Runs the fan-out and dispatcher on a local runtime's queues the way Lambda does: the same
 * handler wiring the Lambda modules export (environment, SDK clients, stores, middy), invoked by
 * event source mapping stand-ins. The runtime's environment is applied to `process.env` first,
 * because the SDK clients take their stand-in endpoints from it.
 */
export function startPipeline(runtime: LocalRuntime, options: PipelineOptions = {}): Pipeline {
  runtime.applyEnv();
  const fanout = wireFanout(runtime.env);
  const dispatcherConcurrency = options.dispatcherConcurrency ?? DEFAULT_DISPATCHER_POLLERS;
  const dispatcher = wireDispatcher(
    { ...runtime.env, [ENV.dispatcherConcurrency]: String(dispatcherConcurrency) },
    options.resolver === undefined ? {} : { resolve: options.resolver },
  );
  const sqs = createSqsClient();
  const shared = {
    sqs,
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    ...(options.waitTimeSeconds === undefined ? {} : { waitTimeSeconds: options.waitTimeSeconds }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  };
  const mappings = [
    startEventSourceMapping({
      ...shared,
      queueUrl: runtime.queues.eventsUrl,
      queueArn: runtime.queues.eventsArn,
      handler: fanout,
      functionName: 'hookline-fanout',
      concurrency: options.fanoutConcurrency ?? 1,
      timeoutMs: options.fanoutTimeoutMs ?? DEFAULT_FUNCTION_TIMEOUT_MS,
    }),
    startEventSourceMapping({
      ...shared,
      queueUrl: runtime.queues.deliveriesUrl,
      queueArn: runtime.queues.deliveriesArn,
      handler: dispatcher.handler,
      functionName: 'hookline-dispatcher',
      concurrency: dispatcherConcurrency,
      // As deployed: long attempts (maxAttemptTimeoutSeconds) get a dispatcher timeout above them.
      timeoutMs: options.dispatcherTimeoutMs ?? Math.max(DEFAULT_FUNCTION_TIMEOUT_MS, defaultDispatcherTimeoutSeconds(runtime.settings) * 1000),
      ...(options.dispatcherThrottle === undefined ? {} : { throttle: options.dispatcherThrottle }),
    }),
  ];
  let stopping: Promise<void> | undefined;
  return {
    stop: () => {
      stopping ??= (async () => {
        await Promise.all(mappings.map((mapping) => mapping.stop()));
        await dispatcher.close();
        sqs.destroy();
      })();
      return stopping;
    },
  };
}
