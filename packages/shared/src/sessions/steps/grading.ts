import * as z from 'zod';
import { type GradingSession, InvalidTransitionError, isFinalGrading } from '../../kernel/index.ts';
import { nowOf } from '../../platform/index.ts';
import { advance, assertNotTerminated, type SessionStepDeps, WORKFLOW_ACTOR } from './deps.ts';
import { integrationFailure, WORKFLOW_ERRORS } from './errors.ts';
import { SessionStepInput } from './instantiate.ts';

export const SubmitGradingInput = SessionStepInput.extend({ evidenceUri: z.string().min(1) });

export interface SubmitGradingOutput {
  gradingSessionId: string;
  /** The GRADING wait's timeout (bounded; then GRADING_TIMEOUT). */
  gradingTimeoutSeconds: number;
}

/**
 * SubmitGrading: COLLECTING → GRADING, the evidence submitted to the Grading Engine with the
 * definition's rules (idempotent on the session id), the GradingSession recorded SUBMITTED —
 * unless the result already arrived (a fast engine), which is never overwritten.
 * 5xx/network → `GradingUnavailable` (retried, then reason GRADING_UNAVAILABLE; BeginTeardown
 * then marks the grading FAULTED with the cause: `faultOpenGrading`).
 */
export async function submitGradingStep(
  deps: SessionStepDeps,
  input: z.input<typeof SubmitGradingInput>,
): Promise<SubmitGradingOutput> {
  const { sessionId, evidenceUri } = SubmitGradingInput.parse(input);
  const { sessions, definitions } = deps.stores;
  let session = await sessions.getSession(sessionId);
  assertNotTerminated(session);
  const definition = await definitions.getVersion(session.definitionId, session.definitionVersion);
  if (!definition.gradingRulesRef) throw new Error(`definition ${definition.id} has no grading rules`);
  session = await advance(
    deps,
    session,
    'COLLECTING',
    'GRADING',
    WORKFLOW_ACTOR,
    `evidence collected; grading with ${definition.gradingRulesRef}`,
  );
  const before = (await sessions.get(sessionId)).grading;
  if (!before)
    await ignoreLostRace(sessions.putGrading(sessionId, { status: 'PENDING', evidenceUri, attempt: 1 }));
  let gradingSessionId: string;
  try {
    ({ gradingSessionId } = await deps.grading.submitGrading({
      externalSessionId: sessionId,
      rulesRef: definition.gradingRulesRef,
      evidenceUri,
    }));
  } catch (e) {
    throw integrationFailure(
      e,
      WORKFLOW_ERRORS.gradingUnavailable,
      WORKFLOW_ERRORS.gradingUnavailable,
      'Grading Engine',
    );
  }
  // The result event may already have been recorded: the conditional write never downgrades a
  // final grading (it loses with InvalidTransitionError, and the result stands).
  const current = (await sessions.get(sessionId)).grading;
  if (!current || !isFinalGrading(current.status)) {
    await ignoreLostRace(
      sessions.putGrading(sessionId, {
        ...current,
        gradingSessionId,
        status: 'SUBMITTED',
        submittedAt: nowOf(deps).toISOString(),
        // Kept for an operator's re-grade (sessions/regrade.ts).
        evidenceUri,
        attempt: current?.attempt ?? 1,
      }),
    );
  }
  return { gradingSessionId, gradingTimeoutSeconds: deps.config.gradingTimeoutSeconds };
}

/** A conditional grading write that lost to a newer or final one: that one stands. */
async function ignoreLostRace(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (e) {
    if (e instanceof InvalidTransitionError) return false;
    throw e;
  }
}

/**
 * A session torn down with a reason while its grading is still open (PENDING or SUBMITTED: the
 * submit failed, no result came in time, the session was terminated, ...): the GradingSession is
 * FAULTED with that cause, so it never stays PENDING/SUBMITTED on a finished session. A result
 * recorded meanwhile wins (conditional write). Returns whether it was faulted.
 */
export async function faultOpenGrading(
  deps: Pick<SessionStepDeps, 'stores' | 'clock'>,
  sessionId: string,
  grading: GradingSession | undefined,
  error: string,
): Promise<boolean> {
  if (!grading || isFinalGrading(grading.status)) return false;
  return ignoreLostRace(
    deps.stores.sessions.putGrading(sessionId, {
      ...grading,
      status: 'FAULTED',
      error: error.slice(0, 4000),
      completedAt: nowOf(deps).toISOString(),
    }),
  );
}
