import * as z from 'zod';
import { nowOf } from '../../platform/index.ts';
import { placeSession } from '../place-session.ts';
import { claimPooledLab } from '../pools.ts';
import { placementRetryDelaySeconds } from '../rules/placement-retry.ts';
import {
  assertNotTerminated,
  placementWindowOpensAt,
  type SessionStepDeps,
  WORKFLOW_ACTOR,
  waitTimestamp,
} from './deps.ts';
import { WORKFLOW_ERRORS, WorkflowTaskError } from './errors.ts';

export const PlaceStepInput = z.object({
  sessionId: z.string().min(1),
  /** Placement attempts so far (0 on the first). */
  attempt: z.number().int().nonnegative().default(0),
});
export type PlaceStepInput = z.input<typeof PlaceStepInput>;

export interface PlaceStepOutput {
  placed: boolean;
  workerId: string | null;
  /** Attempts made, this one included (the next call's `attempt`). */
  attempt: number;
  /** Not placed: how long to wait before the next attempt (backoff, never past the timeslot end). */
  retryAfterSeconds: number;
  /** Placed: when to instantiate (timeslot start minus the lead time), for the Wait state. */
  instantiateAt: string | null;
}

/**
 * The longest single Wait before the placement window (7 days): a booking further ahead sleeps in
 * at most ceil(horizon / 7 days) Waits (26 for the default 180-day horizon, 3 state transitions
 * each), whatever its lead time; it also keeps every timer of the local engine below Node's 24.8-day
 * setTimeout limit.
 */
export const PLACEMENT_WINDOW_WAIT_MAX_SECONDS = 7 * 86_400;

/**
 * PlaceSession: late placement (issue 10, item 1). Before the placement window opens (timeslot
 * start minus `placementLeadSeconds`) nothing is placed: the session stays PENDING with no worker,
 * holding no capacity or ports, and the state machine sleeps until the window in the same Wait it
 * retries in (no polling: one Wait of up to PLACEMENT_WINDOW_WAIT_MAX_SECONDS). Terminating such a
 * session stops its execution at once (booking.ts: nothing to release).
 *
 * A session whose slot starts within the instantiate lead (a walk-in) first claims a READY lab of
 * its definition's hot-start pool (pools.ts `claimPooledLab`); ImportLab then skips the import.
 *
 * From the window on it places the session (placement transaction, rejection summary stored on
 * the session while nothing fits, so the scaler sees the demand). Not placed: the state machine
 * waits `retryAfterSeconds` (exponential backoff) and calls again, until the timeslot is lost —
 * then `NoCapacity` (reason NO_CAPACITY).
 */
