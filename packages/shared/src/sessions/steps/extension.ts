import * as z from 'zod';
import { nowOf } from '../../platform/index.ts';
import { EXTENDABLE_STATUSES } from '../rules/extension.ts';
import { loginDeadlineMs } from '../rules/no-show.ts';
import { type SessionStepDeps, secondsUntil } from './deps.ts';

export const CheckTimeslotEndInput = z.object({
  sessionId: z.string().min(1),
  kind: z.enum(['LOGIN', 'END']),
});

/**
 * CheckLoginTimeslot / CheckEndTimeslot (issue 15, item 1): run when the LOGIN or END wait timed
 * out at the timeslot end the workflow knew (for LOGIN: the login deadline, rules/no-show.ts). The session is read again: if its timeslot end has
 * moved later (an extension, sessions/extend.ts) and the learner still has the lab, the workflow
 * waits again with the seconds left to the new end; otherwise the slot is over (NO_SHOW or
 * TIMESLOT_END, as before extensions existed).
 */
export async function checkTimeslotEndStep(
  deps: SessionStepDeps,
  input: z.input<typeof CheckTimeslotEndInput>,
): Promise<{ extended: boolean; timeoutSeconds: number }> {
  const { sessionId } = CheckTimeslotEndInput.parse(input);
  const session = await deps.stores.sessions.getSession(sessionId);
  const now = nowOf(deps);
  // LOGIN waits until the login deadline (rules/no-show.ts: never later than the end), END until the end.
  const until =
    input.kind === 'LOGIN'
      ? new Date(loginDeadlineMs(session.timeslot, deps.config)).toISOString()
      : session.timeslot.end;
  const extended =
    EXTENDABLE_STATUSES.includes(session.status) &&
    !session.terminationRequestedAt &&
    Date.parse(until) > now.getTime();
  return { extended, timeoutSeconds: extended ? secondsUntil(until, now) : 0 };
}
