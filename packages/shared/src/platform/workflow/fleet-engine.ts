import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { sfnClient } from '../runtime/aws/sfn.ts';
import type { RawEnv } from '../runtime/env.ts';
import { WORKFLOW_ENGINE_ENV } from './engine.ts';

/**
 * The fleet workflows seam (DESIGN §6, §9): what the scalers, the health sweep and the worker
 * commands need from Step Functions for the worker-provisioning and worker-drain state machines,
 * plus the one question the stuck-session sweep asks (is this execution still running?).
 *
 * Contract every adapter keeps, so callers can retry freely:
 * - a start with an `executionName` is idempotent: starting a name that already exists (running
 *   or closed) returns that execution instead of a second one. The worker-lifecycle commands
 *   derive the name from the worker's state history (see `workflowForWorker`), so the scaler and
 *   the reconciliation asking for the same step start one execution.
 * - `executionStatus` never throws for an unknown execution: `NOT_FOUND` when Step Functions
 *   says it does not exist, `UNKNOWN` when the adapter cannot tell (an ARN of another engine).
 */

export type DrainThen = 'STOP' | 'TERMINATE';

/** Input of a worker-provisioning execution. */
export interface ProvisioningInput {
  workerId: string;
}

/** Input of a worker-drain execution: `then` is the scaler's decision (desiredStatus wins). */
export interface DrainInput {
  workerId: string;
  then?: DrainThen | undefined;
}

export type ExecutionStatus =
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'TIMED_OUT'
  | 'ABORTED'
  | 'PENDING_REDRIVE'
  /** Step Functions does not know the execution (ExecutionDoesNotExist). */
  | 'NOT_FOUND'
  /** The adapter cannot tell (an ARN it never started, e.g. another engine's). */
  | 'UNKNOWN';

export interface StartOptions {
  /** Step Functions execution name (≤ 80 chars of [A-Za-z0-9_-]); a fresh unique one when absent. */
  executionName?: string | undefined;
}

export interface FleetWorkflows {
  /** Which adapter this is (`recording`, `stepfunctions`); for logs. */
  readonly kind: string;
  startProvisioning(workerId: string, opts?: StartOptions): Promise<{ executionArn: string }>;
  startDrain(
    workerId: string,
    then: DrainThen | undefined,
    opts?: StartOptions,
  ): Promise<{ executionArn: string }>;
  /** Status of any execution (session executions too: the stuck-session sweep asks). */
  executionStatus(executionArn: string): Promise<ExecutionStatus>;
}

/** Characters Step Functions allows in names; at most 80. */
export const safeExecutionName = (name: string): string => name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80);

let counter = 0;
const uniqueName = (prefix: string): string =>
  safeExecutionName(`${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`);

// ---------------------------------------------------------------------------------------------
// Step Functions

export interface StepFunctionsFleetOptions {
  provisioningStateMachineArn: string;
  drainStateMachineArn: string;
  client?: SFNClient;
}

