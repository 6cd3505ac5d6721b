import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { SESSION_LIFECYCLE_ASL, SESSION_TASKS } from '../../functions/catalogue.ts';

/**
 * The session-lifecycle ASL as a document: valid ASL (asl-validator and aws-local-stepfunctions),
 * JSONPath only, every `${Name}` substitution a task of the exported table (and every task used),
 * every working state retried and caught into the teardown, the teardown reaching TERMINATED.
 */

/** asl-validator ships no types; this is the part used. */
const aslValidator = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: (separator?: string) => string;
};

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const text = readFileSync(join(ROOT, SESSION_LIFECYCLE_ASL), 'utf8');
const asl = JSON.parse(text) as {
  QueryLanguage?: string;
  StartAt: string;
  States: Record<string, Record<string, unknown>>;
};
type TaskState = {
  Type: 'Task';
  Resource: string;
  Parameters: { FunctionName: string; Payload: Record<string, unknown> };
  Retry?: Array<{ ErrorEquals: string[] }>;
  Catch?: Array<{ ErrorEquals: string[]; Next: string; ResultPath?: string }>;
  TimeoutSecondsPath?: string;
  Next?: string;
};
const tasks = Object.entries(asl.States).filter(([, s]) => s.Type === 'Task') as [string, TaskState][];
const substitutions = [...text.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]!);
const TEARDOWN = ['BeginTeardown', 'DeleteLab', 'ReleaseCapacity', 'ArchiveLdsSession', 'CompleteTeardown'];

