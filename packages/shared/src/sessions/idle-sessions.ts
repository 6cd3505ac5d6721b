import { isDomainError } from '../kernel/index.ts';
import { allPages, nowOf } from '../platform/index.ts';
import type { SessionActionContext } from './booking.ts';
import { idleAction } from './rules/idle.ts';
import type { SessionStore } from './session-store.ts';

/**
 * The idle sweep (issue 15, item 2; schedule `idle-sessions`, every minute): applies
 * rules/idle.ts to every RUNNING session. `warn` stamps `idleWarnedAt` (a conditional write: a
 * learner who came back meanwhile wins, the next run sees it), which the outbox publishes as
 * `session.idle-warning`; `finish` finishes the session through the same command as
 * `POST /v1/sessions/{id}/finish`, attributed to `lcm:idle-sweep`, so configs are collected
 * and the lab graded as for a learner who finished. Sessions without an idle policy cost one
 * read each per run (the RUNNING listing).
 */

export const IDLE_FINISH_ACTOR = 'idle-sweep';
/** The history's source of an idle finish (`lcm:idle-sweep`). */
export const IDLE_FINISH_SOURCE = 'lcm';

export interface IdleSweepDeps {
  sessions: Pick<SessionStore, 'listByStatus' | 'update'>;
  /** finishSession over the session deps (the workflow engine resolves the END wait). */
  finish: (sessionId: string, ctx: SessionActionContext) => Promise<unknown>;
  clock?: (() => Date) | undefined;
}

export interface IdleSweepResult {
  checked: number;
  warned: string[];
  finished: string[];
  errors: Array<{ sessionId: string; error: string }>;
}

export async function sweepIdleSessions(deps: IdleSweepDeps): Promise<IdleSweepResult> {
  const now = nowOf(deps);
  const running = await allPages((p) => deps.sessions.listByStatus('RUNNING', p));
  const result: IdleSweepResult = { checked: running.length, warned: [], finished: [], errors: [] };
  for (const s of running) {
    const action = idleAction(s, now);
    if (action.kind === 'none') continue;
    try {
      if (action.kind === 'warn') {
        await deps.sessions.update(s.id, { idleWarnedAt: now.toISOString() }, s.version);
        result.warned.push(s.id);
      } else {
        await deps.finish(s.id, {
          by: IDLE_FINISH_ACTOR,
          source: IDLE_FINISH_SOURCE,
          reason: `idle: paused since ${action.pausedAt}, warned at ${action.warnedAt}`,
        });
        result.finished.push(s.id);
      }
    } catch (e) {
      // A lost race (the learner came back, the session moved on) is for the next run to see.
      if (isDomainError(e) && (e.code === 'CONFLICT' || e.code === 'VERSION_CONFLICT')) continue;
      result.errors.push({ sessionId: s.id, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return result;
}
