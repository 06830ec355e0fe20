import diagnosticsChannel from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';

/**
 * Times every undici request from creation to the end of its response, through undici's own
 * diagnostics channels. Hookline's HTTP delivery and the bare undici baseline both run on undici,
 * so one probe measures both the same way, without touching the code under test.
 */
export interface HttpProbe {
  /** Starts collecting (drops earlier samples). */
  start(): void;
  /** Stops collecting and returns the durations in ms. */
  stop(): number[];
  dispose(): void;
}

export function createHttpProbe(): HttpProbe {
  const started = new WeakMap<object, number>();
  let samples: number[] = [];
  let active = false;
  const onCreate = (message: unknown) => {
    if (active) started.set((message as { request: object }).request, performance.now());
  };
  const onComplete = (message: unknown) => {
    const request = (message as { request: object }).request;
    const at = started.get(request);
    if (at === undefined) return;
    started.delete(request);
    samples.push(performance.now() - at);
  };
  diagnosticsChannel.subscribe('undici:request:create', onCreate);
  diagnosticsChannel.subscribe('undici:request:trailers', onComplete);
  return {
    start: () => {
      samples = [];
      active = true;
    },
    stop: () => {
      active = false;
      return samples;
    },
    dispose: () => {
      diagnosticsChannel.unsubscribe('undici:request:create', onCreate);
      diagnosticsChannel.unsubscribe('undici:request:trailers', onComplete);
    },
  };
}
