import * as z from 'zod';
import type { LabletSession } from '../kernel/index.ts';
import { SessionStatusSchema, VersionConflictError } from '../kernel/index.ts';
import type {
  ExecutionStatus,
  SessionResumeInput,
  TaskTokenDelivery,
  WorkflowEngine,
} from '../platform/index.ts';
import { nowOf } from '../platform/index.ts';
import { RESUME_POINTS, recoveryExecutionName, resumePlanOf } from './rules/resume.ts';
import type { SessionStore } from './session-store.ts';
import { WORKFLOW_ERRORS } from './steps/errors.ts';
import { WORKFLOW_LOST_ERROR } from './stuck-sessions.ts';

/**
 * Workflows that recover (issue 12, item 3). A session whose workflow execution is missing or
 * dead (the local stack was killed, the execution was stopped or deleted, it failed outside its
 * Catch) is re-driven from its stored state instead of being torn down: a new execution of the
 * same state machine enters at the resume point its status names (rules/resume.ts, the
 * `IsRecovery`/`Resume`/`ResumeAt` states of statemachines/session-lifecycle.asl.json), so a
 * SCHEDULED session is placed again (idempotent) and waits for its time, an INSTANTIATING one
 * imports again (the lab is found by title, the LDS session by LCM's id, so nothing is made
 * twice), READY/RUNNING wait again with fresh task tokens, and later statuses go to teardown.
 *
 * Order: the recovery execution starts first, under a name derived from the dead execution
 * (`<id>-r<n>`, rules/resume.ts), then the session records its ARN and a history entry (status
 * unchanged, `by` = who recovered, `reason` = why), conditioned on the session still naming the
 * dead execution. Every recovery of one dead execution — the sweep, an event and an API call
 * racing, or a retry after a crash between the start and the write — starts that one execution
 * (the engine answers an existing name with it) and records the same ARN.
 *
 * Who calls it: the stuck-session sweep (stuck-sessions.ts: resumable statuses), terminate and
 * finish (booking.ts) and the partner events (waits.ts) when the token they sent was `gone`
 * or there was none, so those are applied instead of answering "accepted" and changing nothing.
 */

/** Executions that will never act on their session again. */
export const DEAD_EXECUTION_STATUSES: ReadonlySet<ExecutionStatus> = new Set([
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'ABORTED',
  'NOT_FOUND',
]);

export const isDeadExecution = (status: ExecutionStatus): boolean => DEAD_EXECUTION_STATUSES.has(status);

export const RecoverySchema = z.object({
  /** Where the new execution entered the workflow. */
  resumedAt: z.enum(RESUME_POINTS).describe('Where the new execution entered the workflow.'),
  /** The session's status when it was recovered (it stays in it). */
  status: SessionStatusSchema.describe("The session's status when it was recovered (it stays in it)."),
  executionArn: z.string().describe('The new workflow execution.'),
  previousExecutionArn: z.string().describe('The dead execution it replaces.').optional(),
  /** What the engine said of the previous execution. */
  previousExecution: z.string().describe('What the engine said of the previous execution.'),
  reason: z.string().describe('Why it was recovered.'),
});
export type Recovery = z.output<typeof RecoverySchema>;

export interface RecoveryDeps {
  sessions: Pick<SessionStore, 'get' | 'getSession' | 'recordRecovery'>;
  engine: Pick<WorkflowEngine, 'resumeSession' | 'executionStatus'>;
  /** The GRADING wait's bound when a graded session resumes it (LifecycleConfig.gradingTimeoutSeconds). */
  gradingTimeoutSeconds?: number | undefined;
  clock?: (() => Date) | undefined;
}

/** Who recovers (the history entry's `by`) and what found the execution dead. */
export interface RecoveryTrigger {
  by: string;
  why: string;
}

/** The error a TEARDOWN recovery hands BeginTeardown: a requested termination, else the lost workflow. */
function teardownError(s: LabletSession, cause: string): { Error: string; Cause: string } {
  if (s.terminationRequestedAt) {
    return { Error: WORKFLOW_ERRORS.terminated, Cause: s.terminationReason ?? 'termination requested' };
  }
  return { Error: WORKFLOW_LOST_ERROR, Cause: cause };
}

