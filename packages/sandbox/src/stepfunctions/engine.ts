import { randomBytes, randomUUID } from 'node:crypto';
import { type RunOptions, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { invokeLambda, type LambdaHandler, LOCAL_ACCOUNT_ID } from '../lambda-runtime.ts';

/**
 * Step Functions executions run in this process with aws-local-stepfunctions (JSONPath ASL),
 * the same ASL files as in AWS. Every Lambda Task state is overridden to invoke its handler
 * in-process through the local Lambda runtime (lambda-runtime.ts), answering with the shape of
 * the `arn:aws:states:::lambda:invoke` integration (`{Payload, StatusCode, …}`).
 *
 * `.waitForTaskToken` is emulated (the library has no task tokens): the context object's
 * `Task.Token` is a placeholder, and the override replaces it in the payload with a fresh token,
 * invokes the handler (which stores the token), then waits for SendTaskSuccess/SendTaskFailure
 * on that token. The state's TimeoutSeconds/TimeoutSecondsPath is applied by the library
 * (`States.Timeout`); a token whose task timed out answers TaskTimedOut afterwards, as in AWS.
 */

/** Substituted for `$$.Task.Token`; replaced per task invocation with a real token. */
const TOKEN_PLACEHOLDER = '__LOCAL_SFN_TASK_TOKEN__';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** One Lambda function of a state machine: what fills `${substitution}`. */
export interface LocalLambdaTask {
  /** The ASL substitution naming the function ARN (e.g. `PlaceSessionFunctionArn`). */
  substitution: string;
  /** Function name (ARN suffix; logs). */
  name: string;
  handler: LambdaHandler;
  timeoutSeconds?: number | undefined;
}

export interface LocalStateMachineDefinition {
  name: string;
  /** The ASL with `${Name}` substitutions still in it (as the file is in the repository). */
  definition: StateMachineDefinition | Record<string, unknown>;
  tasks: readonly LocalLambdaTask[];
}

export interface LocalEngineOptions {
  region?: string;
  accountId?: string;
  /** Wait state name → pause in ms instead of the state's own duration (tests). */
  waitTimeOverrides?: Record<string, number>;
  /** State name → pause in ms before each retry (or one per retrier) instead of IntervalSeconds etc. */
  retryIntervalOverrides?: Record<string, number | number[]>;
  log?: (line: string) => void;
}

export interface ExecutionEvent {
  type: string;
  at: string;
  state?: string;
  error?: string;
  cause?: string;
}

export interface ExecutionSnapshot {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  input: string;
  output?: string | undefined;
  error?: string | undefined;
  cause?: string | undefined;
  startDate: Date;
  stopDate?: Date | undefined;
  /** States entered, in order (a state entered again appears again). */
  states: string[];
  events: ExecutionEvent[];
}

export type TokenStatus = 'PENDING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'CLOSED';

export interface PendingTask {
  taskToken: string;
  executionArn: string;
  stateName: string;
  since: string;
}

/** An SFN API error (`__type` on the wire). */
export class SfnApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

interface TokenEntry extends PendingTask {
  status: TokenStatus;
  resolve(output: unknown): void;
  reject(error: Error): void;
}

interface Execution extends ExecutionSnapshot {
  abort(): void;
  done: Promise<void>;
}

interface Machine {
  name: string;
  arn: string;
  machine: StateMachine;
  /** Task state name → its Lambda task, and whether it waits for a task token. */
  taskStates: Map<string, { task: LocalLambdaTask; waitForToken: boolean }>;
}

type TaskOverrides = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;

const nowIso = () => new Date().toISOString();

/** An Error whose name is what Retry/Catch match (the Lambda errorType, States.Timeout, …). */
function namedError(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

/** Where a Task's TimeoutSecondsPath value rides along in its Parameters (see adaptTimeoutPaths). */
const LOCAL_TIMEOUT_KEY = '__localTimeoutSeconds';

/**
 * aws-local-stepfunctions evaluates TimeoutSecondsPath against the state's effective parameters
 * (after Parameters), whereas Step Functions reads it from the state input. To give the same
 * answer, each such Task state gets its path copied into its Parameters under a local-only key
 * (`"__localTimeoutSeconds.$": <the path>`, resolved against the state input like every
 * Parameters path), and TimeoutSecondsPath points there. The overrides only read `Payload`, so
 * the extra key never reaches a handler. The ASL file is unchanged.
 */
function adaptTimeoutPaths(definition: StateMachineDefinition): StateMachineDefinition {
  for (const state of Object.values(definition.States)) {
    const task = state as { Type: string; TimeoutSecondsPath?: string; Parameters?: unknown };
    if (task.Type !== 'Task' || !task.TimeoutSecondsPath) continue;
    if (!task.Parameters || typeof task.Parameters !== 'object' || Array.isArray(task.Parameters)) continue;
    task.Parameters = { ...task.Parameters, [`${LOCAL_TIMEOUT_KEY}.$`]: task.TimeoutSecondsPath };
    task.TimeoutSecondsPath = `$.${LOCAL_TIMEOUT_KEY}`;
  }
  return definition;
}

/** The Cause of a Lambda function error as Step Functions reports it. */
function lambdaCause(error: unknown): string {
  const e = error as { name?: unknown; message?: unknown; stack?: unknown } | undefined;
  return JSON.stringify({
    errorType: typeof e?.name === 'string' ? e.name : 'Error',
    errorMessage: typeof e?.message === 'string' ? e.message : String(error),
    trace: typeof e?.stack === 'string' ? e.stack.split('\n').slice(1, 6) : [],
  });
}

function replacePlaceholder(value: unknown, token: string): unknown {
  if (value === TOKEN_PLACEHOLDER) return token;
  if (Array.isArray(value)) return value.map((v) => replacePlaceholder(v, token));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replacePlaceholder(v, token)]));
  }
  return value;
}

const toJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v ?? null));

export class LocalStepFunctionsEngine {
  readonly region: string;
  readonly accountId: string;
  private readonly machines = new Map<string, Machine>();
  private readonly executionsByArn = new Map<string, Execution>();
  private readonly tokens = new Map<string, TokenEntry>();
  private readonly opts: LocalEngineOptions;
  private stopped = false;

  constructor(opts: LocalEngineOptions = {}) {
    this.opts = opts;
    this.region = opts.region ?? 'us-east-1';
    this.accountId = opts.accountId ?? LOCAL_ACCOUNT_ID;
  }

  stateMachineArnOf(name: string): string {
    return `arn:aws:states:${this.region}:${this.accountId}:stateMachine:${name}`;
  }

  private functionArnOf(name: string): string {
    return `arn:aws:lambda:${this.region}:${this.accountId}:function:${name}`;
  }

  /**
   * Registers a state machine: substitutes every `${X}` with the ARN of task X and maps each
   * Lambda Task state to its handler. A substitution without a task is an error.
   */
  register(def: LocalStateMachineDefinition): string {
    const bySubstitution = new Map(def.tasks.map((t) => [t.substitution, t]));
    const text = JSON.stringify(def.definition).replace(/\$\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => {
      const task = bySubstitution.get(name);
      if (!task) throw new Error(`state machine ${def.name}: no local task for \${${name}}`);
      return this.functionArnOf(task.name);
    });
    const definition = adaptTimeoutPaths(JSON.parse(text) as StateMachineDefinition);
    const byArn = new Map(def.tasks.map((t) => [this.functionArnOf(t.name), t]));
    const taskStates: Machine['taskStates'] = new Map();
    for (const [stateName, state] of Object.entries(definition.States)) {
      if (state.Type !== 'Task') continue;
      const resource = String(state.Resource);
      const fn = (state as { Parameters?: { FunctionName?: unknown } }).Parameters?.FunctionName;
      const task = typeof fn === 'string' ? byArn.get(fn) : undefined;
      if (!resource.startsWith('arn:aws:states:::lambda:invoke') || !task) {
        throw new Error(
          `state machine ${def.name}: Task state ${stateName} is not a Lambda task of this machine`,
        );
      }
      taskStates.set(stateName, { task, waitForToken: resource.endsWith('.waitForTaskToken') });
    }
    const arn = this.stateMachineArnOf(def.name);
    this.machines.set(arn, {
      name: def.name,
      arn,
      machine: new StateMachine(definition),
      taskStates,
    });
    return arn;
  }

  // --- task emulation -----------------------------------------------------------------------

