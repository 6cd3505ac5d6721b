import * as z from 'zod';
import type { LabletSession, Worker, WorkerStatus } from '../../kernel/index.ts';
import { canTransitionSession, isTerminalSession, NotFoundError } from '../../kernel/index.ts';
import { IntegrationError, nowOf } from '../../platform/index.ts';
import { releaseSession } from '../release-session.ts';
import type { SessionPatch } from '../session-store.ts';
import { recordTeardownFailure, teardownBoundPassed } from '../teardown-failure.ts';
import { type SessionStepDeps, WORKFLOW_ACTOR } from './deps.ts';
import { causeMessage, FAILURE_REASONS, type FailureReason, reasonForError } from './errors.ts';
import { faultOpenGrading } from './grading.ts';
import { findSessionLab, SessionStepInput } from './instantiate.ts';

/**
 * The teardown branch (DESIGN §6): BeginTeardown → DeleteLab → ReleaseCapacity →
 * ArchiveLdsSession → CompleteTeardown. Every step is idempotent (safe to retry, safe after a
 * crash half-way) and never checks for termination: teardown is what termination runs.
 * A session that was working (RUNNING/COLLECTING/GRADING) goes STOPPING → STOPPED → ARCHIVED →
 * TERMINATED along the way; one that failed earlier goes straight to TERMINATED at the end, once
 * everything is released.
 */

/** A caught error as Step Functions passes it (`ResultPath` of a Catch). */
const CaughtError = z.looseObject({ Error: z.string().nullish(), Cause: z.unknown().optional() }).nullish();

export const BeginTeardownInput = SessionStepInput.extend({
  /** Set by the state machine for outcomes that are not errors (NO_SHOW, GRADING_TIMEOUT). */
  failure: z.looseObject({ reason: z.enum(FAILURE_REASONS) }).nullish(),
  /** The error a Catch routed here. */
  error: CaughtError,
});

export interface BeginTeardownOutput {
  /** null: the session completed normally. */
  reason: FailureReason | null;
  /** What went wrong, for the final history entry (the caught error and its message). */
  detail: string | null;
  status: string;
}

/** The reason and its detail for the history (the failure's cause, trimmed). */
export function teardownReason(input: Pick<z.output<typeof BeginTeardownInput>, 'failure' | 'error'>): {
  reason: FailureReason | null;
  detail: string | undefined;
} {
  if (input.failure?.reason) return { reason: input.failure.reason, detail: undefined };
  if (input.error?.Error) {
    const reason = reasonForError(input.error.Error);
    const message = causeMessage(input.error.Cause);
    // Termination's cause is the operator's reason as given; other errors keep their name.
    const detail = reason === 'TERMINATED' ? message : `${input.error.Error}${message ? `: ${message}` : ''}`;
    return { reason, detail: detail?.slice(0, 1500) };
  }
  return { reason: null, detail: undefined };
}

/**
 * BeginTeardown: records the failure reason (the first one wins), clears the pending wait, marks a
 * grading still open FAULTED with the reason and its cause (GRADING_TIMEOUT, GRADING_UNAVAILABLE
 * after a failed submit, TERMINATED, ...), and moves a working session to STOPPING.
 */
export async function beginTeardownStep(
  deps: SessionStepDeps,
  input: z.input<typeof BeginTeardownInput>,
): Promise<BeginTeardownOutput> {
  const parsed = BeginTeardownInput.parse(input);
  const { sessionId } = parsed;
  const { reason, detail } = teardownReason(parsed);
  const aggregate = await deps.stores.sessions.get(sessionId);
  const session = aggregate.session;
  if (isTerminalSession(session.status)) return { reason, detail: detail ?? null, status: session.status };

  if (reason === 'GRADING_TIMEOUT') {
    await faultOpenGrading(
      deps,
      sessionId,
      aggregate.grading ?? { status: 'PENDING' },
      'GRADING_TIMEOUT: no result from the Grading Engine in time',
    );
  } else if (reason) {
    await faultOpenGrading(deps, sessionId, aggregate.grading, `${reason}${detail ? `: ${detail}` : ''}`);
  }

  const patch: SessionPatch = {
    ...(session.pendingWait ? { pendingWait: null } : {}),
    ...(reason && !session.failureReason ? { failureReason: reason } : {}),
    // The teardown's bound (lifecycle.teardownTimeoutSeconds) counts from here; first wins.
    ...(session.teardownStartedAt ? {} : { teardownStartedAt: nowOf(deps).toISOString() }),
  };
  const why = `teardown: ${reason ?? 'session complete'}${detail ? ` (${detail})` : ''}`;
  let updated: LabletSession = session;
  if (session.status !== 'STOPPING' && canTransitionSession(session.status, 'STOPPING')) {
    updated = await deps.stores.sessions.transition(
      sessionId,
      session.status,
      'STOPPING',
      WORKFLOW_ACTOR,
      why,
      patch,
      {
        expectedVersion: session.version,
      },
    );
  } else if (Object.keys(patch).length > 0) {
    updated = await deps.stores.sessions.update(sessionId, patch, session.version);
  }
  return { reason, detail: detail ?? null, status: updated.status };
}

