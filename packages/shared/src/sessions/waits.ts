import type { GradingSession, LabletSession, ScoreReport, SessionStatus } from '../kernel/index.ts';
import {
  GRADING_SESSION_STATUSES,
  InvalidTransitionError,
  isTerminalSession,
  LEARNER_SESSION_STATUSES,
  PRE_READY_SESSION_STATUSES,
} from '../kernel/index.ts';
import type { TaskTokenDelivery, WorkflowEngine } from '../platform/index.ts';
import { nowIso, retryOnConflict } from '../platform/index.ts';
import type { Recovery, WorkflowRepair } from './recovery.ts';
import type { SessionStore } from './session-store.ts';
import { WORKFLOW_ERRORS } from './steps/errors.ts';

/**
 * The session workflow's three waits (DESIGN §6): LOGIN, END and GRADING are
 * `.waitForTaskToken` tasks. The waiting task registers its token here (`registerWait`); the
 * facts that end a wait arrive as events or API calls (`observeLearnerEvent`,
 * `observeGradingResult`, finish/terminate in sessions.ts) and resolve the token when the
 * session is waiting for them.
 *
 * Either side may come first, and both run concurrently: every write is conditioned on the
 * session's version, so a registration and an observation are serialised by DynamoDB. Whoever
 * writes second reads what the first one wrote and resolves the token — an event that beats the
 * wait is never lost, and a wait registered after its event resolves at once.
 *
 * Resolution order is "resolve, then clear": the token is sent first and `pendingWait` is cleared
 * afterwards, so a redelivered event after a crash in between resolves again (harmless: the
 * engine contract makes resolving twice a no-op) instead of leaving the workflow waiting.
 */

export type WaitKind = 'LOGIN' | 'END' | 'GRADING';
export type LearnerEventKind = 'LOGIN' | 'END' | 'PAUSED';

export interface WaitDeps {
  sessions: Pick<SessionStore, 'getSession' | 'get' | 'update' | 'putGrading'>;
  engine: Pick<WorkflowEngine, 'sendTaskSuccess' | 'sendTaskFailure'>;
  /**
   * The event handlers' recovery (recovery.ts `workflowRepairWith`): when the token an
   * observation resolves is `gone`, or there is none to resolve, a dead workflow is re-driven
   * so the observation is applied (outcome `recovered`). Absent: the token is sent and that is all.
   */
  repair?: WorkflowRepair | undefined;
  clock?: () => Date;
}

/** Error of the task failure a GRADING wait gets when the Grading Engine reports a failure. */
export const GRADING_FAILED_ERROR = WORKFLOW_ERRORS.gradingFailed;

// ---------------------------------------------------------------------------------------------
// What a wait resolves with

/** Output of a resolved LOGIN wait (the task's result in the workflow). */
export interface LoginWaitOutput {
  kind: 'LOGIN';
  at: string;
}

/** Output of a resolved END wait. `ended`: the learner finished (API) or LDS ended the session. */
export interface EndWaitOutput {
  kind: 'END';
  ended: 'FINISHED' | 'ENDED';
  at: string;
}

/** Output of a resolved GRADING wait (a failed grading fails the task instead). */
export interface GradingWaitOutput {
  kind: 'GRADING';
  status: 'COMPLETED';
  score: number;
  maxScore: number;
  passed: boolean;
}

type Resolution =
  | { ok: true; output: LoginWaitOutput | EndWaitOutput | GradingWaitOutput }
  | { ok: false; error: string; cause: string };

/** What resolves a LOGIN/END wait on this session, if its fact has already been seen. */
function learnerResolution(session: LabletSession, kind: 'LOGIN' | 'END'): Resolution | undefined {
  if (kind === 'LOGIN') {
    return session.loginObservedAt
      ? { ok: true, output: { kind: 'LOGIN', at: session.loginObservedAt } }
      : undefined;
  }
  if (session.endObservedAt) {
    return { ok: true, output: { kind: 'END', ended: 'ENDED', at: session.endObservedAt } };
  }
  if (session.finishRequestedAt) {
    return { ok: true, output: { kind: 'END', ended: 'FINISHED', at: session.finishRequestedAt } };
  }
  return undefined;
}

