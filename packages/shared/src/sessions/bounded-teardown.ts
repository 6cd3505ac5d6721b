import type { SessionStepDeps } from './steps/deps.ts';
import {
  archiveLdsStep,
  beginTeardownStep,
  completeTeardownStep,
  deleteLabStep,
  releaseCapacityStep,
} from './steps/teardown.ts';
import { recordTeardownFailure, teardownBoundPassed } from './teardown-failure.ts';

/**
 * The session workflow's teardown steps in order, for one session, outside the workflow (the
 * stuck-session sweep runs it for sessions whose execution is gone). Each step is idempotent.
 * Bounded like the workflow's (issue 12, item 4): a step failing once the session's teardown
 * bound has passed records TEARDOWN_FAILED with what was left (sessions/teardown-failure.ts),
 * and a lab that still cannot be deleted stops the run before ReleaseCapacity (the lab holds the
 * capacity until an operator force-releases). Either way the run throws, so the sweep reports it.
 */
export class TeardownFailedError extends Error {
  constructor(sessionId: string, step: string, cause?: unknown) {
    super(`session ${sessionId}: teardown failed at ${step} (TEARDOWN_FAILED; force-release to free it)`, {
      cause,
    });
    this.name = 'TeardownFailed';
  }
}

export type TeardownWhy = { Error: string; Cause: string };

export function boundedSessionTeardown(deps: SessionStepDeps) {
  return async (sessionId: string, why: TeardownWhy): Promise<void> => {
    const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
      try {
        return await run();
      } catch (e) {
        const session = await deps.stores.sessions.getSession(sessionId);
        if (teardownBoundPassed(deps, session)) {
          await recordTeardownFailure(deps, sessionId, { step: name, error: e });
        }
        throw e;
      }
    };
    await step('BeginTeardown', () => beginTeardownStep(deps, { sessionId, error: why }));
    const lab = await step('DeleteLab', () => deleteLabStep(deps, { sessionId }));
    if (lab.gaveUp) throw new TeardownFailedError(sessionId, 'DeleteLab');
    await step('ReleaseCapacity', () => releaseCapacityStep(deps, { sessionId }));
    await step('ArchiveLdsSession', () => archiveLdsStep(deps, { sessionId }));
    await step('CompleteTeardown', () => completeTeardownStep(deps, { sessionId }));
  };
}
