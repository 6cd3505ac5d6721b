import {
  DescribeExecutionCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { StackContext } from '@lcm/sandbox/local-stack';
import {
  LOCAL_SESSION_STATE_MACHINE,
  type LocalStepFunctions,
  startLocalStepFunctions,
  stepFunctionsService,
} from '@lcm/sandbox/stepfunctions/server';
import type { LabletSession } from '@lcm/shared/kernel';
import { createWorkflowEngine, executionArnFor, StepFunctionsWorkflowEngine } from '@lcm/shared/platform';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The Step Functions adapter with the unchanged SDK client against the local endpoint (real
 * HTTP, SFN JSON protocol), on a small state machine: a Lambda task whose error name drives a
 * Catch, then a `.waitForTaskToken` task that hands its token out. The endpoint's own behaviour
 * (idempotent starts, token states, stop) is what the engine contract relies on.
 */

const tokens = new Map<string, string>();
/** An ASL `${Name}` substitution (filled with the function ARN when the machine is registered). */
const substitution = (name: string) => `\${${name}}`;
const MACHINE = {
  QueryLanguage: 'JSONPath',
  StartAt: 'Check',
  States: {
    Check: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: substitution('CheckFunctionArn'), 'Payload.$': '$' },
      ResultSelector: { 'ok.$': '$.Payload.ok' },
      ResultPath: '$.check',
      Catch: [{ ErrorEquals: ['Boom'], ResultPath: '$.error', Next: 'Caught' }],
      Next: 'Await',
    },
    Await: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: {
        FunctionName: substitution('HoldFunctionArn'),
        Payload: { 'sessionId.$': '$.sessionId', 'taskToken.$': '$$.Task.Token' },
      },
      TimeoutSecondsPath: '$.timeout',
      ResultPath: '$.result',
      End: true,
    },
    Caught: { Type: 'Pass', End: true },
  },
};

let sfn: LocalStepFunctions;
let client: SFNClient;
let engine: StepFunctionsWorkflowEngine;
let arn: string;

const session = (id: string) => ({ id }) as LabletSession;

