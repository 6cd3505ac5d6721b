import type { DepsParts, StepHandler, StepKind } from '../platform/index.ts';
import { stepHandler } from '../platform/index.ts';
import type { SessionStepDeps } from '../sessions/index.ts';
import { toWorkflowError, WORKFLOW_ERRORS } from '../sessions/index.ts';
import type { SessionTaskEnv } from './env.ts';
import { sessionTaskDeps } from './session-env.ts';

/**
 * The session workflow's tasks (functions/tasks/*.ts) through the runtime kit's step wrapper:
 * the task and session id on every log line, errors under the names the state machine matches
 * (`toWorkflowError`), the outcomes the workflow expects (termination, no capacity) logged as
 * info. A handler is one line: `export const handler = sessionTask('PlaceSession', placeStep);`
 * plus, for the tasks that need it, the heavy parts they wire: `{ evidence: evidenceStore }`,
 * `{ engine: sessionEngine }`.
 */
export const SESSION_TASK: StepKind = {
  key: 'task',
  subject: 'sessionId',
  toError: toWorkflowError,
  expected: {
    names: new Set([WORKFLOW_ERRORS.terminated, WORKFLOW_ERRORS.noCapacity]),
    level: 'info',
    message: 'task ended the workflow path',
  },
};

export function sessionTask<I, O>(
  name: string,
  step: (deps: SessionStepDeps, input: I) => Promise<O>,
  parts: DepsParts<SessionStepDeps, SessionTaskEnv> = {},
): StepHandler<I, O> {
  return stepHandler(SESSION_TASK, name, step, sessionTaskDeps.with(parts));
}