/** `arn:...:stateMachine:<name>` + execution name → `arn:...:execution:<name>:<execution>`. */
export function executionArnOf(stateMachineArn: string, executionName: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionName}`;
}

export class StepFunctionsFleetWorkflows implements FleetWorkflows {
  readonly kind = 'stepfunctions';
  private readonly client: SFNClient;

  constructor(private readonly opts: StepFunctionsFleetOptions) {
    this.client = opts.client ?? sfnClient();
  }

  startProvisioning(workerId: string, opts: StartOptions = {}): Promise<{ executionArn: string }> {
    const input: ProvisioningInput = { workerId };
    return this.start(
      this.opts.provisioningStateMachineArn,
      opts.executionName ?? uniqueName(workerId),
      input,
    );
  }

  startDrain(
    workerId: string,
    then: DrainThen | undefined,
    opts: StartOptions = {},
  ): Promise<{ executionArn: string }> {
    const input: DrainInput = then === undefined ? { workerId } : { workerId, then };
    return this.start(this.opts.drainStateMachineArn, opts.executionName ?? uniqueName(workerId), input);
  }

  async executionStatus(executionArn: string): Promise<ExecutionStatus> {
    if (!executionArn.startsWith('arn:')) return 'UNKNOWN';
    try {
      const out = await this.client.send(new DescribeExecutionCommand({ executionArn }));
      return (out.status as ExecutionStatus | undefined) ?? 'UNKNOWN';
    } catch (e) {
      if (e instanceof ExecutionDoesNotExist || (e as { name?: string }).name === 'ExecutionDoesNotExist') {
        return 'NOT_FOUND';
      }
      throw e;
    }
  }

  private async start(
    stateMachineArn: string,
    name: string,
    input: object,
  ): Promise<{ executionArn: string }> {
    const executionName = safeExecutionName(name);
    try {
      const out = await this.client.send(
        new StartExecutionCommand({ stateMachineArn, name: executionName, input: JSON.stringify(input) }),
      );
      return { executionArn: out.executionArn ?? executionArnOf(stateMachineArn, executionName) };
    } catch (e) {
      // The name exists (running with other input, or closed): that execution is the one.
      if (e instanceof ExecutionAlreadyExists || (e as { name?: string }).name === 'ExecutionAlreadyExists') {
        return { executionArn: executionArnOf(stateMachineArn, executionName) };
      }
      throw e;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Recording: records what was asked and starts nothing (tests, and until the ARNs are wired).

export type RecordedFleetCall =
  | { op: 'startProvisioning'; workerId: string; executionArn: string; name: string; at: string }
  | {
      op: 'startDrain';
      workerId: string;
      then: DrainThen | undefined;
      executionArn: string;
      name: string;
      at: string;
    };

export class RecordingFleetWorkflows implements FleetWorkflows {
  readonly kind = 'recording';
  readonly calls: RecordedFleetCall[] = [];
  private readonly statuses = new Map<string, ExecutionStatus>();

  constructor(private readonly clock: () => Date = () => new Date()) {}

  async startProvisioning(workerId: string, opts: StartOptions = {}): Promise<{ executionArn: string }> {
    const name = safeExecutionName(opts.executionName ?? uniqueName(workerId));
    const executionArn = RecordingFleetWorkflows.arnOf('provisioning', name);
    if (!this.statuses.has(executionArn)) {
      this.statuses.set(executionArn, 'RUNNING');
      this.calls.push({
        op: 'startProvisioning',
        workerId,
        executionArn,
        name,
        at: this.clock().toISOString(),
      });
    }
    return { executionArn };
  }

  async startDrain(
    workerId: string,
    then: DrainThen | undefined,
    opts: StartOptions = {},
  ): Promise<{ executionArn: string }> {
    const name = safeExecutionName(opts.executionName ?? uniqueName(workerId));
    const executionArn = RecordingFleetWorkflows.arnOf('drain', name);
    if (!this.statuses.has(executionArn)) {
      this.statuses.set(executionArn, 'RUNNING');
      this.calls.push({
        op: 'startDrain',
        workerId,
        then,
        executionArn,
        name,
        at: this.clock().toISOString(),
      });
    }
    return { executionArn };
  }

  async executionStatus(executionArn: string): Promise<ExecutionStatus> {
    return this.statuses.get(executionArn) ?? 'UNKNOWN';
  }

  /** Sets what executionStatus answers for an execution (any ARN, session executions too). */
  setStatus(executionArn: string, status: ExecutionStatus): void {
    this.statuses.set(executionArn, status);
  }

  callsOf<K extends RecordedFleetCall['op']>(op: K): Extract<RecordedFleetCall, { op: K }>[] {
    return this.calls.filter((c): c is Extract<RecordedFleetCall, { op: K }> => c.op === op);
  }

  reset(): void {
    this.calls.length = 0;
    this.statuses.clear();
  }

  static arnOf(machine: 'provisioning' | 'drain', name: string): string {
    return `recorded:fleet:${machine}:${name}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Choosing the adapter (same switch as the session engine: WORKFLOW_ENGINE)

export const PROVISIONING_STATE_MACHINE_ENV = 'WORKER_PROVISIONING_STATE_MACHINE_ARN';
export const DRAIN_STATE_MACHINE_ENV = 'WORKER_DRAIN_STATE_MACHINE_ARN';

/**
 * `WORKFLOW_ENGINE=stepfunctions` → Step Functions on the state machines named by
 * WORKER_PROVISIONING_STATE_MACHINE_ARN and WORKER_DRAIN_STATE_MACHINE_ARN (endpoint from
 * AWS_ENDPOINT_URL_SFN when set, as the SDK does); otherwise the recording adapter.
 */
export function createFleetWorkflows(env: RawEnv): FleetWorkflows {
  const kind = (env[WORKFLOW_ENGINE_ENV] ?? '').trim() || 'recording';
  if (kind === 'recording') return new RecordingFleetWorkflows();
  if (kind !== 'stepfunctions') {
    throw new Error(`${WORKFLOW_ENGINE_ENV}=${kind} is not one of recording, stepfunctions`);
  }
  const provisioningStateMachineArn = env[PROVISIONING_STATE_MACHINE_ENV];
  const drainStateMachineArn = env[DRAIN_STATE_MACHINE_ENV];
  if (!provisioningStateMachineArn || !drainStateMachineArn) {
    throw new Error(
      `${WORKFLOW_ENGINE_ENV}=stepfunctions needs ${PROVISIONING_STATE_MACHINE_ENV} and ${DRAIN_STATE_MACHINE_ENV}`,
    );
  }
  return new StepFunctionsFleetWorkflows({ provisioningStateMachineArn, drainStateMachineArn });
}
