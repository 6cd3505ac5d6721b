import type { LabletSession } from '../../kernel/index.ts';
import type { RawEnv } from '../runtime/env.ts';
import type { ExecutionStatus } from './fleet-engine.ts';
import { StepFunctionsWorkflowEngine } from './stepfunctions-engine.ts';

/**
 * The workflow engine seam (DESIGN §6, §9): what commands need from Step Functions, and nothing
 * more. The session-lifecycle workflow runs one execution per session; it parks on
 * `.waitForTaskToken` tasks (LOGIN, END, GRADING) whose tokens the session records in
 * `pendingWait`, and the API resolves them (finish → success, terminate → failure).
 *
 * Contract every adapter keeps, so commands can retry freely:
 * - `startSession` is idempotent per session: the execution name is derived from the session
 *   id and the input is deterministic (`sessionWorkflowInput`), so a repeated start returns the
 *   same execution instead of a second one (Step Functions: same name + same input → same ARN).
 * - `sendTaskSuccess` / `sendTaskFailure` on a token that was already resolved or has expired is
 *   not an error (the waiting step has moved on; there is nothing left to do).
 * - `stopExecution` of an execution that has already ended is not an error.
 * - `resumeSession` starts a recovery execution (sessions/recovery.ts) under the name given; a
 *   name that already exists answers that execution, so two recoveries that race start one.
 * - `sendTaskSuccess` / `sendTaskFailure` say whether the token reached a waiting task
 *   (`delivered`) or named nothing that still waits (`gone`: resolved before, timed out, or its
 *   execution is dead) — the caller decides whether a `gone` needs a recovery.
 * - `executionStatus` never throws for an unknown execution (`NOT_FOUND`; `UNKNOWN` when the
 *   adapter cannot tell).
 */
export interface WorkflowEngine {
  /** Which adapter this is (`recording`, `stepfunctions`); for logs. */
  readonly kind: string;
  startSession(session: LabletSession): Promise<{ executionArn: string }>;
  resumeSession(
    session: LabletSession,
    resume: SessionResumeInput,
    executionName: string,
  ): Promise<{ executionArn: string }>;
  sendTaskSuccess(taskToken: string, output: unknown): Promise<TaskTokenDelivery>;
  sendTaskFailure(taskToken: string, error: string, cause?: string): Promise<TaskTokenDelivery>;
  stopExecution(executionArn: string, cause?: string): Promise<void>;
  executionStatus(executionArn: string): Promise<ExecutionStatus>;
}

/** What became of a token sent to the engine (see the contract). */
export type TaskTokenDelivery = 'delivered' | 'gone';

/** The `resume` member of a recovery execution's input. */
export interface SessionResumeInput {
  /**
   * Where it enters (the `ResumeAt` Choice of statemachines/session-lifecycle.asl.json; the
   * points are the sessions context's, sessions/rules/resume.ts RESUME_POINTS).
   */
  at: string;
  /** The resumed wait's timeout (LOGIN/END: seconds to the timeslot end; GRADING: its bound); >= 1. */
  timeoutSeconds: number;
  /** TEARDOWN: the error BeginTeardown records (its reason); null otherwise. */
  error: { Error: string; Cause: string } | null;
  /** Why the session was recovered (the history entry says the same). */
  reason: string;
}

/** The input of a session-lifecycle execution: deterministic per session (see the contract). */
export interface SessionWorkflowInput {
  sessionId: string;
  /** Only on a recovery execution. */
  resume?: SessionResumeInput;
}

export const sessionWorkflowInput = (session: Pick<LabletSession, 'id'>): SessionWorkflowInput => ({
  sessionId: session.id,
});

/**
 * The execution name of a session's workflow: its id, with the characters Step Functions does
 * not allow in names replaced, at most 80 characters. (Session ids are ULIDs, already safe.)
 */
export const sessionExecutionName = (sessionId: string): string =>
  sessionId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80);

// ---------------------------------------------------------------------------------------------
// RecordingWorkflowEngine: records what was asked of it and starts nothing.

export type RecordedWorkflowCall =
  | { op: 'startSession'; sessionId: string; executionArn: string; input: SessionWorkflowInput; at: string }
  | { op: 'resumeSession'; sessionId: string; executionArn: string; input: SessionWorkflowInput; at: string }
  | { op: 'sendTaskSuccess'; taskToken: string; output: unknown; at: string }
  | { op: 'sendTaskFailure'; taskToken: string; error: string; cause?: string | undefined; at: string }
  | { op: 'stopExecution'; executionArn: string; cause?: string | undefined; at: string };

export type RecordedOp = RecordedWorkflowCall['op'];

/**
 * Until the Step Functions adapter exists (and in tests), the engine that records each call in
 * memory and hands out `recorded:<sessionId>` as the execution ARN, which the session keeps in
 * `executionArn` so the start is visible in the table too. Keeps the adapter contract: starts are
 * idempotent per session (same ARN every time), resolving or stopping is never an error.
 */
