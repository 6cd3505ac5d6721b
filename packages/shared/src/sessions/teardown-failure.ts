import type { LabletSession, TeardownFailure } from '../kernel/index.ts';
import { isTerminalSession, requirementsAsCapacity } from '../kernel/index.ts';
import { nowOf, retryOnConflict } from '../platform/index.ts';
import type { PlacementStore } from './placement-store.ts';
import { TEARDOWN_FAILED_REASON as TEARDOWN_FAILED } from './rules/recovery.ts';
import type { SessionStore } from './session-store.ts';
import type { LifecycleConfig } from './steps/deps.ts';

/**
 * Teardown that cannot finish (issue 12, item 4). A teardown is bounded: from BeginTeardown
 * (`teardownStartedAt`) it may keep failing for `lifecycle.teardownTimeoutSeconds`; after that the
 * session gets the visible failure reason TEARDOWN_FAILED with what was left (`teardownFailure`:
 * the step, its error, the worker and lab, the capacity and ports still held). The outbox turns
 * that change into `session.teardown-failed`; an operator then force-releases the session
 * (sessions/force-release.ts, POST /v1/sessions/{id}/release).
 */

type Clocked = { config: Pick<LifecycleConfig, 'teardownTimeoutSeconds'>; clock?: (() => Date) | undefined };

/** When the session's teardown bound ends (undefined: its teardown has not begun). */
export function teardownDeadline(
  config: Pick<LifecycleConfig, 'teardownTimeoutSeconds'>,
  session: Pick<LabletSession, 'teardownStartedAt'>,
): Date | undefined {
  if (!session.teardownStartedAt) return undefined;
  return new Date(Date.parse(session.teardownStartedAt) + config.teardownTimeoutSeconds * 1000);
}

/** True once the teardown has been failing for longer than its bound (never before it began). */
export function teardownBoundPassed(
  deps: Clocked,
  session: Pick<LabletSession, 'teardownStartedAt' | 'failureReason'>,
): boolean {
  if (session.failureReason === TEARDOWN_FAILED) return true;
  const deadline = teardownDeadline(deps.config, session);
  return deadline !== undefined && nowOf(deps).getTime() >= deadline.getTime();
}

const messageOf = (e: unknown): string =>
  (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).slice(0, 2000);

export interface TeardownFailureDeps extends Clocked {
  stores: {
    sessions: Pick<SessionStore, 'getSession' | 'update'>;
    placement: Pick<PlacementStore, 'getPlacement'>;
  };
}

/**
 * Records TEARDOWN_FAILED on the session with what the teardown left (idempotent: a session
 * already TEARDOWN_FAILED, or terminal, is returned as it is). The previous failure reason is
 * kept in `teardownFailure.previousReason`.
 */
export async function recordTeardownFailure(
  deps: TeardownFailureDeps,
  sessionId: string,
  failure: { step: string; error: unknown },
): Promise<LabletSession> {
  const { value } = await retryOnConflict(async () => {
    const session = await deps.stores.sessions.getSession(sessionId);
    if (isTerminalSession(session.status) || session.failureReason === TEARDOWN_FAILED) return session;
    const placement = await deps.stores.placement.getPlacement(sessionId);
    const teardownFailure: TeardownFailure = {
      at: nowOf(deps).toISOString(),
      previousReason: session.failureReason ?? null,
      step: failure.step,
      error: messageOf(failure.error),
      ...(session.workerId ? { workerId: session.workerId } : {}),
      ...(session.cmlLabId ? { cmlLabId: session.cmlLabId } : {}),
      ...(placement ? { capacityHeld: requirementsAsCapacity(session.requirements) } : {}),
      portsHeld: placement ? Object.values(placement.ports).sort((a, b) => a - b) : [],
    };
    return deps.stores.sessions.update(
      sessionId,
      {
        failureReason: TEARDOWN_FAILED,
        teardownFailure,
        ...(session.pendingWait ? { pendingWait: null } : {}),
      },
      session.version,
    );
  });
  return value;
}
