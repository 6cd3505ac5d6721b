import type { LabletSession } from '../kernel/schemas.ts';
import { MAX_PAGE_SIZE } from '../platform/dynamodb/dynamo.ts';
import { terminateSession } from '../sessions/booking.ts';
import type { LifecycleDeps } from './deps.ts';

/** Reason recorded on sessions whose worker was lost (unreachable, or its instance gone). */
export const WORKER_LOST = 'WORKER_LOST';

export type SessionFailDeps = Pick<LifecycleDeps, 'sessions' | 'definitions' | 'engine' | 'clock'>;

/** Every session holding a placement on the worker (all pages). */
export async function activeSessionsOn(
  deps: Pick<LifecycleDeps, 'sessions'>,
  workerId: string,
): Promise<LabletSession[]> {
  const out: LabletSession[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.sessions.listActiveOnWorker(workerId, { limit: MAX_PAGE_SIZE, cursor });
    out.push(...page.items);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return out;
}

/**
 * Fails every session on the worker into teardown (DESIGN §6): terminationRequestedAt and the
 * reason are recorded, so the session workflow's next step tears down, and a pending wait is
 * failed with `Terminated` through the session workflow engine (terminateSession does both).
 * Returns the ids of the sessions asked to terminate.
 */
export async function failWorkerSessions(
  deps: SessionFailDeps,
  workerId: string,
  reason: string = WORKER_LOST,
): Promise<string[]> {
  const sessions = await activeSessionsOn(deps, workerId);
  const failed: string[] = [];
  for (const s of sessions) {
    const { outcome } = await terminateSession(
      { sessions: deps.sessions, definitions: deps.definitions, engine: deps.engine, clock: deps.clock },
      s.id,
      { by: 'fleet-health', reason },
    );
    if (outcome !== 'noop') failed.push(s.id);
  }
  return failed;
}
