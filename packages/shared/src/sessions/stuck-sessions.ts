import type { FleetConfig } from '../fleet/index.ts';
import type { LabletSession } from '../kernel/index.ts';
import { NON_TERMINAL_SESSION_STATUSES } from '../kernel/index.ts';
import type { ExecutionStatus, FleetWorkflows } from '../platform/index.ts';
import { MAX_PAGE_SIZE, nowOf, recordMetric } from '../platform/index.ts';
import { boundedSessionTeardown } from './bounded-teardown.ts';
import type { Recovery } from './recovery.ts';
import { RESUMABLE_SESSION_STATUSES } from './rules/resume.ts';
import type { SessionStore } from './session-store.ts';
import type { SessionStepDeps as SessionLifecycleDeps } from './steps/deps.ts';

/**
 * Stuck-session sweep (DESIGN §2 "suspended-step watchdog", §7): a session that is not
 * TERMINATED but whose workflow execution is no longer running (failed, timed out, aborted,
 * ended without tearing down, or gone) would hold its capacity, ports, CML lab and LDS session
 * forever. The sweep runs the session workflow's own teardown steps for it (lifecycle/teardown.ts:
 * begin → delete lab → release capacity → archive LDS → TERMINATED) with the error
 * `WorkflowLost`, so the session ends with failureReason WORKFLOW_ERROR and its history says why.
 *
 * Sessions changed within `stuckSessionGraceSeconds` are left alone (an execution that just
 * ended normally is finishing its last write), and so are executions whose status the engine
 * cannot tell (`UNKNOWN`: e.g. the recording engine of a test).
 *
 * With `redrive` (sessions/recovery.ts; the scheduled job and the local stack's startup wire it),
 * a session in a status the workflow can resume from (PENDING, SCHEDULED, INSTANTIATING, READY,
 * RUNNING) is re-driven from its stored state instead (`resumed`); the later ones continue to
 * the teardown.
 *
 * `TeardownFailures` is recorded here, where a failed teardown becomes visible (the workflow's
 * `TeardownIncomplete` writes nothing): once per session found with a dead execution while in the
 * teardown (STOPPING, STOPPED, ARCHIVED: the workflow's teardown did not finish), and once per
 * sweep whose own teardown of a session fails (so an unresolved one keeps counting every run).
 */

/** Statuses the teardown passes through before TERMINATED. */
const TEARDOWN_STATUSES: ReadonlySet<string> = new Set(['STOPPING', 'STOPPED', 'ARCHIVED']);

export const WORKFLOW_LOST_ERROR = 'WorkflowLost';

/** Statuses that mean the execution will never act on the session again. */
const DEAD: ReadonlySet<ExecutionStatus> = new Set([
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'ABORTED',
  'NOT_FOUND',
]);

export type SessionTeardown = (sessionId: string, why: { Error: string; Cause: string }) => Promise<void>;

/** Re-drives a session whose execution is dead (recovery.ts `redriveSession`); undefined: nothing done. */
export type SessionRedrive = (
  session: LabletSession,
  execution: ExecutionStatus,
) => Promise<Recovery | undefined>;

export interface StuckSessionDeps {
  sessions: Pick<SessionStore, 'listByStatus'>;
  workflows: Pick<FleetWorkflows, 'executionStatus'>;
  teardown: SessionTeardown;
  redrive?: SessionRedrive | undefined;
  config: Pick<FleetConfig, 'stuckSessionGraceSeconds'>;
  clock?: (() => Date) | undefined;
}

export interface StuckSessionResult {
  checked: number;
  tornDown: Array<{ sessionId: string; executionArn: string; execution: ExecutionStatus }>;
  /** Re-driven from their stored state (only with `redrive`). */
  resumed: Array<{ sessionId: string } & Recovery>;
  errors: Array<{ sessionId: string; error: string }>;
}

/**
 * The session workflow's teardown steps in order, for one session (each is idempotent), bounded
 * as the workflow's: past lifecycle.teardownTimeoutSeconds a failure records TEARDOWN_FAILED
 * (sessions/bounded-teardown.ts).
 */
export function sessionTeardownWith(deps: SessionLifecycleDeps): SessionTeardown {
  return boundedSessionTeardown(deps);
}

export async function sweepStuckSessions(deps: StuckSessionDeps): Promise<StuckSessionResult> {
  const now = nowOf(deps).getTime();
  const graceMs = deps.config.stuckSessionGraceSeconds * 1000;
  const result: StuckSessionResult = { checked: 0, tornDown: [], resumed: [], errors: [] };
  for (const status of NON_TERMINAL_SESSION_STATUSES) {
    let cursor: string | undefined;
    do {
      const page = await deps.sessions.listByStatus(status, { limit: MAX_PAGE_SIZE, cursor });
      cursor = page.cursor;
      for (const s of page.items) {
        if (!s.executionArn || now - Date.parse(s.updatedAt) < graceMs) continue;
        result.checked++;
        await checkOne(deps, s, result);
      }
    } while (cursor !== undefined);
  }
  return result;
}

async function checkOne(deps: StuckSessionDeps, s: LabletSession, result: StuckSessionResult): Promise<void> {
  const executionArn = s.executionArn!;
  try {
    const execution = await deps.workflows.executionStatus(executionArn);
    if (!DEAD.has(execution)) return;
    if (deps.redrive && RESUMABLE_SESSION_STATUSES.includes(s.status)) {
      await redriveOne(deps.redrive, s, execution, result);
      return;
    }
    if (TEARDOWN_STATUSES.has(s.status)) recordMetric('teardownFailures');
    await deps.teardown(s.id, {
      Error: WORKFLOW_LOST_ERROR,
      Cause: `the session workflow ${executionArn} is ${execution} but the session is ${s.status}`,
    });
    result.tornDown.push({ sessionId: s.id, executionArn, execution });
  } catch (e) {
    recordMetric('teardownFailures');
    result.errors.push({ sessionId: s.id, error: e instanceof Error ? e.message : String(e) });
  }
}

/** A failed re-drive is an error of this run (not a teardown failure); the next run tries again. */
async function redriveOne(
  redrive: SessionRedrive,
  s: LabletSession,
  execution: ExecutionStatus,
  result: StuckSessionResult,
): Promise<void> {
  try {
    const recovery = await redrive(s, execution);
    if (recovery) result.resumed.push({ sessionId: s.id, ...recovery });
  } catch (e) {
    result.errors.push({ sessionId: s.id, error: e instanceof Error ? e.message : String(e) });
  }
}
