import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import type { IntegrationLogger } from '../platform/index.ts';
import type { SessionStepDeps } from '../sessions/index.ts';
import { toWorkflowError, WORKFLOW_ERRORS } from '../sessions/index.ts';
import { LIFECYCLE_ENV_KEYS, lifecycleDepsFromEnv } from './session-env.ts';

/**
 * The wrapper every session-workflow task handler (functions/tasks/*.ts) uses: Powertools Logger
 * with the Lambda context and the task/session keys, dependencies from the environment (once per
 * cold start), and errors reported under the names the state machine matches
 * (`toWorkflowError`). Handlers stay one line: `export const handler = lifecycleTask('X', xStep)`.
 */

export const taskLogger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'lcm-session-workflow',
});

/** The integration clients' log lines (method, path, status; never bodies) through the task logger. */
const integrationLogger: IntegrationLogger = {
  debug: (message, extra) => taskLogger.debug(message, { ...extra }),
  warn: (message, extra) => taskLogger.warn(message, { ...extra }),
};

let cached: { key: string; deps: SessionStepDeps } | undefined;

/** The process's task dependencies, rebuilt when the environment they come from changes. */
export function taskDeps(): SessionStepDeps {
  const key = LIFECYCLE_ENV_KEYS.map((k) => process.env[k] ?? '').join('\u0000');
  if (cached?.key !== key) cached = { key, deps: lifecycleDepsFromEnv(process.env, integrationLogger) };
  return cached.deps;
}

/** Expected outcomes the workflow handles by design: logged as info, not as errors. */
const EXPECTED: ReadonlySet<string> = new Set([WORKFLOW_ERRORS.terminated, WORKFLOW_ERRORS.noCapacity]);

export function lifecycleTask<I, O>(
  taskName: string,
  step: (deps: SessionStepDeps, input: I) => Promise<O>,
  opts: { deps?: () => SessionStepDeps } = {},
): (event: I, context?: Context) => Promise<O> {
  const depsOf = opts.deps ?? taskDeps;
  return async (event, context) => {
    if (context) taskLogger.addContext(context);
    const sessionId = (event as { sessionId?: unknown } | null)?.sessionId;
    taskLogger.appendKeys({
      task: taskName,
      sessionId: typeof sessionId === 'string' ? sessionId : undefined,
    });
    const started = performance.now();
    const durationMs = () => Math.round(performance.now() - started);
    try {
      const out = await step(depsOf(), event);
      taskLogger.info('task completed', { durationMs: durationMs() });
      return out;
    } catch (e) {
      const error = toWorkflowError(e);
      const details = { durationMs: durationMs(), errorName: error.name, errorMessage: error.message };
      if (EXPECTED.has(error.name)) taskLogger.info('task ended the workflow path', details);
      else taskLogger.error('task failed', { ...details, error: e as Error });
      throw error;
    } finally {
      taskLogger.removeKeys(['task', 'sessionId']);
    }
  };
}
