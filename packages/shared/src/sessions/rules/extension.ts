import type { LabletDefinition, LabletSession, SessionStatus, Timeslot } from '../../kernel/index.ts';
import { ConflictError, ExtensionNotAllowedError } from '../../kernel/index.ts';

/**
 * Whether a session may be extended by `minutes` (issue 15, item 1), before the capacity book is
 * asked (pure; sessions/extend.ts reads the session and its definition version, asks the book
 * and writes). Granted only while the learner has the lab (READY or RUNNING, no termination or
 * finish requested, the timeslot not yet over), within the definition's `maxExtensionMinutes`
 * (all extensions together; 0: extensions are off) and its `maxDurationMinutes` (the new length).
 */

/** The statuses in which the learner has the lab and an extension is possible. */
export const EXTENDABLE_STATUSES: readonly SessionStatus[] = ['READY', 'RUNNING'];

export interface ExtensionPlan {
  /** The timeslot with its end moved. */
  timeslot: Timeslot;
  /** Minutes extended in all, this extension included. */
  extendedMinutes: number;
  /** The new length of the timeslot, in minutes. */
  lengthMinutes: number;
}

export function planExtension(
  session: Pick<
    LabletSession,
    'id' | 'status' | 'timeslot' | 'extendedMinutes' | 'terminationRequestedAt' | 'finishRequestedAt'
  >,
  definition: Pick<LabletDefinition, 'maxDurationMinutes' | 'maxExtensionMinutes'>,
  minutes: number,
  now: Date,
): ExtensionPlan {
  const { id, status } = session;
  if (!EXTENDABLE_STATUSES.includes(status)) {
    throw new ConflictError(`session ${id} is ${status}; only a READY or RUNNING session can be extended`, {
      sessionId: id,
      status,
    });
  }
  if (session.terminationRequestedAt || session.finishRequestedAt) {
    throw new ConflictError(
      `session ${id} is being ${session.terminationRequestedAt ? 'terminated' : 'finished'}`,
      {
        sessionId: id,
        status,
      },
    );
  }
  const endMs = Date.parse(session.timeslot.end);
  if (now.getTime() >= endMs) {
    throw new ConflictError(`session ${id}: its timeslot ended at ${session.timeslot.end}`, {
      sessionId: id,
      status,
      end: session.timeslot.end,
    });
  }
  const allowed = definition.maxExtensionMinutes ?? 0;
  if (allowed === 0) {
    throw new ExtensionNotAllowedError(
      "the session's definition allows no extensions (maxExtensionMinutes 0)",
      {
        limit: 'maxExtensionMinutes',
        maxExtensionMinutes: 0,
      },
    );
  }
  const extendedMinutes = (session.extendedMinutes ?? 0) + minutes;
  if (extendedMinutes > allowed) {
    throw new ExtensionNotAllowedError(
      `extensions of ${extendedMinutes} minutes in all would pass the definition's maxExtensionMinutes (${allowed}); ` +
        `${Math.max(0, allowed - (session.extendedMinutes ?? 0))} left`,
      {
        limit: 'maxExtensionMinutes',
        maxExtensionMinutes: allowed,
        extendedMinutes: session.extendedMinutes ?? 0,
      },
    );
  }
  const newEndMs = endMs + minutes * 60_000;
  const lengthMinutes = Math.ceil((newEndMs - Date.parse(session.timeslot.start)) / 60_000);
  if (lengthMinutes > definition.maxDurationMinutes) {
    throw new ExtensionNotAllowedError(
      `a timeslot of ${lengthMinutes} minutes would pass the definition's maxDurationMinutes (${definition.maxDurationMinutes})`,
      { limit: 'maxDurationMinutes', maxDurationMinutes: definition.maxDurationMinutes, lengthMinutes },
    );
  }
  return {
    timeslot: { ...session.timeslot, end: new Date(newEndMs).toISOString() },
    extendedMinutes,
    lengthMinutes,
  };
}