  /** `arn:aws:states:::lambda:invoke`: runs the handler, answers like the integration. */
  private async invoke(task: LocalLambdaTask, input: unknown): Promise<unknown> {
    const { Payload } = (input ?? {}) as { Payload?: unknown };
    const requestId = randomUUID();
    const outcome = await invokeLambda(task.handler, toJson(Payload), this.fnOf(task), { requestId });
    if (outcome.kind === 'ok') {
      return {
        ExecutedVersion: '$LATEST',
        Payload: toJson(outcome.result),
        SdkHttpMetadata: { HttpStatusCode: 200 },
        SdkResponseMetadata: { RequestId: requestId },
        StatusCode: 200,
      };
    }
    if (outcome.kind === 'timeout') {
      throw namedError(
        'Sandbox.Timedout',
        JSON.stringify({
          errorType: 'Sandbox.Timedout',
          errorMessage: `Task timed out after ${outcome.durationMs} ms`,
        }),
      );
    }
    const name = (outcome.error as { name?: unknown })?.name;
    throw namedError(typeof name === 'string' ? name : 'Error', lambdaCause(outcome.error));
  }

  private fnOf(task: LocalLambdaTask) {
    return { functionName: task.name, region: this.region, timeoutMs: (task.timeoutSeconds ?? 60) * 1000 };
  }

  /** `lambda:invoke.waitForTaskToken`: a fresh token in the payload, then wait for it. */
  private async waitForToken(
    executionArn: string,
    stateName: string,
    task: LocalLambdaTask,
    input: unknown,
  ): Promise<unknown> {
    const taskToken = randomBytes(48).toString('base64url');
    const payload = replacePlaceholder((input as { Payload?: unknown })?.Payload, taskToken);
    const settled = new Promise<unknown>((resolve, reject) => {
      this.tokens.set(taskToken, {
        taskToken,
        executionArn,
        stateName,
        since: nowIso(),
        status: 'PENDING',
        resolve,
        reject,
      });
    });
    settled.catch(() => {});
    const outcome = await invokeLambda(task.handler, toJson(payload), this.fnOf(task));
    const entry = this.tokens.get(taskToken);
    if (outcome.kind !== 'ok' && entry?.status === 'PENDING') {
      entry.status = 'CLOSED';
      const error =
        outcome.kind === 'timeout'
          ? namedError('Sandbox.Timedout', 'Task timed out')
          : namedError(
              String((outcome.error as { name?: unknown })?.name ?? 'Error'),
              lambdaCause(outcome.error),
            );
      entry.reject(error);
    }
    return settled;
  }

