import * as z from 'zod';
import type { DefinitionStore } from '../catalogue/index.ts';
import { ConflictError, GradingSessionSchema } from '../kernel/index.ts';
import type { GradingApi } from '../platform/index.ts';
import { HttpError, IntegrationError, nowOf } from '../platform/index.ts';
import { regradeRefusal } from './rules/recovery.ts';
import type { SessionStore } from './session-store.ts';

/**
 * Re-grade (issue 12, item 5; POST /v1/sessions/{id}/grade, operators and admins): a session that
 * ended GRADING_FAILED or GRADING_TIMEOUT has its recorded evidence submitted to the Grading
 * Engine again, under a new idempotency key (`<sessionId>:<attempt>`), and its grading record goes
 * back to SUBMITTED with the new grading session id, who asked and when.
 *
 * How the reasons are represented: the session's `failureReason` (GRADING_FAILED: the engine's
 * failed event; GRADING_TIMEOUT: no result within lifecycle.gradingTimeoutSeconds) with the
 * grading record FAULTED. The session's status does not change (it is TERMINATED, or on its way
 * there; the transition table has nothing after TERMINATED): only the grading record does, and
 * the result event is recorded on it (sessions/waits.ts accepts a result for the grading session
 * of a pending re-grade whatever the session's status), a completed one with its score.
 */

export interface RegradeDeps {
  sessions: Pick<SessionStore, 'get' | 'putGrading'>;
  definitions: Pick<DefinitionStore, 'getVersion'>;
  grading: Pick<GradingApi, 'submitGrading'>;
  clock?: () => Date;
}

export const RegradeResultSchema = z.object({
  outcome: z.literal('submitted').describe('`submitted`: the evidence went to the Grading Engine again.'),
  sessionId: z.string().describe('The session.'),
  grading: GradingSessionSchema.describe('The grading record after the re-submission (SUBMITTED).'),
});
export type RegradeResult = z.output<typeof RegradeResultSchema>;

export async function regradeSession(
  deps: RegradeDeps,
  id: string,
  ctx: { by: string },
): Promise<RegradeResult> {
  const { session, grading } = await deps.sessions.get(id);
  const refusal = regradeRefusal(session, grading);
  if (refusal || !grading?.evidenceUri) {
    throw new ConflictError(refusal ?? `session ${id}: nothing to submit`, {
      sessionId: id,
      status: session.status,
      failureReason: session.failureReason ?? null,
      grading: grading?.status ?? null,
    });
  }
  const definition = await deps.definitions.getVersion(session.definitionId, session.definitionVersion);
  if (!definition.gradingRulesRef) {
    throw new ConflictError(`definition ${definition.id} v${definition.version} has no grading rules`, {
      sessionId: id,
    });
  }
  const attempt = (grading.attempt ?? 1) + 1;
  let gradingSessionId: string;
  try {
    ({ gradingSessionId } = await deps.grading.submitGrading({
      externalSessionId: id,
      rulesRef: definition.gradingRulesRef,
      evidenceUri: grading.evidenceUri,
      idempotencyKey: `${id}:${attempt}`,
    }));
  } catch (e) {
    // The engine did not take it: the grading record is unchanged (still FAULTED), retry later.
    if (e instanceof IntegrationError) {
      throw new HttpError(
        e.retryable ? 503 : 502,
        `the Grading Engine did not take the submission: ${e.message}`,
        {
          ...(e.retryable ? { headers: { 'retry-after': '30' } } : {}),
        },
      );
    }
    throw e;
  }
  const at = nowOf(deps).toISOString();
  const next = await deps.sessions.putGrading(
    id,
    {
      gradingSessionId,
      status: 'SUBMITTED',
      submittedAt: at,
      evidenceUri: grading.evidenceUri,
      attempt,
      regradeRequestedBy: ctx.by,
      regradeRequestedAt: at,
    },
    { overFaultedAttempt: attempt - 1 },
  );
  return { outcome: 'submitted', sessionId: id, grading: next };
}
