import diagnosticsChannel from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';

/**
 * Times every HTTP request from creation to its response, through the clients' own diagnostics
 * channels, without touching the code under test: undici's (the bare baseline) from creation to
 * the end of the response, and `node:http`'s (Hookline's delivery) from the request's start to its
 * response head — `node:http` publishes nothing at the body's end; the receiver's bodies are a
 * few bytes, so the two end points are the same packet in practice.
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
  for (const [name, listener] of CHANNELS(onCreate, onComplete)) diagnosticsChannel.subscribe(name, listener);
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
      for (const [name, listener] of CHANNELS(onCreate, onComplete)) diagnosticsChannel.unsubscribe(name, listener);
    },
  };
}

type Listener = (message: unknown) => void;

const CHANNELS = (onCreate: Listener, onComplete: Listener): [string, Listener][] => [
  ['undici:request:create', onCreate],
  ['undici:request:trailers', onComplete],
  ['http.client.request.start', onCreate],
  ['http.client.response.finish', onComplete],
];