beforeAll(async () => {
  sfn = await startLocalStepFunctions({
    stateMachines: [
      {
        name: 'test-machine',
        definition: MACHINE,
        tasks: [
          {
            substitution: 'CheckFunctionArn',
            name: 'check',
            handler: async (event: { boom?: boolean }) => {
              if (event.boom) {
                const e = new Error('it went boom');
                e.name = 'Boom';
                throw e;
              }
              return { ok: true };
            },
          },
          {
            substitution: 'HoldFunctionArn',
            name: 'hold',
            handler: async (event: { sessionId: string; taskToken: string }) => {
              tokens.set(event.sessionId, event.taskToken);
              return { held: true };
            },
          },
        ],
      },
    ],
  });
  arn = sfn.stateMachineArns['test-machine']!;
  client = new SFNClient({
    endpoint: sfn.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  engine = new StepFunctionsWorkflowEngine({ stateMachineArn: arn, client });
});

afterAll(async () => {
  client?.destroy();
  await sfn?.stop();
});

async function tokenOf(id: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const t = tokens.get(id);
    if (t) return t;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no token for ${id}`);
}

/** Starts an execution of the test machine directly (inputs the session workflow never uses). */
async function startRaw(name: string, input: Record<string, unknown>): Promise<{ executionArn: string }> {
  const out = await client.send(
    new StartExecutionCommand({ stateMachineArn: arn, name, input: JSON.stringify(input) }),
  );
  return { executionArn: out.executionArn! };
}

describe('StepFunctionsWorkflowEngine on the local endpoint', () => {
  it('starts one execution per session: a repeated start returns the same ARN', async () => {
    // The engine's input is { sessionId }; the machine's timeout path needs `timeout`, so this
    // execution fails fast at the wait — what matters here is the start's idempotency.
    const a = await engine.startSession(session('sess-a'));
    const b = await engine.startSession(session('sess-a'));
    expect(a.executionArn).toBe(executionArnFor(arn, 'sess-a'));
    expect(b).toEqual(a);
    expect(sfn.executions().filter((e) => e.name === 'sess-a')).toHaveLength(1);
    await sfn.waitForExecution(a.executionArn, 10_000);
    // After the run ended the name is taken: ExecutionAlreadyExists → the existing execution.
    expect(await engine.startSession(session('sess-a'))).toEqual(a);
    await expect(startRaw('sess-a', { sessionId: 'sess-a', other: 1 })).rejects.toMatchObject({
      name: 'ExecutionAlreadyExists',
    });
  });

  it('SendTaskSuccess resumes the waiting task with the output (delivered); the spent token is gone, not an error', async () => {
    const { executionArn } = await startRaw('ok-1', { sessionId: 'ok-1', timeout: 30 });
    const t = await tokenOf('ok-1');
    expect(sfn.pendingTasks()).toContainEqual(expect.objectContaining({ taskToken: t, stateName: 'Await' }));
    await expect(engine.sendTaskSuccess(t, { kind: 'LOGIN', at: 'now' })).resolves.toBe('delivered');
    const done = await sfn.waitForExecution(executionArn, 10_000);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output!)).toMatchObject({
      check: { ok: true },
      result: { kind: 'LOGIN', at: 'now' },
    });
    const described = await client.send(new DescribeExecutionCommand({ executionArn }));
    expect(described.status).toBe('SUCCEEDED');
    expect(described.startDate).toBeInstanceOf(Date);

    await expect(engine.sendTaskSuccess(t, {})).resolves.toBe('gone');
    await expect(engine.sendTaskFailure(t, 'Terminated')).resolves.toBe('gone');
    await expect(
      client.send(new SendTaskSuccessCommand({ taskToken: t, output: '{}' })),
    ).rejects.toMatchObject({
      name: 'TaskDoesNotExist',
    });
  });

  it('SendTaskFailure fails the task with its error and cause', async () => {
    const { executionArn } = await startRaw('fail-1', { sessionId: 'fail-1', timeout: 30 });
    await engine.sendTaskFailure(await tokenOf('fail-1'), 'Terminated', 'operator request');
    const done = await sfn.waitForExecution(executionArn, 10_000);
    expect(done).toMatchObject({ status: 'FAILED', error: 'Terminated', cause: 'operator request' });
  });

  it('a timed-out task answers TaskTimedOut (gone for the engine); unknown tokens are InvalidToken (gone)', async () => {
    const { executionArn } = await startRaw('late-1', { sessionId: 'late-1', timeout: 1 });
    const t = await tokenOf('late-1');
    const done = await sfn.waitForExecution(executionArn, 10_000);
    expect(done).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    await expect(
      client.send(new SendTaskSuccessCommand({ taskToken: t, output: '{}' })),
    ).rejects.toMatchObject({
      name: 'TaskTimedOut',
    });
    await expect(engine.sendTaskSuccess(t, {})).resolves.toBe('gone');
    await expect(
      client.send(new SendTaskFailureCommand({ taskToken: 'never-issued', error: 'x' })),
    ).rejects.toMatchObject({ name: 'InvalidToken' });
    await expect(engine.sendTaskFailure('never-issued', 'x')).resolves.toBe('gone');
  });

  it('a Lambda error keeps its name for Retry/Catch, with the Lambda-style cause', async () => {
    const { executionArn } = await startRaw('boom-1', { sessionId: 'boom-1', boom: true });
    const done = await sfn.waitForExecution(executionArn, 10_000);
    expect(done.status).toBe('SUCCEEDED');
    const output = JSON.parse(done.output!) as { error: { Error: string; Cause: string } };
    expect(output.error.Error).toBe('Boom');
    expect(JSON.parse(output.error.Cause)).toMatchObject({ errorType: 'Boom', errorMessage: 'it went boom' });
  });

  it('stops an execution (its waiting token is closed); stopping again or an unknown one is fine', async () => {
    const { executionArn } = await startRaw('stop-1', { sessionId: 'stop-1', timeout: 30 });
    const t = await tokenOf('stop-1');
    await engine.stopExecution(executionArn, 'session terminated');
    const done = await sfn.waitForExecution(executionArn, 10_000);
    expect(done.status).toBe('ABORTED');
    expect(sfn.pendingTasks().map((p) => p.taskToken)).not.toContain(t);
    await expect(engine.stopExecution(executionArn)).resolves.toBeUndefined();
    await expect(engine.stopExecution(executionArnFor(arn, 'never-started'))).resolves.toBeUndefined();
    await expect(
      client.send(new StopExecutionCommand({ executionArn: executionArnFor(arn, 'never-started') })),
    ).rejects.toMatchObject({ name: 'ExecutionDoesNotExist' });
    await expect(engine.stopExecution('recorded:s-1')).resolves.toBeUndefined();
  });

  it('executionStatus: RUNNING, ABORTED, NOT_FOUND once deleted from the engine, UNKNOWN for another engine', async () => {
    const { executionArn } = await startRaw('status-1', { sessionId: 'status-1', timeout: 30 });
    expect(await engine.executionStatus(executionArn)).toBe('RUNNING');
    await engine.stopExecution(executionArn);
    await sfn.waitForExecution(executionArn, 10_000);
    expect(await engine.executionStatus(executionArn)).toBe('ABORTED');
    await sfn.engine.deleteExecution(executionArn);
    expect(await engine.executionStatus(executionArn)).toBe('NOT_FOUND');
    expect(await engine.executionStatus('recorded:s-1')).toBe('UNKNOWN');
  });

  it('is what WORKFLOW_ENGINE=stepfunctions selects', () => {
    const e = createWorkflowEngine({ WORKFLOW_ENGINE: 'stepfunctions', SESSION_STATE_MACHINE_ARN: arn });
    expect(e).toBeInstanceOf(StepFunctionsWorkflowEngine);
    expect(e.kind).toBe('stepfunctions');
  });
});

describe('StepFunctionsWorkflowEngine error handling (SDK mocked)', () => {
  it('rethrows what is not a spent token or a missing execution', async () => {
    const mocked = new SFNClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const m = mockClient(mocked);
    try {
      const e = new StepFunctionsWorkflowEngine({ stateMachineArn: arn, client: mocked });
      m.on(SendTaskSuccessCommand).rejects(
        Object.assign(new Error('slow down'), { name: 'ThrottlingException' }),
      );
      await expect(e.sendTaskSuccess('t', {})).rejects.toMatchObject({ name: 'ThrottlingException' });
      m.on(StopExecutionCommand).rejects(
        Object.assign(new Error('denied'), { name: 'AccessDeniedException' }),
      );
      await expect(e.stopExecution(executionArnFor(arn, 'x'))).rejects.toMatchObject({
        name: 'AccessDeniedException',
      });
      m.on(StartExecutionCommand).rejects(
        Object.assign(new Error('nope'), { name: 'StateMachineDoesNotExist' }),
      );
      await expect(e.startSession(session('s-x'))).rejects.toMatchObject({
        name: 'StateMachineDoesNotExist',
      });
      await expect(
        new StepFunctionsWorkflowEngine({ client: mocked, stateMachineArn: '' }).startSession(session('s')),
      ).rejects.toThrow(/SESSION_STATE_MACHINE_ARN/);
    } finally {
      m.restore();
      mocked.destroy();
    }
  });

  it('derives execution ARNs from the state machine ARN', () => {
    expect(executionArnFor('arn:aws:states:eu-west-1:123456789012:stateMachine:lcm-session', 'S1')).toBe(
      'arn:aws:states:eu-west-1:123456789012:execution:lcm-session:S1',
    );
    expect(() => executionArnFor('arn:aws:lambda:eu-west-1:1:function:x', 'S1')).toThrow(
      /not a state machine ARN/,
    );
  });
});

describe('stepFunctionsService (the local stack)', () => {
  it('serves the session lifecycle and points the handlers at it', async () => {
    const env: Record<string, string | undefined> = {};
    const ctx = {
      options: { region: 'eu-west-1' },
      outputs: {},
      setEnv: (name: string, value: string | undefined) => {
        env[name] = value;
      },
      log: () => {},
    } as unknown as StackContext;
    const running = await stepFunctionsService().start(ctx);
    try {
      expect(env.WORKFLOW_ENGINE).toBe('stepfunctions');
      expect(env.AWS_ENDPOINT_URL_SFN).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(env.SESSION_STATE_MACHINE_ARN).toBe(
        `arn:aws:states:eu-west-1:000000000000:stateMachine:${LOCAL_SESSION_STATE_MACHINE}`,
      );
      const local = new SFNClient({
        endpoint: env.AWS_ENDPOINT_URL_SFN,
        region: 'eu-west-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      await expect(
        local.send(new DescribeExecutionCommand({ executionArn: `${env.SESSION_STATE_MACHINE_ARN}:nope` })),
      ).rejects.toMatchObject({ name: 'ExecutionDoesNotExist' });
      local.destroy();
    } finally {
      await running?.stop();
    }
  });
});