const notFound = (e: unknown): boolean => e instanceof IntegrationError && e.status === 404;

/** Workers whose instance is gone or going: the lab went (or goes) with it, CML will not answer. */
const WORKER_GONE: ReadonlySet<WorkerStatus> = new Set(['SHUTTING_DOWN', 'TERMINATED', 'FAILED']);

export interface DeleteLabOutput {
  cmlLabId: string | null;
  deleted: boolean;
  /** The worker is gone (no item, FAILED, SHUTTING_DOWN, TERMINATED): nothing was called. */
  workerGone: boolean;
  /**
   * The lab could not be deleted and the teardown's bound has passed: TEARDOWN_FAILED is recorded
   * (sessions/teardown-failure.ts) and the capacity stays held until a force-release.
   */
  gaveUp: boolean;
}

/**
 * DeleteLab: stop → wipe → delete the session's CML lab (found by id or by its title, so a lab
 * imported by a crashed step is not orphaned). A lab that is gone is done; so is one on a worker
 * that is gone (no CML is called). A failure is thrown (the state machine retries, waits and
 * calls again) until the teardown's bound has passed: then TEARDOWN_FAILED is recorded and the
 * step returns `gaveUp` (the state machine ends the teardown incomplete).
 */
export async function deleteLabStep(
  deps: SessionStepDeps,
  input: z.input<typeof SessionStepInput>,
): Promise<DeleteLabOutput> {
  const { sessionId } = SessionStepInput.parse(input);
  const session = await deps.stores.sessions.getSession(sessionId);
  const none = { deleted: false, workerGone: false, gaveUp: false };
  if (isTerminalSession(session.status) || !session.workerId) return { cmlLabId: null, ...none };
  let worker: Worker;
  try {
    worker = await deps.stores.workers.get(session.workerId);
  } catch (e) {
    // A worker that no longer exists (terminated and deleted) holds no lab.
    if (e instanceof NotFoundError) return { cmlLabId: session.cmlLabId ?? null, ...none, workerGone: true };
    throw e;
  }
  if (WORKER_GONE.has(worker.status))
    return { cmlLabId: session.cmlLabId ?? null, ...none, workerGone: true };
  let labId: string | undefined;
  try {
    const cml = deps.cml(worker);
    labId = await findSessionLab(cml, session);
    if (!labId) return { cmlLabId: session.cmlLabId ?? null, ...none };
    for (const step of [() => cml.stopLab(labId!), () => cml.wipeLab(labId!)]) {
      try {
        await step();
      } catch (e) {
        if (notFound(e)) return { cmlLabId: labId, ...none };
        throw e;
      }
    }
    const { deleted } = await cml.deleteLab(labId);
    return { cmlLabId: labId, ...none, deleted };
  } catch (e) {
    if (!teardownBoundPassed(deps, session)) throw e;
    await recordTeardownFailure(deps, sessionId, { step: 'DeleteLab', error: e });
    return { cmlLabId: labId ?? session.cmlLabId ?? null, ...none, gaveUp: true };
  }
}

/**
 * ReleaseCapacity: the placement release transaction (capacity and port leases back to the
 * worker; idempotent), then STOPPING → STOPPED.
 */