/** What resolves a GRADING wait, from the stored grading record (only a final one resolves). */
function gradingResolution(
  grading: GradingSession | undefined,
  score: ScoreReport | undefined,
): Resolution | undefined {
  if (grading?.status === 'COMPLETED' && score) {
    return {
      ok: true,
      output: {
        kind: 'GRADING',
        status: 'COMPLETED',
        score: score.score,
        maxScore: score.maxScore,
        passed: score.passed,
      },
    };
  }
  if (grading?.status === 'FAULTED') {
    return { ok: false, error: GRADING_FAILED_ERROR, cause: grading.error ?? 'grading failed' };
  }
  return undefined;
}

const terminatedResolution = (session: LabletSession): Resolution => ({
  ok: false,
  error: WORKFLOW_ERRORS.terminated,
  cause: session.terminationReason ?? 'termination requested',
});

async function resolve(deps: WaitDeps, taskToken: string, r: Resolution): Promise<TaskTokenDelivery> {
  if (r.ok) return deps.engine.sendTaskSuccess(taskToken, r.output);
  return deps.engine.sendTaskFailure(taskToken, r.error, r.cause);
}

/**
 * After an observation: unless its token was `delivered`, a dead workflow is re-driven (with
 * `deps.repair`) and the result says `recovered`; otherwise the result is as it was.
 */
async function repaired(
  deps: WaitDeps,
  sessionId: string,
  result: ObserveResult,
  delivery: TaskTokenDelivery | undefined,
  why: string,
): Promise<ObserveResult> {
  if (!deps.repair || delivery === 'delivered') return result;
  const recovery = await deps.repair(sessionId, { by: 'event', why });
  if (!recovery) return result;
  return { outcome: 'recovered', session: await deps.sessions.getSession(sessionId), recovery };
}

/**
 * Clears `pendingWait` if it still holds `taskToken` (a newer wait is left alone). Safe to
 * repeat; an unknown session is an error of the caller's (NotFoundError).
 */
export async function clearWait(
  deps: Pick<WaitDeps, 'sessions'>,
  sessionId: string,
  taskToken: string,
): Promise<LabletSession> {
  const { value } = await retryOnConflict(
    async () => {
      const s = await deps.sessions.getSession(sessionId);
      if (s.pendingWait?.taskToken !== taskToken) return s;
      return deps.sessions.update(sessionId, { pendingWait: null }, s.version);
    },
    { maxAttempts: 20 },
  );
  return value;
}

// ---------------------------------------------------------------------------------------------
// registerWait: called by the waiting task of the workflow

export type RegisterWaitOutcome =
  /** Stored; an event or API call will resolve it (or the task's timeout fires). */
  | 'waiting'
  /** The awaited fact had already happened: resolved with success at once. */
  | 'resolved'
  /** Failed at once: termination requested (`Terminated`), or grading already FAULTED. */
  | 'failed';

export interface RegisterWaitResult {
  outcome: RegisterWaitOutcome;
  session: LabletSession;
}

/**
 * Stores the waiting task's token on the session (`pendingWait`), so events and API calls can
 * resolve it. If the awaited fact is already recorded (LOGIN: loginObservedAt; END:
 * endObservedAt or finishRequestedAt; GRADING: the grading record COMPLETED/FAULTED) the token is
 * resolved at once; if termination was requested it is failed with `Terminated`. Idempotent per
 * token (a retried task invocation registers the same token again).
 */
export async function registerWait(
  deps: WaitDeps,
  sessionId: string,
  kind: WaitKind,
  taskToken: string,
): Promise<RegisterWaitResult> {
  const since = nowIso(deps);
  const { value } = await retryOnConflict(
    async () => {
      // GRADING needs the child records; the grading observer bumps the session's version after
      // writing them, so this version condition also fences the grading record.
      let session: LabletSession;
      let resolution: Resolution | undefined;
      if (kind === 'GRADING') {
        const aggregate = await deps.sessions.get(sessionId);
        session = aggregate.session;
        resolution = gradingResolution(aggregate.grading, aggregate.score);
      } else {
        session = await deps.sessions.getSession(sessionId);
        resolution = learnerResolution(session, kind);
      }
      const terminal = isTerminalSession(session.status);
      if (session.terminationRequestedAt || terminal) resolution = terminatedResolution(session);
      const stored =
        terminal || (session.pendingWait?.taskToken === taskToken && session.pendingWait.kind === kind)
          ? session
          : await deps.sessions.update(
              sessionId,
              { pendingWait: { kind, taskToken, since } },
              session.version,
            );
      return { session: stored, resolution };
    },
    { maxAttempts: 20 },
  );

  if (!value.resolution) return { outcome: 'waiting', session: value.session };
  await resolve(deps, taskToken, value.resolution);
  const session = await clearWait(deps, sessionId, taskToken);
  return { outcome: value.resolution.ok ? 'resolved' : 'failed', session };
}

