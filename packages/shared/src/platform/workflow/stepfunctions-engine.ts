import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { LabletSession } from '../../kernel/index.ts';
import { sfnClient } from '../runtime/aws/sfn.ts';
import {
  type SessionResumeInput,
  sessionExecutionName,
  sessionWorkflowInput,
  type TaskTokenDelivery,
  type WorkflowEngine,
} from './engine.ts';
import type { ExecutionStatus } from './fleet-engine.ts';

/**
 * The workflow engine on AWS Step Functions (@aws-sdk/client-sfn). The client honours
 * AWS_ENDPOINT_URL_SFN, so the same adapter drives the local Step Functions endpoint of the
 * sandbox. Keeps the WorkflowEngine contract:
 * - startSession: execution name = sessionExecutionName(id), input = sessionWorkflowInput
 *   (deterministic); ExecutionAlreadyExists (a repeated start, or one after the first run
 *   ended) → the existing execution's ARN.
 * - sendTaskSuccess/Failure: a token that was already resolved, timed out or never valid
 *   (TaskDoesNotExist, TaskTimedOut, InvalidToken) answers `gone` instead of throwing.
 * - resumeSession: a recovery execution under the given name with `{sessionId, resume}`;
 *   ExecutionAlreadyExists → that execution's ARN (a racing recovery started it).
 * - executionStatus: DescribeExecution; ExecutionDoesNotExist → NOT_FOUND, another engine's
 *   ARN → UNKNOWN.
 * - stopExecution: an execution that does not exist or has already ended is ignored.
 */

export const SESSION_STATE_MACHINE_ARN_ENV = 'SESSION_STATE_MACHINE_ARN';

/** Errors that mean "this token has nothing left to resolve". */
const GONE_TOKEN_ERRORS = new Set(['TaskDoesNotExist', 'TaskTimedOut', 'InvalidToken']);

/** Step Functions limits (SendTaskFailure error ≤ 256, cause ≤ 32768 characters). */
const MAX_ERROR = 256;
const MAX_CAUSE = 32_768;

export interface StepFunctionsEngineOptions {
  /** The session-lifecycle state machine (SESSION_STATE_MACHINE_ARN; createWorkflowEngine passes it). */
  stateMachineArn?: string | undefined;
  /** Default: the runtime kit's Step Functions client. */
  client?: SFNClient;
}

/**
 * The ARN of an execution from its state machine ARN and name:
 * `arn:<partition>:states:<region>:<account>:stateMachine:<sm>` → `…:execution:<sm>:<name>`.
 */
export function executionArnFor(stateMachineArn: string, executionName: string): string {
  const parts = stateMachineArn.split(':');
  if (parts.length < 7 || parts[2] !== 'states' || parts[5] !== 'stateMachine') {
    throw new Error(`not a state machine ARN: ${stateMachineArn}`);
  }
  return [...parts.slice(0, 5), 'execution', parts[6], executionName].join(':');
}

const errorName = (e: unknown): string => (e as { name?: string } | undefined)?.name ?? '';

export class StepFunctionsWorkflowEngine implements WorkflowEngine {
  readonly kind = 'stepfunctions';
  private readonly client: SFNClient;
  private readonly stateMachineArn: string | undefined;

  constructor(opts: StepFunctionsEngineOptions = {}) {
    this.stateMachineArn = opts.stateMachineArn;
    this.client = opts.client ?? sfnClient();
  }

  private machine(): string {
    if (!this.stateMachineArn) throw new Error(`${SESSION_STATE_MACHINE_ARN_ENV} is not set`);
    return this.stateMachineArn;
  }

  startSession(session: LabletSession): Promise<{ executionArn: string }> {
    return this.start(sessionExecutionName(session.id), sessionWorkflowInput(session));
  }

  resumeSession(
    session: LabletSession,
    resume: SessionResumeInput,
    executionName: string,
  ): Promise<{ executionArn: string }> {
    return this.start(sessionExecutionName(executionName), { ...sessionWorkflowInput(session), resume });
  }

  async executionStatus(executionArn: string): Promise<ExecutionStatus> {
    if (!executionArn.startsWith('arn:')) return 'UNKNOWN';
    try {
      const out = await this.client.send(new DescribeExecutionCommand({ executionArn }));
      return (out.status as ExecutionStatus | undefined) ?? 'UNKNOWN';
    } catch (e) {
      if (e instanceof ExecutionDoesNotExist || errorName(e) === 'ExecutionDoesNotExist') return 'NOT_FOUND';
      throw e;
    }
  }

  private async start(name: string, input: object): Promise<{ executionArn: string }> {
    const stateMachineArn = this.machine();
    try {
      const out = await this.client.send(
        new StartExecutionCommand({
          stateMachineArn,
          name,
          input: JSON.stringify(input),
        }),
      );
      if (!out.executionArn) throw new Error('StartExecution returned no executionArn');
      return { executionArn: out.executionArn };
    } catch (e) {
      if (errorName(e) !== 'ExecutionAlreadyExists') throw e;
      // The session's one execution exists (running, or already ended): that is the answer.
      const executionArn = executionArnFor(stateMachineArn, name);
      const described = await this.client.send(new DescribeExecutionCommand({ executionArn }));
      return { executionArn: described.executionArn ?? executionArn };
    }
  }

  async sendTaskSuccess(taskToken: string, output: unknown): Promise<TaskTokenDelivery> {
    try {
      await this.client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output ?? {}) }));
      return 'delivered';
    } catch (e) {
      if (!GONE_TOKEN_ERRORS.has(errorName(e))) throw e;
      return 'gone';
    }
  }

  async sendTaskFailure(taskToken: string, error: string, cause?: string): Promise<TaskTokenDelivery> {
    try {
      await this.client.send(
        new SendTaskFailureCommand({
          taskToken,
          error: error.slice(0, MAX_ERROR),
          ...(cause !== undefined ? { cause: cause.slice(0, MAX_CAUSE) } : {}),
        }),
      );
      return 'delivered';
    } catch (e) {
      if (!GONE_TOKEN_ERRORS.has(errorName(e))) throw e;
      return 'gone';
    }
  }

  async stopExecution(executionArn: string, cause?: string): Promise<void> {
    // An ARN from another engine (e.g. `recorded:<id>`) names nothing Step Functions knows.
    if (!executionArn.startsWith('arn:')) return;
    try {
      await this.client.send(
        new StopExecutionCommand({
          executionArn,
          ...(cause !== undefined ? { cause: cause.slice(0, MAX_CAUSE) } : {}),
        }),
      );
    } catch (e) {
      if (errorName(e) !== 'ExecutionDoesNotExist') throw e;
    }
  }
}
