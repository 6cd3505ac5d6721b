import type { LabletSession, SessionStatus } from '../../kernel/index.ts';
import { isTerminalSession } from '../../kernel/index.ts';

/**
 * Where a session whose workflow execution is dead re-enters the workflow (pure; recovery.ts
 * starts the execution). The session's stored state is the truth, so the resume point follows
 * from its status:
 *
 *   PENDING, SCHEDULED → START        placement again (idempotent for a placed session: it
 *                                     answers the placement it has), then the schedule wait
 *   INSTANTIATING      → INSTANTIATE  ImportLab (finds the lab by the session's title before
 *                                     importing; LDS creation is keyed on the session id)
 *   READY              → LOGIN        the LOGIN wait with a fresh token, timeout = timeslot end
 *   RUNNING            → END          the END wait with a fresh token, timeout = timeslot end
 *   GRADING, once the grade is in → GRADING (the wait resolves at once with the stored result)
 *   COLLECTING, GRADING otherwise, STOPPING, STOPPED, ARCHIVED → TEARDOWN
 *
 * A termination already requested needs no special case: every resume point sees it (the
 * working steps' assertNotTerminated, registerWait's Terminated failure), so the workflow
 * tears down with reason TERMINATED.
 */

/**
 * Where a recovery execution enters the session workflow (the `ResumeAt` Choice of
 * statemachines/session-lifecycle.asl.json): START = placement (idempotent for a placed
 * session), INSTANTIATE = ImportLab, LOGIN/END/GRADING = the wait with a fresh task token,
 * TEARDOWN = BeginTeardown with the error it records.
 */
export const RESUME_POINTS = ['START', 'INSTANTIATE', 'LOGIN', 'END', 'GRADING', 'TEARDOWN'] as const;
export type ResumePoint = (typeof RESUME_POINTS)[number];

const RESUME_AT: Partial<Record<SessionStatus, ResumePoint>> = {
  PENDING: 'START',
  SCHEDULED: 'START',
  INSTANTIATING: 'INSTANTIATE',
  READY: 'LOGIN',
  RUNNING: 'END',
};

/** Statuses in which a lost workflow can pick up where it was (the rest continue to teardown). */
export const RESUMABLE_SESSION_STATUSES: readonly SessionStatus[] = Object.keys(RESUME_AT) as SessionStatus[];

export interface ResumePlan {
  at: ResumePoint;
  /** The resumed wait's timeout in whole seconds (>= 1). */
  timeoutSeconds: number;
}

/** Whole seconds from `now` until `iso`, at least 1 (Step Functions timeouts need >= 1). */
const secondsTo = (iso: string, now: Date): number =>
  Math.max(1, Math.ceil((Date.parse(iso) - now.getTime()) / 1000));

/**
 * The resume point of a session whose execution is dead; undefined for a TERMINATED one.
 * `gradingFinal`: the session's grading record is COMPLETED or FAULTED (a GRADING session then
 * resumes its wait, which resolves at once, instead of being torn down ungraded).
 */
export function resumePlanOf(
  session: Pick<LabletSession, 'status' | 'timeslot'>,
  now: Date,
  opts: { gradingFinal?: boolean; gradingTimeoutSeconds?: number } = {},
): ResumePlan | undefined {
  if (isTerminalSession(session.status)) return undefined;
  const at: ResumePoint =
    RESUME_AT[session.status] ?? (session.status === 'GRADING' && opts.gradingFinal ? 'GRADING' : 'TEARDOWN');
  const timeoutSeconds =
    at === 'LOGIN' || at === 'END'
      ? secondsTo(session.timeslot.end, now)
      : at === 'GRADING'
        ? Math.max(1, Math.ceil(opts.gradingTimeoutSeconds ?? 60))
        : 1;
  return { at, timeoutSeconds };
}

/**
 * The name of the recovery execution that replaces `previousExecutionArn`: the session's id and
 * a counter, `<id>-r1` after the booking's execution, `<id>-r2` after `<id>-r1`, … Derived from
 * the dead execution only, so every recovery of that execution (the sweep, an event, an API
 * call, a retry after a crash half-way) starts the same one (the engine answers an existing name
 * with its execution), and a later recovery gets a new name (Step Functions never reuses one).
 */
export function recoveryExecutionName(sessionId: string, previousExecutionArn: string): string {
  const previous = previousExecutionArn.split(':').at(-1) ?? '';
  const n = Number(/-r(\d+)$/.exec(previous)?.[1] ?? 0) + 1;
  return `${sessionId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64)}-r${n}`;
}
