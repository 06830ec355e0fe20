import { defineConfig } from 'vitest/config';

/**
 * One vitest run holds every lane as a project: `npm test` (and CI) runs them all, and
 * `npm run test:unit` runs only the fast ones (the `unit` project). A test file belongs to
 * the lane of its folder; docs/architecture.md says which folder is which.
 */
const lane = (name: string, include: string[], exclude: string[] = [], options: object = {}) => ({
  extends: true as const,
  test: { name, include, exclude, ...options },
});

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
    projects: [
      // Pure functions and the handlers over in-memory fakes (loopback HTTP at most): seconds. They
      // mock no module and set no environment, so a few worker processes run them all with one
      // module cache; a fresh process per file spends most of the lane starting and importing. An
      // AWS client mock patches the client class itself, so it comes from mockAwsClient
      // (test/support/aws-mock.ts), which puts the class back after the file (lint enforces it).
      lane('unit', ['test/unit/**/*.test.ts'], [], { isolate: false }),
      // The local AWS stand-ins (dynalite, SQS, EventBridge, Secrets Manager) and the pipeline over them.
      lane('integration', ['test/integration/**/*.test.ts']),
      // Faults, fuzzing, limits, crash safety, tenancy and SSRF.
      lane('reliability', ['test/reliability/**/*.test.ts']),
      // `npm start` as a user runs it, and the CLI; the console in a headless browser is its own lane.
      lane('e2e', ['test/e2e/**/*.test.ts'], ['test/e2e/console.test.ts']),
      lane('browser', ['test/e2e/console.test.ts']),
      // The construct: synth, cdk-nag and props validation.
      lane('cdk', ['test/cdk/**/*.test.ts']),
      // The benchmark's smoke run (the full benchmark is `npm run bench`).
      lane('bench', ['test/bench/**/*.test.ts']),
    ],
    // `npm run test:coverage`: line and branch coverage of the pure core, where the rules live.
    coverage: {
      provider: 'v8',
      include: ['lambdas/core/**/*.ts'],
      reporter: ['text-summary', 'html'],
      reportsDirectory: 'coverage',
    },
  },
});