export async function placeStep(deps: SessionStepDeps, input: PlaceStepInput): Promise<PlaceStepOutput> {
  const { sessionId, attempt } = PlaceStepInput.parse(input);
  const session = await deps.stores.sessions.getSession(sessionId);
  assertNotTerminated(session);
  const opensAt = placementWindowOpensAt(session.timeslot.start, deps.config);
  const before = nowOf(deps).getTime();
  if (!session.workerId && before < opensAt) {
    return {
      placed: false,
      workerId: null,
      attempt,
      retryAfterSeconds: Math.min(PLACEMENT_WINDOW_WAIT_MAX_SECONDS, Math.ceil((opensAt - before) / 1000)),
      instantiateAt: null,
    };
  }
  // A walk-in booking (its slot starts within the lab's boot time) claims a READY lab of its
  // definition's hot-start pool: capacity, ports and the converged lab move to it in one
  // transaction; a lost race falls back to the placement below (issue 15, item 3).
  const pools = deps.stores.pools;
  if (pools && !session.workerId) {
    const claimed = await claimPooledLab(
      { pools, definitions: deps.stores.definitions, ...(deps.clock ? { clock: deps.clock } : {}) },
      session,
      deps.config.instantiateLeadSeconds,
      WORKFLOW_ACTOR,
    );
    if (claimed?.workerId) {
      return {
        placed: true,
        workerId: claimed.workerId,
        attempt: attempt + 1,
        retryAfterSeconds: 0,
        instantiateAt: waitTimestamp(
          new Date(Date.parse(session.timeslot.start) - deps.config.instantiateLeadSeconds * 1000),
        ),
      };
    }
  }
  const result = await placeSession(
    { ...deps.stores, ...(deps.clock ? { clock: deps.clock } : {}) },
    sessionId,
    { by: WORKFLOW_ACTOR },
  );
  const now = nowOf(deps);
  if (result.placed) {
    const instantiateAt = new Date(
      Date.parse(session.timeslot.start) - deps.config.instantiateLeadSeconds * 1000,
    );
    return {
      placed: true,
      workerId: result.workerId,
      attempt: attempt + 1,
      retryAfterSeconds: 0,
      instantiateAt: waitTimestamp(instantiateAt),
    };
  }
  if (now.getTime() >= Date.parse(session.timeslot.end)) {
    const summary = Object.entries(result.rejections)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k}: ${n}`)
      .join(', ');
    throw new WorkflowTaskError(
      WORKFLOW_ERRORS.noCapacity,
      `no worker fitted session ${sessionId} before its timeslot ended (${attempt + 1} attempts; ` +
        `${result.considered} workers considered; rejected by ${summary || 'nothing: no RUNNING worker'})`,
    );
  }
  return {
    placed: false,
    workerId: null,
    attempt: attempt + 1,
    retryAfterSeconds: placementRetryDelaySeconds(
      attempt,
      now.getTime(),
      { startMs: Date.parse(session.timeslot.start), endMs: Date.parse(session.timeslot.end) },
      deps.config,
    ),
    instantiateAt: null,
  };
}

/**
 * The longest single Wait between placement and instantiation: a termination request of a placed
 * session is seen (and its capacity released) at least this often. With late placement that phase
 * lasts placementLeadSeconds − instantiateLeadSeconds (300 s by default), so at most 60 checks of 3
 * state transitions each per session (180 transitions, about $0.0045 at Standard workflow prices:
 * under 1 % of a session's host cost on the fleet benchmark). 5 s (15 s before) so that a cancelled
 * placed session is TERMINATED with its capacity free within 10 s (issue 10; `npm run bench:cancel`).
 */
export const SCHEDULE_CHECK_MAX_SECONDS = 5;

export const CheckScheduleInput = z.object({
  sessionId: z.string().min(1),
  instantiateAt: z.string().min(1),
});

export interface CheckScheduleOutput {
  /** Time to instantiate (timeslot start minus the lead time has come). */
  due: boolean;
  /** Not due: when to check again (instantiateAt, or sooner so termination is seen). */
  wakeAt: string;
}

/**
 * CheckSchedule: between placement and instantiation the workflow sleeps in Wait states of at
 * most SCHEDULE_CHECK_MAX_SECONDS, calling this in between, so a termination requested while the
 * session waits for its timeslot is seen within minutes (`Terminated`), not at the timeslot.
 */
export async function checkScheduleStep(
  deps: SessionStepDeps,
  input: z.input<typeof CheckScheduleInput>,
): Promise<CheckScheduleOutput> {
  const { sessionId, instantiateAt } = CheckScheduleInput.parse(input);
  const session = await deps.stores.sessions.getSession(sessionId);
  assertNotTerminated(session);
  const now = nowOf(deps).getTime();
  const at = Date.parse(instantiateAt);
  if (Number.isNaN(at)) throw new Error(`instantiateAt is not a date-time: ${instantiateAt}`);
  if (at <= now) return { due: true, wakeAt: waitTimestamp(new Date(now)) };
  const wake = Math.min(at, now + SCHEDULE_CHECK_MAX_SECONDS * 1000);
  return { due: false, wakeAt: waitTimestamp(new Date(Math.ceil(wake / 1000) * 1000)) };
}
