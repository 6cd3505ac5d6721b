import type { LabletSession } from '../../kernel/index.ts';

/**
 * Idle auto-finish (issue 15, item 2), the rule: a RUNNING session whose learner has been paused
 * (LDS `paused`, `pausedAt`) for the definition's `idlePolicy.limitMinutes` is warned once
 * (`idleWarnedAt`); `graceMinutes` after the warning it is finished as if the learner had finished
 * it. A learner who comes back clears `pausedAt` and `idleWarnedAt` (sessions/waits.ts), which
 * starts it all over. Pure: the idle sweep (sessions/idle-sessions.ts) reads and acts.
 */

export type IdleSession = Pick<
  LabletSession,
  'status' | 'pausedAt' | 'idleWarnedAt' | 'idlePolicy' | 'finishRequestedAt' | 'terminationRequestedAt'
>;

export type IdleAction =
  | { kind: 'none' }
  /** Warn now: the session will be finished at `finishAt` unless the learner comes back. */
  | { kind: 'warn'; finishAt: string }
  /** Finish now: paused since `pausedAt`, warned at `warnedAt`. */
  | { kind: 'finish'; pausedAt: string; warnedAt: string };

const MINUTE_MS = 60_000;
const NONE: IdleAction = { kind: 'none' };

export function idleAction(s: IdleSession, now: Date): IdleAction {
  const policy = s.idlePolicy;
  if (!policy || s.status !== 'RUNNING' || !s.pausedAt) return NONE;
  if (s.finishRequestedAt || s.terminationRequestedAt) return NONE;
  const nowMs = now.getTime();
  const pausedMs = Date.parse(s.pausedAt);
  if (nowMs - pausedMs < policy.limitMinutes * MINUTE_MS) return NONE;
  const graceMs = policy.graceMinutes * MINUTE_MS;
  if (!s.idleWarnedAt) return { kind: 'warn', finishAt: new Date(nowMs + graceMs).toISOString() };
  if (nowMs - Date.parse(s.idleWarnedAt) < graceMs) return NONE;
  return { kind: 'finish', pausedAt: s.pausedAt, warnedAt: s.idleWarnedAt };
}

/** When a warned session is finished: the warning plus the grace. */
export const idleFinishAt = (s: IdleSession): string | undefined =>
  s.idleWarnedAt && s.idlePolicy
    ? new Date(Date.parse(s.idleWarnedAt) + s.idlePolicy.graceMinutes * MINUTE_MS).toISOString()
    : undefined;