describe('statemachines/session-lifecycle.asl.json', () => {
  it('is valid ASL for asl-validator and for aws-local-stepfunctions, in the JSONPath query language', () => {
    const { isValid, errorsText } = aslValidator(asl);
    expect(isValid, errorsText('\n')).toBe(true);
    expect(asl.QueryLanguage).toBe('JSONPath');
    expect(text).not.toMatch(/\{%|JSONata|"Arguments"|"Output"\s*:/);
    expect(() => new StateMachine(asl as never)).not.toThrow();
  });

  it('uses only substitutions of the exported task table, and every task of the table', () => {
    const table = new Set(SESSION_TASKS.map((t) => t.substitution));
    expect(substitutions.length).toBeGreaterThan(0);
    for (const s of substitutions) expect(table, `\${${s}} is not in SESSION_TASKS`).toContain(s);
    expect([...new Set(substitutions)].sort()).toEqual([...table].sort());
    expect(new Set(SESSION_TASKS.map((t) => t.name)).size).toBe(SESSION_TASKS.length);
  });

  it('names handler modules that exist and export a handler', async () => {
    for (const t of SESSION_TASKS) {
      expect(existsSync(join(ROOT, t.entry)), t.entry).toBe(true);
      const mod = (await import(join(ROOT, t.entry))) as { handler?: unknown };
      expect(typeof mod.handler, t.entry).toBe('function');
    }
  });

  it('invokes every task as a Lambda task with its ARN substitution; the three waits pass $$.Task.Token', () => {
    const waits = tasks.filter(([, s]) => s.Resource.endsWith('.waitForTaskToken')).map(([n]) => n);
    expect(waits.sort()).toEqual(['AwaitEnd', 'AwaitGrading', 'AwaitLogin']);
    for (const [name, s] of tasks) {
      expect(s.Resource, name).toMatch(/^arn:aws:states:::lambda:invoke(\.waitForTaskToken)?$/);
      expect(s.Parameters.FunctionName, name).toMatch(/^\$\{[A-Za-z]+FunctionArn\}$/);
      expect(s.Parameters.Payload['sessionId.$'], name).toBe('$.sessionId');
      if (waits.includes(name)) {
        expect(s.Parameters.Payload['taskToken.$']).toBe('$$.Task.Token');
        expect(s.TimeoutSecondsPath, name).toMatch(/^\$\./);
        // A timed-out wait is a path of its own, not a failure.
        expect(s.Catch?.[0]?.ErrorEquals).toEqual(['States.Timeout']);
      }
    }
  });

  it('retries every task and routes every working state into the teardown with the error', () => {
    for (const [name, s] of tasks) {
      expect(s.Retry?.length, `${name} has no Retry`).toBeGreaterThan(0);
      const catchAll = s.Catch?.find((c) => c.ErrorEquals.includes('States.ALL'));
      expect(catchAll, `${name} has no catch-all`).toBeDefined();
      if (!TEARDOWN.includes(name)) {
        if (name === 'ObserveLab') {
          // Best effort (issue 12, item 5): a termination tears down, any other failure goes on to grading.
          expect(s.Catch).toEqual([
            { ErrorEquals: ['Terminated'], ResultPath: '$.error', Next: 'BeginTeardown' },
            { ErrorEquals: ['States.ALL'], ResultPath: '$.observationError', Next: 'HasGrading' },
          ]);
        } else {
          expect(catchAll).toMatchObject({ Next: 'BeginTeardown', ResultPath: '$.error' });
        }
        const lambdaRetry = s.Retry!.find((r) => r.ErrorEquals.includes('Lambda.ServiceException'));
        expect(lambdaRetry, name).toBeDefined();
        expect(
          s.Retry!.some((r) => r.ErrorEquals.includes('Transient')),
          name,
        ).toBe(true);
      } else {
        expect(s.Retry![0]!.ErrorEquals).toEqual(['States.ALL']);
        expect(catchAll?.ResultPath).toBe('$.teardownError');
      }
    }
  });

  it('reaches CompleteTeardown from every state, and TERMINATED ends in Done or TeardownIncomplete', () => {
    const next = (s: Record<string, unknown>): string[] => [
      ...(typeof s.Next === 'string' ? [s.Next] : []),
      ...((s.Choices as Array<{ Next: string }> | undefined) ?? []).map((c) => c.Next),
      ...(typeof s.Default === 'string' ? [s.Default] : []),
      ...((s.Catch as Array<{ Next: string }> | undefined) ?? []).map((c) => c.Next),
    ];
    for (const targets of Object.values(asl.States).map(next)) {
      for (const t of targets) expect(asl.States, t).toHaveProperty(t);
    }
    const reaches = (from: string, goal: string, seen = new Set<string>()): boolean => {
      if (from === goal) return true;
      if (seen.has(from)) return false;
      seen.add(from);
      return next(asl.States[from]!).some((n) => reaches(n, goal, seen));
    };
    for (const name of Object.keys(asl.States)) {
      if (['Done', 'TeardownIncomplete'].includes(name)) continue;
      expect(reaches(name, 'CompleteTeardown') || reaches(name, 'TeardownIncomplete'), name).toBe(true);
    }
    expect(reaches(asl.StartAt, 'Done')).toBe(true);
    expect(asl.States.Done?.Type).toBe('Succeed');
    expect(asl.States.TeardownIncomplete?.Type).toBe('Fail');
    // The happy path visits the statuses in order.
    expect(next(asl.States.CollectEvidence!)).toContain('ObserveLab');
    expect(asl.States.NoShow).toMatchObject({ Result: { reason: 'NO_SHOW' }, Next: 'BeginTeardown' });
    expect(asl.States.GradingTimedOut).toMatchObject({ Result: { reason: 'GRADING_TIMEOUT' } });
  });

  it('waits with TimestampPath/SecondsPath computed by the tasks', () => {
    expect(asl.States.WaitForInstantiateTime).toMatchObject({
      Type: 'Wait',
      TimestampPath: '$.schedule.wakeAt',
    });
    expect(asl.States.WaitBeforePlacementRetry).toMatchObject({
      Type: 'Wait',
      SecondsPath: '$.placement.retryAfterSeconds',
    });
  });
});