// ---------------------------------------------------------------------------------------------
// Observations: called by the event handlers

export type ObserveOutcome =
  /** Recorded, and the session's matching wait was resolved. */
  | 'resolved'
  /** Recorded; nothing was waiting for it yet (registering the wait will find it). */
  | 'recorded'
  /** Already recorded by an earlier delivery: no new effect (a still pending wait is resolved again). */
  | 'duplicate'
  /** The moment has passed (e.g. a login after the session was torn down): ignored. */
  | 'stale'
  /**
   * The event's correlation ids disagree with the session's (an LDS event whose `ldsSessionId` is
   * not the LDS session LCM provisioned for it): not applied, acknowledged and logged.
   */
  | 'mismatch'
  /** Recorded, and the session's dead workflow was re-driven so it is applied (recovery.ts). */
  | 'recovered';

export interface ObserveResult {
  outcome: ObserveOutcome;
  session: LabletSession;
  /** With `recovered`: where the workflow resumed and why. */
  recovery?: Recovery | undefined;
}

/** Statuses in which a learner event still means something; later ones make it stale. */
const LEARNER_EVENT_STATUSES: ReadonlySet<SessionStatus> = new Set([
  ...PRE_READY_SESSION_STATUSES,
  ...LEARNER_SESSION_STATUSES,
]);

const LEARNER_FIELD = {
  LOGIN: 'loginObservedAt',
  END: 'endObservedAt',
  PAUSED: 'pausedAt',
} as const satisfies Record<LearnerEventKind, keyof LabletSession>;

/**
 * Records a learner event from LDS (LOGIN = the learner is in, END = the session ended or the
 * learner finished, PAUSED = recorded only). The first observation of each kind wins, except that
 * a LOGIN (LDS `running`) after a pause ends the pause: `pausedAt` and `idleWarnedAt` are cleared
 * (idle auto-finish, rules/idle.ts), so the next pause is recorded afresh. When the
 * session waits for this kind (LOGIN/END), its token is resolved and `pendingWait` cleared.
 * Unknown session → NotFoundError (the handler acknowledges the event); a session past the
 * point where the event matters, or being terminated → `stale`. When the event names its LDS
 * session (`ldsSessionId`) and the session has one stored (its UserSession) that differs, the
 * event is about another LDS session → `mismatch`, nothing recorded or resolved. A session with
 * no LDS session stored yet cannot disagree: the event is applied.
 */
export async function observeLearnerEvent(
  deps: WaitDeps,
  sessionId: string,
  kind: LearnerEventKind,
  at: string,
  correlation: { ldsSessionId?: string | undefined } = {},
): Promise<ObserveResult> {
  const field = LEARNER_FIELD[kind];
  if (correlation.ldsSessionId !== undefined) {
    const { session, userSession } = await deps.sessions.get(sessionId);
    const stored = userSession?.ldsSessionId;
    if (stored !== undefined && stored !== '' && stored !== correlation.ldsSessionId) {
      return { session, outcome: 'mismatch' };
    }
  }
  const { value } = await retryOnConflict(
    async () => {
      const s = await deps.sessions.getSession(sessionId);
      if (!LEARNER_EVENT_STATUSES.has(s.status) || s.terminationRequestedAt) {
        return { session: s, outcome: 'stale' as const };
      }
      if (kind === 'LOGIN' && s.pausedAt !== undefined && Date.parse(at) >= Date.parse(s.pausedAt)) {
        // The learner is back after a pause: the pause (and any idle warning) ends.
        const back = await deps.sessions.update(
          sessionId,
          { pausedAt: null, idleWarnedAt: null, ...(s.loginObservedAt ? {} : { loginObservedAt: at }) },
          s.version,
        );
        return { session: back, outcome: s.loginObservedAt ? ('duplicate' as const) : ('recorded' as const) };
      }
      if (s[field] !== undefined) return { session: s, outcome: 'duplicate' as const };
      const updated = await deps.sessions.update(sessionId, { [field]: at }, s.version);
      return { session: updated, outcome: 'recorded' as const };
    },
    { maxAttempts: 20 },
  );
  if (value.outcome === 'stale' || kind === 'PAUSED') return value;

  const wait = value.session.pendingWait;
  const resolution = wait?.kind === kind ? learnerResolution(value.session, kind) : undefined;
  const why = `LDS ${kind === 'LOGIN' ? 'login' : 'end'} event`;
  if (!wait || !resolution) return repaired(deps, sessionId, value, undefined, why);
  const delivery = await resolve(deps, wait.taskToken, resolution);
  const session = await clearWait(deps, sessionId, wait.taskToken);
  const result: ObserveResult = {
    outcome: value.outcome === 'duplicate' ? 'duplicate' : 'resolved',
    session,
  };
  return repaired(deps, sessionId, result, delivery, why);
}