export class RecordingWorkflowEngine implements WorkflowEngine {
  readonly kind = 'recording';
  readonly calls: RecordedWorkflowCall[] = [];
  private readonly statuses = new Map<string, ExecutionStatus>();
  private readonly goneTokens = new Set<string>();

  constructor(private readonly clock: () => Date = () => new Date()) {}

  async startSession(session: LabletSession): Promise<{ executionArn: string }> {
    const executionArn = RecordingWorkflowEngine.executionArnOf(session.id);
    this.calls.push({
      op: 'startSession',
      sessionId: session.id,
      executionArn,
      input: sessionWorkflowInput(session),
      at: this.now(),
    });
    return { executionArn };
  }

  async resumeSession(
    session: LabletSession,
    resume: SessionResumeInput,
    executionName: string,
  ): Promise<{ executionArn: string }> {
    const executionArn = `recorded:${executionName}`;
    this.calls.push({
      op: 'resumeSession',
      sessionId: session.id,
      executionArn,
      input: { ...sessionWorkflowInput(session), resume: structuredClone(resume) },
      at: this.now(),
    });
    if (!this.statuses.has(executionArn)) this.statuses.set(executionArn, 'RUNNING');
    return { executionArn };
  }

  async sendTaskSuccess(taskToken: string, output: unknown): Promise<TaskTokenDelivery> {
    this.calls.push({ op: 'sendTaskSuccess', taskToken, output: structuredClone(output), at: this.now() });
    return this.goneTokens.has(taskToken) ? 'gone' : 'delivered';
  }

  async sendTaskFailure(taskToken: string, error: string, cause?: string): Promise<TaskTokenDelivery> {
    this.calls.push({ op: 'sendTaskFailure', taskToken, error, cause, at: this.now() });
    return this.goneTokens.has(taskToken) ? 'gone' : 'delivered';
  }

  /** What the recorded executions answer: UNKNOWN unless set (or started by resumeSession: RUNNING). */
  async executionStatus(executionArn: string): Promise<ExecutionStatus> {
    return this.statuses.get(executionArn) ?? 'UNKNOWN';
  }

  /** Sets what executionStatus answers for an execution. */
  setStatus(executionArn: string, status: ExecutionStatus): void {
    this.statuses.set(executionArn, status);
  }

  /** Makes sends of this token answer `gone` (a token whose execution died). */
  markTokenGone(taskToken: string): void {
    this.goneTokens.add(taskToken);
  }

  async stopExecution(executionArn: string, cause?: string): Promise<void> {
    this.calls.push({ op: 'stopExecution', executionArn, cause, at: this.now() });
  }

  /** The recorded calls of one kind, in call order. */
  callsOf<K extends RecordedOp>(op: K): Extract<RecordedWorkflowCall, { op: K }>[] {
    return this.calls.filter((c): c is Extract<RecordedWorkflowCall, { op: K }> => c.op === op);
  }

  /** Distinct executions started (a repeated start of one session is one execution). */
  executions(): string[] {
    return [...new Set(this.callsOf('startSession').map((c) => c.executionArn))];
  }

  reset(): void {
    this.calls.length = 0;
    this.statuses.clear();
    this.goneTokens.clear();
  }

  static executionArnOf(sessionId: string): string {
    return `recorded:${sessionId}`;
  }

  private now(): string {
    return this.clock().toISOString();
  }
}

// ---------------------------------------------------------------------------------------------
// Choosing the engine

/** Environment variable that picks the adapter; default `recording`. */
export const WORKFLOW_ENGINE_ENV = 'WORKFLOW_ENGINE';
export const WORKFLOW_ENGINE_KINDS = ['recording', 'stepfunctions'] as const;
export type WorkflowEngineKind = (typeof WORKFLOW_ENGINE_KINDS)[number];

/**
 * Builds the adapter named by WORKFLOW_ENGINE: `recording` (default) or `stepfunctions`
 * (stepfunctions-engine.ts: StartExecution with `sessionExecutionName` + `sessionWorkflowInput`
 * on SESSION_STATE_MACHINE_ARN, SendTaskSuccess/Failure, StopExecution through
 * @aws-sdk/client-sfn, honouring AWS_ENDPOINT_URL_SFN locally).
 */
export function createWorkflowEngine(env: RawEnv): WorkflowEngine {
  const kind = (env[WORKFLOW_ENGINE_ENV] ?? '').trim() || 'recording';
  switch (kind) {
    case 'recording':
      return new RecordingWorkflowEngine();
    case 'stepfunctions':
      // State machine ARN from SESSION_STATE_MACHINE_ARN; endpoint from AWS_ENDPOINT_URL_SFN when set.
      return new StepFunctionsWorkflowEngine({ stateMachineArn: env.SESSION_STATE_MACHINE_ARN });
    default:
      throw new Error(
        `${WORKFLOW_ENGINE_ENV}=${kind} is not one of ${WORKFLOW_ENGINE_KINDS.join(', ')} (default recording)`,
      );
  }
}