/**
 * Re-drives a session whose execution `dead.executionArn` was found `dead.execution` (a dead
 * status). Undefined when there is nothing to do: the session already names another execution
 * (someone recovered it first) or it is TERMINATED.
 */
export async function redriveSession(
  deps: RecoveryDeps,
  sessionId: string,
  dead: { executionArn: string | undefined; execution: ExecutionStatus },
  trigger: RecoveryTrigger,
): Promise<Recovery | undefined> {
  const previousExecutionArn = dead.executionArn;
  if (!previousExecutionArn) return undefined;
  const aggregate = await deps.sessions.get(sessionId);
  const s = aggregate.session;
  if (s.executionArn !== previousExecutionArn) return undefined;
  const gradingFinal = aggregate.grading?.status === 'COMPLETED' || aggregate.grading?.status === 'FAULTED';
  const plan = resumePlanOf(s, nowOf(deps), {
    gradingFinal,
    ...(deps.gradingTimeoutSeconds !== undefined
      ? { gradingTimeoutSeconds: deps.gradingTimeoutSeconds }
      : {}),
  });
  if (!plan) return undefined;

  const name = recoveryExecutionName(s.id, previousExecutionArn);
  const was = `${trigger.why}: the session workflow ${previousExecutionArn} is ${dead.execution}`;
  const resume: SessionResumeInput = {
    at: plan.at,
    timeoutSeconds: plan.timeoutSeconds,
    error: plan.at === 'TEARDOWN' ? teardownError(s, `${was} while the session was ${s.status}`) : null,
    reason: `recovered: ${was}; resumed at ${plan.at}`.slice(0, 1900),
  };
  const { executionArn } = await deps.engine.resumeSession(s, resume, name);
  const reason = `${resume.reason} in ${executionArn}`.slice(0, 2000);
  try {
    await deps.sessions.recordRecovery(s.id, {
      status: s.status,
      previousExecutionArn,
      executionArn,
      by: trigger.by,
      reason,
      seenVersion: s.version,
    });
  } catch (e) {
    if (!(e instanceof VersionConflictError)) throw e;
    // Recorded by a racing recovery of the same dead execution (same name: the same execution)?
    const now = await deps.sessions.getSession(sessionId);
    if (now.executionArn !== executionArn) return undefined;
  }
  return {
    resumedAt: plan.at,
    status: s.status,
    executionArn,
    previousExecutionArn,
    previousExecution: dead.execution,
    reason,
  };
}

/**
 * Checks the session's execution and re-drives the session when it is dead (or there is none
 * although the session has left PENDING). Undefined when the workflow is alive, the engine
 * cannot tell (`UNKNOWN`), or the session is TERMINATED.
 */
export async function repairWorkflow(
  deps: RecoveryDeps,
  sessionId: string,
  trigger: RecoveryTrigger,
): Promise<Recovery | undefined> {
  const s = await deps.sessions.getSession(sessionId);
  if (s.status === 'TERMINATED') return undefined;
  if (!s.executionArn) return undefined;
  const execution = await deps.engine.executionStatus(s.executionArn);
  if (!isDeadExecution(execution)) return undefined;
  return redriveSession(deps, sessionId, { executionArn: s.executionArn, execution }, trigger);
}

/**
 * After terminate, finish or a partner event sent a token (or found none to send): a token the
 * engine `delivered` means the workflow is alive and acts; otherwise the execution is checked
 * and, when dead, the session re-driven so the request is applied (the new execution's wait or
 * step sees what was recorded: the termination, the finish, the login, the grade).
 */
export async function repairUnlessDelivered(
  deps: RecoveryDeps,
  sessionId: string,
  delivery: TaskTokenDelivery | undefined,
  trigger: RecoveryTrigger,
): Promise<Recovery | undefined> {
  if (delivery === 'delivered') return undefined;
  return repairWorkflow(deps, sessionId, trigger);
}

/** What terminate, finish and the event handlers call when a token was `gone` or absent. */
export type WorkflowRepair = (sessionId: string, trigger: RecoveryTrigger) => Promise<Recovery | undefined>;

export const workflowRepairWith =
  (deps: RecoveryDeps): WorkflowRepair =>
  (sessionId, trigger) =>
    repairWorkflow(deps, sessionId, trigger);
