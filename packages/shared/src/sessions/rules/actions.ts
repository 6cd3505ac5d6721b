import type { LabletSession } from '../../kernel/index.ts';
import {
  isTerminalSession,
  LEARNER_SESSION_STATUSES,
  PRE_READY_SESSION_STATUSES,
} from '../../kernel/index.ts';

/**
 * What a terminate or finish request does to a session, by its status (pure; `booking.ts` reads
 * the session, applies the decision and talks to the workflow engine).
 */

/** The outcome the API reports for POST /v1/sessions/{id}/terminate and /finish. */
export const ACTION_OUTCOMES = [
  /** Went straight to TERMINATED (it had not been placed: nothing to tear down). */
  'terminated',
  /** Recorded; the workflow tears down or moves on (its pending wait, if any, was failed/resolved). */
  'requested',
  /** Nothing to do in this status (already over, or already past that point). */
  'noop',
] as const;
export type ActionOutcome = (typeof ACTION_OUTCOMES)[number];

/**
 * Terminate: a TERMINATED session is left as it is; one never placed (PENDING without a worker)
 * goes straight to TERMINATED; any other gets the request recorded for the workflow's teardown.
 */
export function terminateDecision(session: Pick<LabletSession, 'status' | 'workerId'>): ActionOutcome {
  if (isTerminalSession(session.status)) return 'noop';
  if (session.status === 'PENDING' && !session.workerId) return 'terminated';
  return 'requested';
}

/** Finish adds one answer to the outcomes: the lab is not ready yet (a 409 for the caller). */
export type FinishDecision = Exclude<ActionOutcome, 'terminated'> | 'not-ready';

/**
 * Finish (the learner is done): too early before the lab is READY; recorded while the learner
 * has the lab (READY, RUNNING) and no termination is under way; a no-op once it is past that
 * point or being terminated.
 */
export function finishDecision(
  session: Pick<LabletSession, 'status' | 'terminationRequestedAt'>,
): FinishDecision {
  if (PRE_READY_SESSION_STATUSES.includes(session.status)) return 'not-ready';
  if (!LEARNER_SESSION_STATUSES.includes(session.status) || session.terminationRequestedAt) return 'noop';
  return 'requested';
}