  /** The Task overrides of one execution (a token must know the execution it belongs to). */
  private overridesFor(machine: Machine, executionArn: string): TaskOverrides {
    const overrides: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const [stateName, { task, waitForToken }] of machine.taskStates) {
      overrides[stateName] = (input) => {
        const p = waitForToken
          ? this.waitForToken(executionArn, stateName, task, input)
          : this.invoke(task, input);
        // The library may abandon a task promise (e.g. when its timeout path fails): never unhandled.
        p.catch(() => {});
        return p;
      };
    }
    return overrides as TaskOverrides;
  }

  // --- API ----------------------------------------------------------------------------------

  startExecution(req: { stateMachineArn?: unknown; name?: unknown; input?: unknown }): {
    executionArn: string;
    startDate: Date;
  } {
    if (this.stopped)
      throw new SfnApiError('ServiceUnavailable', 'the local Step Functions endpoint is stopping', 503);
    const machine = this.machines.get(String(req.stateMachineArn ?? ''));
    if (!machine)
      throw new SfnApiError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${String(req.stateMachineArn)}'`,
      );
    const name = req.name === undefined ? randomUUID() : String(req.name);
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) throw new SfnApiError('InvalidName', `Invalid Name: '${name}'`);
    const inputText = req.input === undefined ? '{}' : String(req.input);
    let input: unknown;
    try {
      input = JSON.parse(inputText);
    } catch {
      throw new SfnApiError('InvalidExecutionInput', 'Invalid execution input: not JSON');
    }
    const executionArn = `arn:aws:states:${this.region}:${this.accountId}:execution:${machine.name}:${name}`;
    const existing = this.executionsByArn.get(executionArn);
    if (existing) {
      // AWS: same name and input while running → the same execution; otherwise a conflict.
      if (existing.status === 'RUNNING' && existing.input === inputText) {
        return { executionArn, startDate: existing.startDate };
      }
      throw new SfnApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }

    const run = machine.machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: this.overridesFor(machine, executionArn),
        ...(this.opts.waitTimeOverrides ? { waitTimeOverrides: this.opts.waitTimeOverrides } : {}),
        ...(this.opts.retryIntervalOverrides
          ? { retryIntervalOverrides: this.opts.retryIntervalOverrides }
          : {}),
      },
      noThrowOnAbort: true,
      context: {
        Execution: { Id: executionArn, Name: name },
        StateMachine: { Id: machine.arn, Name: machine.name },
        Task: { Token: TOKEN_PLACEHOLDER },
      },
    });
    const execution: Execution = {
      executionArn,
      stateMachineArn: machine.arn,
      name,
      status: 'RUNNING',
      input: inputText,
      startDate: new Date(),
      states: [],
      events: [],
      abort: run.abort,
      done: Promise.resolve(),
    };
    this.executionsByArn.set(executionArn, execution);
    const events = this.consumeEvents(execution, run.eventLogs);
    const result = run.result.then(
      (output) => {
        if (execution.status !== 'RUNNING') return;
        execution.status = 'SUCCEEDED';
        execution.output = JSON.stringify(output ?? null);
      },
      (e: unknown) => {
        if (execution.status !== 'RUNNING') return;
        const cause = (e as { cause?: { name?: string; message?: string } }).cause;
        execution.status = (e as Error).name === 'ExecutionTimeoutError' ? 'TIMED_OUT' : 'FAILED';
        execution.error = cause?.name ?? (e as Error).name;
        execution.cause = cause?.message ?? (e as Error).message;
      },
    );
    execution.done = Promise.all([result, events]).then(() => {
      execution.stopDate ??= new Date();
      this.closeTokens(executionArn, 'CLOSED');
      if (execution.status === 'FAILED') {
        this.opts.log?.(`local sfn: ${executionArn} FAILED: ${execution.error}: ${execution.cause ?? ''}`);
      }
    });
    return { executionArn, startDate: execution.startDate };
  }

  private async consumeEvents(execution: Execution, logs: AsyncGenerator<unknown>): Promise<void> {
    for await (const raw of logs) {
      const ev = raw as {
        type: string;
        timestamp: number;
        state?: { name: string };
        Error?: string;
        Cause?: unknown;
      };
      const event: ExecutionEvent = {
        type: ev.type,
        at: new Date(ev.timestamp).toISOString(),
        ...(ev.state ? { state: ev.state.name } : {}),
        ...(ev.Error ? { error: ev.Error } : {}),
        ...(ev.Cause !== undefined
          ? { cause: typeof ev.Cause === 'string' ? ev.Cause : String(ev.Cause) }
          : {}),
      };
      execution.events.push(event);
      if (ev.type === 'StateEntered' && ev.state) execution.states.push(ev.state.name);
      // The task's own timeout (TimeoutSeconds[Path]) fired: its token can no longer be used.
      if (ev.type === 'StateFailed' && ev.state && ev.Error === 'States.Timeout') {
        for (const entry of this.tokens.values()) {
          if (entry.executionArn === execution.executionArn && entry.stateName === ev.state.name) {
            this.settle(entry, 'TIMED_OUT');
          }
        }
      }
      if (
        ev.type === 'ExecutionAborted' ||
        ev.type === 'ExecutionFailed' ||
        ev.type === 'ExecutionSucceeded'
      ) {
        execution.stopDate ??= new Date(ev.timestamp);
      }
      if (ev.type === 'ExecutionAborted' || ev.type === 'ExecutionSucceeded' || ev.type === 'ExecutionFailed')
        break;
    }
  }

  private settle(entry: TokenEntry, status: Exclude<TokenStatus, 'PENDING' | 'SUCCEEDED' | 'FAILED'>): void {
    if (entry.status !== 'PENDING') return;
    entry.status = status;
    entry.reject(namedError(status === 'TIMED_OUT' ? 'States.Timeout' : 'States.Aborted', `task ${status}`));
  }

  private closeTokens(executionArn: string, status: 'CLOSED' | 'TIMED_OUT'): void {
    for (const entry of this.tokens.values()) {
      if (entry.executionArn === executionArn) this.settle(entry, status);
    }
  }

  private pendingEntry(taskToken: unknown): TokenEntry {
    if (typeof taskToken !== 'string' || taskToken.length === 0 || taskToken.length > 2048) {
      throw new SfnApiError('InvalidToken', 'Invalid Token');
    }
    const entry = this.tokens.get(taskToken);
    if (!entry) throw new SfnApiError('InvalidToken', 'Invalid Token: not issued by this endpoint');
    if (entry.status === 'TIMED_OUT') throw new SfnApiError('TaskTimedOut', 'Task Timed Out');
    if (entry.status !== 'PENDING') throw new SfnApiError('TaskDoesNotExist', 'Task Does Not Exist');
    return entry;
  }

  sendTaskSuccess(req: { taskToken?: unknown; output?: unknown }): void {
    const entry = this.pendingEntry(req.taskToken);
    let output: unknown;
    try {
      output = JSON.parse(String(req.output ?? ''));
    } catch {
      throw new SfnApiError('InvalidOutput', 'Invalid Output: not JSON');
    }
    entry.status = 'SUCCEEDED';
    entry.resolve(output);
  }

  sendTaskFailure(req: { taskToken?: unknown; error?: unknown; cause?: unknown }): void {
    const entry = this.pendingEntry(req.taskToken);
    entry.status = 'FAILED';
    entry.reject(
      namedError(req.error === undefined ? 'TaskFailed' : String(req.error), String(req.cause ?? '')),
    );
  }

  sendTaskHeartbeat(req: { taskToken?: unknown }): void {
    this.pendingEntry(req.taskToken);
  }

  stopExecution(req: { executionArn?: unknown; error?: unknown; cause?: unknown }): { stopDate: Date } {
    const execution = this.executionsByArn.get(String(req.executionArn ?? ''));
    if (!execution)
      throw new SfnApiError(
        'ExecutionDoesNotExist',
        `Execution Does Not Exist: '${String(req.executionArn)}'`,
      );
    if (execution.status === 'RUNNING') {
      execution.status = 'ABORTED';
      execution.stopDate = new Date();
      if (req.error !== undefined) execution.error = String(req.error);
      if (req.cause !== undefined) execution.cause = String(req.cause);
      execution.abort();
      this.closeTokens(execution.executionArn, 'CLOSED');
    }
    return { stopDate: execution.stopDate ?? new Date() };
  }

  /**
   * Fault injection (tests): the execution is gone as after a restart of the engine — aborted
   * without a trace, its tokens dead (TaskDoesNotExist), DescribeExecution ExecutionDoesNotExist.
   * Resolves once its loop has ended.
   */
  async deleteExecution(executionArn: string): Promise<void> {
    const execution = this.executionsByArn.get(executionArn);
    if (!execution)
      throw new SfnApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    if (execution.status === 'RUNNING') {
      execution.status = 'ABORTED';
      execution.abort();
      this.closeTokens(executionArn, 'CLOSED');
    }
    await execution.done;
    this.executionsByArn.delete(executionArn);
  }

  describeExecution(req: { executionArn?: unknown }): ExecutionSnapshot {
    const execution = this.executionsByArn.get(String(req.executionArn ?? ''));
    if (!execution)
      throw new SfnApiError(
        'ExecutionDoesNotExist',
        `Execution Does Not Exist: '${String(req.executionArn)}'`,
      );
    return snapshot(execution);
  }

  // --- inspection (tests, the local stack) --------------------------------------------------

  executions(): ExecutionSnapshot[] {
    return [...this.executionsByArn.values()].map(snapshot);
  }

  pendingTasks(): PendingTask[] {
    return [...this.tokens.values()]
      .filter((t) => t.status === 'PENDING')
      .map(({ taskToken, executionArn, stateName, since }) => ({
        taskToken,
        executionArn,
        stateName,
        since,
      }));
  }

  /** Resolves when the execution has ended (any status); rejects after `timeoutMs`. */
  async waitForExecution(executionArn: string, timeoutMs = 60_000): Promise<ExecutionSnapshot> {
    const execution = this.executionsByArn.get(executionArn);
    if (!execution)
      throw new SfnApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `execution ${executionArn} still ${execution.status} after ${timeoutMs} ms (states: ${execution.states.join(' → ')})`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      await Promise.race([execution.done, timeout]);
      return snapshot(execution);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Aborts every running execution and waits until their loops have ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    const running = [...this.executionsByArn.values()];
    for (const execution of running) {
      if (execution.status === 'RUNNING')
        this.stopExecution({ executionArn: execution.executionArn, cause: 'endpoint stopped' });
    }
    await Promise.allSettled(running.map((e) => e.done));
  }
}

function snapshot(e: Execution): ExecutionSnapshot {
  return {
    executionArn: e.executionArn,
    stateMachineArn: e.stateMachineArn,
    name: e.name,
    status: e.status,
    input: e.input,
    output: e.output,
    error: e.error,
    cause: e.cause,
    startDate: e.startDate,
    stopDate: e.stopDate,
    states: [...e.states],
    events: e.events.map((ev) => ({ ...ev })),
  };
}
