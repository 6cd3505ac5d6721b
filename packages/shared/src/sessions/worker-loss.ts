import { type FailSessionsOn, type FleetSessionQueries, WORKER_LOST } from '../fleet/index.ts';
import type { LabletSession } from '../kernel/index.ts';
import { MAX_PAGE_SIZE } from '../platform/index.ts';
import { type SessionDeps as BookingDeps, terminateSession } from './booking.ts';

export type SessionFailDeps = Pick<BookingDeps, 'sessions' | 'definitions' | 'engine' | 'clock'>;

/** Every session holding a placement on the worker (all pages). */
export async function activeSessionsOn(
  deps: { sessions: FleetSessionQueries },
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

/** The fleet's FailSessionsOn port, implemented by the sessions context. */
export const sessionFailerFor =
  (deps: SessionFailDeps): FailSessionsOn =>
  (workerId, reason) =>
    failWorkerSessions(deps, workerId, reason);
