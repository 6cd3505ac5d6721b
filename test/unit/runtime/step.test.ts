import { Logger } from '@aws-lambda-powertools/logger';
import { FLEET_JOB, FLEET_TASK, SESSION_TASK } from '@lcm/shared/app';
import { VersionConflictError } from '@lcm/shared/kernel';
import { ComputeError, stepHandler } from '@lcm/shared/platform';
import { terminatedError } from '@lcm/shared/sessions';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';

/** Log lines the wrapper wrote (Powertools writes JSON lines to stdout/stderr). */
let written: string[] = [];
let spies: MockInstance[] = [];
beforeEach(() => {
  written = [];
  const capture = (chunk: unknown) => {
    written.push(String(chunk));
    return true;
  };
  spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation(capture),
    vi.spyOn(process.stderr, 'write').mockImplementation(capture),
  ];
});
afterEach(() => {
  for (const s of spies) s.mockRestore();
});
const logLines = () =>
  written
    .flatMap((chunk) => chunk.split('\n'))
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** Logs at INFO whatever POWERTOOLS_LOG_LEVEL says (vitest.config.ts keeps the unit project SILENT). */
const log = new Logger({ serviceName: 'lcm-test', logLevel: 'INFO' });

const context = { functionName: 'lcm-test-task', awsRequestId: 'req-1' } as unknown as Context;

const caught = async (p: Promise<unknown>): Promise<Error> => {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the handler to throw');
};

describe('stepHandler: session tasks', () => {
  it('runs the step with its deps and logs one line with the task, session id and duration', async () => {
    const handler = stepHandler(
      SESSION_TASK,
      'PlaceSession',
      async (deps: { n: number }, input: { sessionId: string }) => ({ placed: input.sessionId, n: deps.n }),
      () => ({ n: 7 }),
      log,
    );
    expect(await handler({ sessionId: 's-1' }, context)).toEqual({ placed: 's-1', n: 7 });
    const [line] = logLines();
    expect(line).toMatchObject({
      level: 'INFO',
      message: 'task completed',
      task: 'PlaceSession',
      sessionId: 's-1',
      function_name: 'lcm-test-task',
      function_request_id: 'req-1',
      durationMs: expect.any(Number),
    });
  });

  it('maps errors to the workflow’s names: a version conflict is Transient, logged as an error', async () => {
    const handler = stepHandler(
      SESSION_TASK,
      'MarkRunning',
      async () => {
        throw new VersionConflictError('LabletSession', 's-2');
      },
      () => ({}),
      log,
    );
    const error = await caught(handler({ sessionId: 's-2' }, context));
    expect(error.name).toBe('Transient');
    expect(logLines()[0]).toMatchObject({
      level: 'ERROR',
      message: 'task failed',
      task: 'MarkRunning',
      sessionId: 's-2',
      errorName: 'Transient',
    });
  });

  it('an outcome the workflow expects (Terminated) is logged at info, not as an error', async () => {
    const handler = stepHandler(
      SESSION_TASK,
      'CheckSchedule',
      async () => {
        throw terminatedError('s-3', 'by the portal');
      },
      () => ({}),
      log,
    );
    expect((await caught(handler({ sessionId: 's-3' }))).name).toBe('Terminated');
    expect(logLines()[0]).toMatchObject({
      level: 'INFO',
      message: 'task ended the workflow path',
      errorName: 'Terminated',
    });
  });

  it('a bad environment is a failed task (the deps are resolved inside the invocation)', async () => {
    const handler = stepHandler(
      SESSION_TASK,
      'PlaceSession',
      async () => 'never',
      () => {
        throw new Error('Invalid environment (session-task): TABLE_NAME is not set');
      },
      log,
    );
    expect((await caught(handler({ sessionId: 's-4' }))).message).toMatch(/TABLE_NAME is not set/);
    expect(logLines()[0]).toMatchObject({ level: 'ERROR', message: 'task failed', sessionId: 's-4' });
  });
});

describe('stepHandler: fleet tasks and schedules', () => {
  it('maps compute errors to the fleet workflows’ names; capacity is expected (warn, retried)', async () => {
    const handler = stepHandler(
      FLEET_TASK,
      'LaunchInstance',
      async () => {
        throw new ComputeError('INSUFFICIENT_CAPACITY', 'no m5.2xlarge in us-east-1a');
      },
      () => ({}),
      log,
    );
    const error = await caught(handler({ workerId: 'w-1' }, context));
    expect(error.name).toBe('Fleet.InsufficientCapacity');
    expect(logLines()[0]).toMatchObject({
      level: 'WARN',
      message: 'task failed (retried by the workflow)',
      task: 'LaunchInstance',
      workerId: 'w-1',
      errorName: 'Fleet.InsufficientCapacity',
    });
  });

  it('an unexpected fleet error is logged as an error under its fleet name', async () => {
    const handler = stepHandler(
      FLEET_TASK,
      'CheckInstance',
      async () => {
        throw new ComputeError('INSTANCE_NOT_FOUND', 'i-123 is gone');
      },
      () => ({}),
      log,
    );
    expect((await caught(handler({ workerId: 'w-2' }))).name).toBe('Fleet.InstanceLost');
    expect(logLines()[0]).toMatchObject({
      level: 'ERROR',
      message: 'task failed',
      errorName: 'Fleet.InstanceLost',
    });
  });

  it('keys do not leak into the next invocation', async () => {
    const ok = stepHandler(
      FLEET_TASK,
      'MarkWorkerRunning',
      async () => 'ok',
      () => ({}),
      log,
    );
    await ok({ workerId: 'w-3' });
    log.info('after');
    const after = logLines().find((l) => l.message === 'after');
    expect(after).toBeDefined();
    expect(after).not.toHaveProperty('task');
    expect(after).not.toHaveProperty('workerId');
  });

  it('a schedule logs its result under its job name and rethrows failures as they are', async () => {
    const job = stepHandler(
      FLEET_JOB,
      'scale-up',
      async () => ({ actions: 2 }),
      () => ({}),
      log,
    );
    expect(await job(undefined, context)).toEqual({ actions: 2 });
    expect(logLines()[0]).toMatchObject({
      message: 'job completed',
      job: 'scale-up',
      result: { actions: 2 },
    });

    written = [];
    const boom = new Error('table gone');
    const failing = stepHandler(
      FLEET_JOB,
      'scale-down',
      async () => {
        throw boom;
      },
      () => ({}),
      log,
    );
    expect(await caught(failing(undefined))).toBe(boom);
    expect(logLines()[0]).toMatchObject({ level: 'ERROR', message: 'job failed', job: 'scale-down' });
  });
});
