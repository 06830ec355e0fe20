import { OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';
import { FUNCTION_BUNDLING, PACKAGED_TRACING, tracingDefine, type FunctionTracing } from './functions';

/**
 * FUNCTION_BUNDLING as esbuild options: what `cdk synth` builds each Lambda with, for the construct
 * package's prebuilt bundles and the benchmark's bundle section. An option this does not know fails
 * rather than being dropped, so the prebuilt bundles never differ from a synthesized one.
 */
export function lambdaBuildOptions(tracing: FunctionTracing = PACKAGED_TRACING): BuildOptions {
  const known = new Set(['minify', 'sourceMap', 'sourcesContent', 'target', 'format', 'bundleAwsSDK', 'mainFields', 'forceDockerBundling']);
  const unknown = Object.keys(FUNCTION_BUNDLING).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new Error(`lib/bundling.ts does not map FUNCTION_BUNDLING.${unknown.join(', ')} to esbuild`);
  if (!FUNCTION_BUNDLING.bundleAwsSDK) throw new Error('the prebuilt bundles include the AWS SDK, as FUNCTION_BUNDLING says');
  return {
    bundle: true,
    platform: 'node',
    target: FUNCTION_BUNDLING.target,
    format: FUNCTION_BUNDLING.format === OutputFormat.CJS ? 'cjs' : 'esm',
    minify: FUNCTION_BUNDLING.minify,
    sourcemap: FUNCTION_BUNDLING.sourceMap,
    sourcesContent: FUNCTION_BUNDLING.sourcesContent,
    mainFields: [...FUNCTION_BUNDLING.mainFields],
    // The tracing mode is compiled in, as HooklineFunction does.
    define: tracingDefine(tracing),
  };
}