export async function releaseCapacityStep(
  deps: SessionStepDeps,
  input: z.input<typeof SessionStepInput>,
): Promise<{ released: boolean }> {
  const { sessionId } = SessionStepInput.parse(input);
  const { released } = await releaseSession({ placement: deps.stores.placement }, sessionId);
  const session = await deps.stores.sessions.getSession(sessionId);
  if (session.status === 'STOPPING') {
    await deps.stores.sessions.transition(
      sessionId,
      'STOPPING',
      'STOPPED',
      WORKFLOW_ACTOR,
      'lab deleted; capacity and ports released',
      {},
      { expectedVersion: session.version },
    );
  }
  return { released };
}

/**
 * ArchiveLdsSession: the LDS session archived (idempotent; one LDS no longer knows is done), the
 * UserSession ARCHIVED, then STOPPED → ARCHIVED. Without a recorded UserSession, a session whose
 * lab was imported has LDS looked up by its id, and what provisioning created but never recorded
 * is archived too.
 */
export async function archiveLdsStep(
  deps: SessionStepDeps,
  input: z.input<typeof SessionStepInput>,
): Promise<{ archived: boolean }> {
  const { sessionId } = SessionStepInput.parse(input);
  const aggregate = await deps.stores.sessions.get(sessionId);
  const userSession = aggregate.userSession;
  let archived = false;
  let unrecorded: string[] = [];
  if (userSession && userSession.status !== 'ARCHIVED') {
    archived = (await deps.lds.archiveSession(userSession.ldsSessionId)).archived;
    await deps.stores.sessions.putUserSession(sessionId, {
      ...userSession,
      status: 'ARCHIVED',
      updatedAt: nowOf(deps).toISOString(),
    });
  } else if (!userSession && aggregate.session.cmlLabId && !isTerminalSession(aggregate.session.status)) {
    // Provisioning may have created an LDS session it never recorded (its answer lost): found by
    // LCM's session id and archived, so none is orphaned. Only a session whose lab was imported
    // can have reached provisioning.
    const found = await deps.lds.findSessions(sessionId);
    unrecorded = found.filter((s) => s.state !== 'ARCHIVED').map((s) => s.id);
    for (const id of unrecorded) archived = (await deps.lds.archiveSession(id)).archived || archived;
    if (unrecorded[0]) {
      const now = nowOf(deps).toISOString();
      await deps.stores.sessions.putUserSession(sessionId, {
        ldsSessionId: unrecorded[0],
        status: 'ARCHIVED',
        createdAt: now,
        updatedAt: now,
      });
    }
  }
  const session = await deps.stores.sessions.getSession(sessionId);
  if (session.status === 'STOPPED') {
    await deps.stores.sessions.transition(
      sessionId,
      'STOPPED',
      'ARCHIVED',
      WORKFLOW_ACTOR,
      userSession
        ? `LDS session ${userSession.ldsSessionId} archived`
        : unrecorded.length > 0
          ? `unrecorded LDS session ${unrecorded.join(', ')} archived`
          : 'no LDS session to archive',
      {},
      { expectedVersion: session.version },
    );
  }
  return { archived };
}

/**
 * CompleteTeardown: → TERMINATED, once the lab, capacity, ports and LDS session are released.
 * The history entry names the failure reason (or that the session completed).
 */
export const CompleteTeardownInput = SessionStepInput.extend({ detail: z.string().nullish() });

export async function completeTeardownStep(
  deps: SessionStepDeps,
  input: z.input<typeof CompleteTeardownInput>,
): Promise<{ status: 'TERMINATED'; failureReason: string | null }> {
  const { sessionId, detail } = CompleteTeardownInput.parse(input);
  const session = await deps.stores.sessions.getSession(sessionId);
  if (session.status !== 'TERMINATED') {
    const why =
      session.failureReason === 'TERMINATED' ? (session.terminationReason ?? detail) : (detail ?? undefined);
    const reason = session.failureReason
      ? `${session.failureReason}${why ? `: ${why}` : ''}`.slice(0, 2000)
      : 'completed';
    await deps.stores.sessions.transition(
      sessionId,
      session.status,
      'TERMINATED',
      WORKFLOW_ACTOR,
      reason,
      session.pendingWait ? { pendingWait: null } : {},
      { expectedVersion: session.version },
    );
  }
  return { status: 'TERMINATED', failureReason: session.failureReason ?? null };
}
