import type { FailureReason, GradingSession, LabletSession } from '../../kernel/index.ts';
import { isTerminalSession } from '../../kernel/index.ts';

/**
 * Operator recovery of a session (issue 12, items 4 and 5), pure: whether a force-release or a
 * re-grade applies to a session as it is. `undefined` = it applies; otherwise why not (a 409).
 */

/** The failure reason a teardown that gave up records (sessions/teardown-failure.ts). */
export const TEARDOWN_FAILED_REASON: FailureReason = 'TEARDOWN_FAILED';

/** Failure reasons after which the evidence may be graded again (the grading, not the lab, failed). */
export const REGRADABLE_REASONS: readonly FailureReason[] = ['GRADING_FAILED', 'GRADING_TIMEOUT'];

/**
 * Force-release applies to a session whose teardown gave up (TEARDOWN_FAILED) and that is not
 * over yet: it still holds what the teardown could not release.
 */
export function forceReleaseRefusal(
  session: Pick<LabletSession, 'id' | 'status' | 'failureReason'>,
): string | undefined {
  if (isTerminalSession(session.status)) {
    return `session ${session.id} is ${session.status}: it holds nothing to release`;
  }
  if (session.failureReason !== TEARDOWN_FAILED_REASON) {
    return `session ${session.id} is ${session.status}${session.failureReason ? ` (${session.failureReason})` : ''}: only a session whose teardown failed (${TEARDOWN_FAILED_REASON}) can be force-released; terminate it instead`;
  }
  return undefined;
}

/**
 * Re-grade applies to a session that ended because its grading failed or timed out
 * (failureReason GRADING_FAILED or GRADING_TIMEOUT), whose grading is FAULTED (not in progress,
 * not completed), and whose evidence was recorded. The session's status is not changed by a
 * re-grade (the transition table has no way out of TERMINATED): only its grading record is.
 */
export function regradeRefusal(
  session: Pick<LabletSession, 'id' | 'status' | 'failureReason'>,
  grading: GradingSession | undefined,
): string | undefined {
  if (!session.failureReason || !REGRADABLE_REASONS.includes(session.failureReason)) {
    return `session ${session.id} is ${session.status}${session.failureReason ? ` (${session.failureReason})` : ''}: only a session whose grading failed or timed out (${REGRADABLE_REASONS.join(', ')}) can be graded again`;
  }
  if (grading?.status !== 'FAULTED') {
    return `session ${session.id}: its grading is ${grading?.status ?? 'missing'}; only a FAULTED grading can be submitted again`;
  }
  if (!grading.evidenceUri) {
    return `session ${session.id}: no evidence was recorded with its grading, there is nothing to submit again`;
  }
  return undefined;
}
