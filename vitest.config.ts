import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * Test projects: `unit` is pure (no I/O); `integration` runs against one DynamoDB Local
 * started by the global setup; `workflows` runs the ASL locally (aws-local-stepfunctions) with
 * the real task handlers against DynamoDB Local and the simulators; `infra` synthesises the CDK
 * app; `console` renders the web console's pages (jsdom); `e2e` drives `npm start` (the console's
 * browser test among them).
 */

/**
 * Environment of the projects that run Lambda code in the test process: Powertools stays quiet
 * (`POWERTOOLS_LOG_LEVEL=DEBUG npx vitest run …` still shows its logs). Not e2e, which reads the
 * local stack's log lines, nor infra, which runs no handler. A test that reads log lines gives its
 * logger an explicit `logLevel`, which wins over the environment.
 */
const quietLambdaEnv = { POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT' };

/**
 * The content bucket of the projects on DynamoDB Local (issue 11, item 1): definitions keep their
 * topology there by hash, so a test that writes one needs it. A directory, as in the local stack;
 * content-addressed, so the test files share it safely. A test may set its own.
 */
const contentBucketEnv = {
  EVIDENCE_DIR: process.env.EVIDENCE_DIR ?? join(tmpdir(), 'lcm-test-content-bucket'),
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          env: quietLambdaEnv,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          env: { ...quietLambdaEnv, ...contentBucketEnv },
          globalSetup: ['test/support/dynamodb-global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'workflows',
          include: ['test/workflows/**/*.test.ts'],
          env: { ...quietLambdaEnv, ...contentBucketEnv },
          globalSetup: ['test/support/dynamodb-global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          testTimeout: 120_000,
        },
      },
      {
        // The console's components (Testing Library); React's JSX through Vite's transform.
        oxc: { jsx: { runtime: 'automatic' } },
        test: {
          name: 'console',
          include: ['packages/console/test/**/*.test.tsx'],
          environment: 'jsdom',
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
