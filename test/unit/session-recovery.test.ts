import { SESSION_STATUSES, type SessionStatus } from '@lcm/shared/kernel';
import type { ExecutionStatus } from '@lcm/shared/platform';
import {
  isDeadExecution,
  RESUMABLE_SESSION_STATUSES,
  type ResumePoint,
  recoveryExecutionName,
  resumePlanOf,
} from '@lcm/shared/sessions';
import { describe, expect, it } from 'vitest';

/**
 * Where a session whose workflow is dead re-enters it (sessions/rules/resume.ts), for every
 * status, written out here as the oracle; the recovery execution's names; which execution
 * statuses are dead.
 */

const RESUME: Record<SessionStatus, ResumePoint | undefined> = {
  PENDING: 'START',
  SCHEDULED: 'START',
  INSTANTIATING: 'INSTANTIATE',
  READY: 'LOGIN',
  RUNNING: 'END',
  COLLECTING: 'TEARDOWN',
  GRADING: 'TEARDOWN', // the grade is not in: nothing to wait for that a new token would get
  STOPPING: 'TEARDOWN',
  STOPPED: 'TEARDOWN',
  ARCHIVED: 'TEARDOWN',
  TERMINATED: undefined,
};

const now = new Date('2026-12-07T10:00:00.000Z');
const timeslot = { start: '2026-12-07T09:30:00.000Z', end: '2026-12-07T10:45:00.400Z' };

describe('resumePlanOf', () => {
  it('names the resume point of every status', () => {
    for (const status of SESSION_STATUSES) {
      expect(resumePlanOf({ status, timeslot }, now)?.at, status).toBe(RESUME[status]);
    }
    expect([...RESUMABLE_SESSION_STATUSES].sort()).toEqual(
      ['PENDING', 'SCHEDULED', 'INSTANTIATING', 'READY', 'RUNNING'].sort(),
    );
  });

  it('gives a resumed LOGIN/END wait the seconds left to the timeslot end (at least 1)', () => {
    expect(resumePlanOf({ status: 'READY', timeslot }, now)).toEqual({ at: 'LOGIN', timeoutSeconds: 2701 });
    expect(resumePlanOf({ status: 'RUNNING', timeslot }, now)).toEqual({ at: 'END', timeoutSeconds: 2701 });
    const past = { start: '2026-12-07T08:00:00.000Z', end: '2026-12-07T09:00:00.000Z' };
    expect(resumePlanOf({ status: 'RUNNING', timeslot: past }, now)).toEqual({
      at: 'END',
      timeoutSeconds: 1,
    });
  });

  it('resumes a GRADING wait when the grade is already in, with the grading bound', () => {
    expect(
      resumePlanOf({ status: 'GRADING', timeslot }, now, { gradingFinal: true, gradingTimeoutSeconds: 90 }),
    ).toEqual({
      at: 'GRADING',
      timeoutSeconds: 90,
    });
    expect(resumePlanOf({ status: 'COLLECTING', timeslot }, now, { gradingFinal: true })?.at).toBe(
      'TEARDOWN',
    );
  });
});

describe('recoveryExecutionName', () => {
  const arn = (name: string) =>
    `arn:aws:states:us-east-1:000000000000:execution:lcm-session-lifecycle:${name}`;
  it('counts recoveries from the dead execution: the booking’s → r1, r1 → r2, r9 → r10', () => {
    expect(recoveryExecutionName('01JSESSION', arn('01JSESSION'))).toBe('01JSESSION-r1');
    expect(recoveryExecutionName('01JSESSION', arn('01JSESSION-r1'))).toBe('01JSESSION-r2');
    expect(recoveryExecutionName('01JSESSION', arn('01JSESSION-r9'))).toBe('01JSESSION-r10');
  });

  it('stays a valid Step Functions name (≤ 80 of [A-Za-z0-9_-]) for any session id', () => {
    const name = recoveryExecutionName(`s:${'x'.repeat(120)}`, arn('whatever'));
    expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    expect(name.endsWith('-r1')).toBe(true);
  });
});

describe('isDeadExecution', () => {
  it('is true for every ended or missing execution, false while running or unknown', () => {
    const dead: ExecutionStatus[] = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'NOT_FOUND'];
    const alive: ExecutionStatus[] = ['RUNNING', 'PENDING_REDRIVE', 'UNKNOWN'];
    for (const s of dead) expect(isDeadExecution(s), s).toBe(true);
    for (const s of alive) expect(isDeadExecution(s), s).toBe(false);
  });
});
