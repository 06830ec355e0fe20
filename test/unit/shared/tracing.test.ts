import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import { build } from 'esbuild';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { STACK_BUNDLING } from '../../../bench/sections/bundles';
import { tracingDefine } from '../../../lib/functions';

/**
 * Tracing modes: by default no X-Ray SDK in a handler's bundle (its import alone installs an
 * async hook on every promise); with `sdk` the Powertools Tracer is loaded on the first
 * invocation and instruments the clients handed to it.
 */
describe('tracing', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it.each(['dispatcher', 'fanout', 'api'])('the %s bundle built as the construct builds it leaves the X-Ray SDK out by default', async (handler) => {
    const { metafile } = await build({
      ...STACK_BUNDLING,
      entryPoints: [`lambdas/${handler}/handler.ts`],
      define: tracingDefine('lambda'),
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(metafile.inputs);
    expect(inputs.some((path) => path.includes('lambdas/shared/observability.ts'))).toBe(true);
    expect(inputs.filter((path) => path.includes('aws-xray-sdk-core') || path.includes('powertools/tracer'))).toEqual([]);
  }, 120_000);

  it('the sdk bundle keeps the Tracer', async () => {
    const { metafile } = await build({
      ...STACK_BUNDLING,
      entryPoints: ['lambdas/dispatcher/handler.ts'],
      define: tracingDefine('sdk'),
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    expect(Object.keys(metafile.inputs).some((path) => path.includes('aws-xray-sdk-core'))).toBe(true);
  }, 120_000);

  it('every handler module wires up in both modes', async () => {
    for (const mode of ['', 'sdk']) {
      vi.stubEnv('HOOKLINE_TRACING', mode);
      vi.resetModules();
      const { createObservability } = await import('../../../lambdas/shared/observability');
      // middy refuses a middleware object without before, after or onError.
      expect(() => middy(async () => 1).use(createObservability('hookline-test').tracing.middlewares())).not.toThrow();
    }
  });

  it('by default the middleware does nothing and clients are left as they are', async () => {
    vi.stubEnv('HOOKLINE_TRACING', '');
    const { createObservability } = await import('../../../lambdas/shared/observability');
    const { tracing } = createObservability('hookline-test');
    const client = new SQSClient({ region: 'us-east-1' });
    const before = client.middlewareStack.identify();
    expect(tracing.mode).toBe('lambda');
    expect(tracing.client(client)).toBe(client);
    expect(tracing.middlewares()).toEqual([]);
    expect(client.middlewareStack.identify()).toEqual(before);
  });

  it('with sdk, the first invocation loads the Tracer and instruments the clients', async () => {
    vi.stubEnv('HOOKLINE_TRACING', 'sdk');
    // Outside Lambda the Tracer disables itself; these make it act as deployed.
    vi.stubEnv('AWS_EXECUTION_ENV', 'AWS_Lambda_nodejs22.x');
    vi.stubEnv('POWERTOOLS_TRACE_ENABLED', 'true');
    vi.stubEnv('AWS_XRAY_CONTEXT_MISSING', 'IGNORE_ERROR');
    const { createObservability } = await import('../../../lambdas/shared/observability');
    const { tracing } = createObservability('hookline-test');
    const client = tracing.client(new SQSClient({ region: 'us-east-1' }));
    expect(tracing.mode).toBe('sdk');
    expect(client.middlewareStack.identify().some((entry) => /xray/i.test(entry))).toBe(false);
    const [middleware] = tracing.middlewares();
    expect(middleware?.before).toBeTypeOf('function');
    await middleware?.before?.({ event: {}, context: { functionName: 'hookline-test' }, response: undefined, error: undefined, internal: {} } as never);
    expect(client.middlewareStack.identify().some((entry) => /xray/i.test(entry))).toBe(true);
  });
});
