import * as z from 'zod';
import { nowOf } from '../../platform/index.ts';
import { registerWait } from '../waits.ts';
import { advance, assertNotTerminated, type SessionStepDeps, secondsUntil } from './deps.ts';
import { SessionStepInput } from './instantiate.ts';

export const AwaitStepInput = z.object({
  sessionId: z.string().min(1),
  kind: z.enum(['LOGIN', 'END', 'GRADING']),
  taskToken: z.string().min(1),
});
export type AwaitStepInput = z.input<typeof AwaitStepInput>;

/**
 * AwaitLogin / AwaitEnd / AwaitGrading (`.waitForTaskToken`): registers the token on the session
 * (waits.ts). The task ends when the token is resolved — by an event, an API call, or at once
 * when the fact was already recorded — or when its timeout fires.
 */
export async function awaitStep(deps: SessionStepDeps, input: AwaitStepInput): Promise<{ outcome: string }> {
  const { sessionId, kind, taskToken } = AwaitStepInput.parse(input);
  const { outcome } = await registerWait(
    { sessions: deps.stores.sessions, engine: deps.engine, ...(deps.clock ? { clock: deps.clock } : {}) },
    sessionId,
    kind,
    taskToken,
  );
  return { outcome };
}

/** What a resolved wait hands over (waits.ts outputs, finishSession's END output). */
const WaitOutput = z
  .looseObject({
    kind: z.string().optional(),
    at: z.string().optional(),
    ended: z.string().optional(),
    source: z.string().optional(),
    by: z.string().optional(),
    reason: z.string().optional(),
  })
  .nullish();

export const MarkRunningInput = SessionStepInput.extend({ login: WaitOutput });

/**
 * MarkRunning: the learner logged in → READY → RUNNING (attributed to LDS), the pending wait
 * cleared and the UserSession ACTIVE. Returns the END wait's timeout (seconds to timeslot end).
 */
export async function markRunningStep(
  deps: SessionStepDeps,
  input: z.input<typeof MarkRunningInput>,
): Promise<{ endTimeoutSeconds: number }> {
  const { sessionId, login } = MarkRunningInput.parse(input);
  const aggregate = await deps.stores.sessions.get(sessionId);
  const session = aggregate.session;
  assertNotTerminated(session);
  const at = login?.at ?? session.loginObservedAt;
  const updated = await advance(
    deps,
    session,
    'READY',
    'RUNNING',
    login?.source ?? 'lds',
    `learner logged in${at ? ` at ${at}` : ''}`,
    session.pendingWait?.kind === 'LOGIN' ? { pendingWait: null } : {},
  );
  if (aggregate.userSession && aggregate.userSession.status === 'PROVISIONED') {
    await deps.stores.sessions.putUserSession(sessionId, {
      ...aggregate.userSession,
      status: 'ACTIVE',
      updatedAt: nowOf(deps).toISOString(),
    });
  }
  return { endTimeoutSeconds: secondsUntil(updated.timeslot.end, nowOf(deps)) };
}

export { WaitOutput };