export type GradingResult =
  | { completed: ScoreReport; gradingSessionId?: string | undefined }
  | { failed: string; gradingSessionId?: string | undefined };

const GRADING_EVENT_STATUSES: ReadonlySet<SessionStatus> = new Set(GRADING_SESSION_STATUSES);

/**
 * Records the Grading Engine's answer: COMPLETED with its ScoreReport, or FAULTED with the
 * error; the first final answer wins. A GRADING wait is then resolved (success with the score)
 * or failed (`GradingFailed`). A result for another grading session than the one submitted, for
 * a session no longer collecting/grading, or one being terminated → `stale`.
 */
export async function observeGradingResult(
  deps: WaitDeps,
  sessionId: string,
  result: GradingResult,
): Promise<ObserveResult> {
  const at = nowIso(deps);
  const aggregate = await deps.sessions.get(sessionId);
  const { session, grading } = aggregate;
  const otherGrading =
    result.gradingSessionId !== undefined &&
    grading?.gradingSessionId !== undefined &&
    grading.gradingSessionId !== result.gradingSessionId;
  // An operator's re-grade (sessions/regrade.ts) waits for its own grading session's result,
  // whatever the session's status (it ended when the first grading failed).
  const regrade =
    grading?.regradeRequestedAt !== undefined &&
    result.gradingSessionId !== undefined &&
    grading.gradingSessionId === result.gradingSessionId;
  if (
    !regrade &&
    (!GRADING_EVENT_STATUSES.has(session.status) || session.terminationRequestedAt || otherGrading)
  ) {
    return { outcome: 'stale', session };
  }

  let outcome: ObserveOutcome = 'duplicate';
  let resolution = gradingResolution(grading, aggregate.score);
  if (!resolution) {
    outcome = 'recorded';
    const base: GradingSession = {
      ...grading,
      status: 'PENDING',
      ...(result.gradingSessionId !== undefined ? { gradingSessionId: result.gradingSessionId } : {}),
      completedAt: at,
    };
    try {
      if ('completed' in result) {
        await deps.sessions.putGrading(
          sessionId,
          { ...base, status: 'COMPLETED', error: undefined },
          { score: result.completed },
        );
        resolution = gradingResolution({ ...base, status: 'COMPLETED' }, result.completed);
      } else {
        await deps.sessions.putGrading(sessionId, { ...base, status: 'FAULTED', error: result.failed });
        resolution = gradingResolution({ ...base, status: 'FAULTED', error: result.failed }, undefined);
      }
    } catch (e) {
      // Another final answer was written since the read (a duplicate delivery racing this one,
      // or the teardown faulting the grading): it stands, this one is a duplicate.
      if (!(e instanceof InvalidTransitionError)) throw e;
      const now = await deps.sessions.get(sessionId);
      outcome = 'duplicate';
      resolution = gradingResolution(now.grading, now.score);
    }
  }

  // Fence: bump the session's version so a GRADING wait being registered concurrently (which
  // read the grading record before it was written) loses its condition, re-reads and resolves.
  // Reading pendingWait from this write's result closes the other half of the race.
  const { value: fenced } = await retryOnConflict(
    async () => {
      const s = await deps.sessions.getSession(sessionId);
      return deps.sessions.update(sessionId, {}, s.version);
    },
    { maxAttempts: 20 },
  );
  const wait = fenced.pendingWait;
  if (wait?.kind !== 'GRADING' || !resolution) {
    return repaired(deps, sessionId, { outcome, session: fenced }, undefined, 'grading result');
  }
  const delivery = await resolve(deps, wait.taskToken, resolution);
  const cleared = await clearWait(deps, sessionId, wait.taskToken);
  const observed: ObserveResult = {
    outcome: outcome === 'duplicate' ? 'duplicate' : 'resolved',
    session: cleared,
  };
  return repaired(deps, sessionId, observed, delivery, 'grading result');
}
