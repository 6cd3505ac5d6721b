import { sessionTaskDeps } from '@lcm/shared/app';
import type { LabletSession, LabletSession as Session, SessionStatus } from '@lcm/shared/kernel';
import {
  ensureWorkflowStarted,
  finishSession,
  observeLearnerEvent,
  redriveSession,
  type SessionRedrive,
  sessionTeardownWith,
  sweepStuckSessions,
  terminateSession,
  workflowRepairWith,
} from '@lcm/shared/sessions';
import { describe, expect, it } from 'vitest';
import {
  DEF_UNGRADED,
  eventually,
  newSession,
  REQUIREMENTS,
  sessionSuite,
  waitForPendingWait,
  waitForStatus,
} from './harness.ts';

/**
 * Workflows that recover (issue 12, item 3), with the real session ASL on the local Step
 * Functions engine, the real task handlers on DynamoDB Local and the simulators over HTTP.
 *
 * The fault matrix: for each status a session can sit in (SCHEDULED, INSTANTIATING, READY,
 * RUNNING, COLLECTING, GRADING, STOPPING) its execution is deleted in the local engine (as a
 * restart of the engine loses it: DescribeExecution says it does not exist, its tokens are dead),
 * then one sweep runs. Every session either resumes (a new execution waiting where it was, or
 * carrying on from there) or ends TERMINATED with a reason; afterwards every session is ended and
 * the worker's capacity and port leases are back where they started: 0 leaked.
 *
 * Then terminate, finish and an LDS event on a session whose token is dead: applied (the reply
 * says the workflow was recovered), never accepted-and-ignored.
 */

const suite = sessionSuite();
const { sessionDeps } = suite;
const recoveryDeps = () => ({ sessions: suite.h.stores.sessions, engine: suite.h.engine });
const waitDepsWithRepair = () => ({ ...suite.h.waitDeps, repair: workflowRepairWith(recoveryDeps()) });

async function start(session: LabletSession): Promise<LabletSession> {
  return ensureWorkflowStarted(sessionDeps(), session);
}

/** A session whose timeslot starts in `inSeconds` (the workflow places it and waits). */
async function futureSession(inSeconds: number): Promise<LabletSession> {
  const template = await newSession(suite.h, { seconds: inSeconds + 600 });
  // The builder's timeslot starts now; this one is moved to start later (same store, new id).
  const id = `${template.id}-f`;
  const now = Date.now();
  return suite.h.stores.sessions.create({
    id,
    definitionId: template.definitionId,
    definitionVersion: 1,
    reservationId: `r-${id}`,
    owner: template.owner,
    timeslot: {
      start: new Date(now + inSeconds * 1000).toISOString(),
      end: new Date(now + (inSeconds + 600) * 1000).toISOString(),
    },
    requirements: REQUIREMENTS,
    licenseAffinity: ['ENTERPRISE'],
    portTemplate: template.portTemplate,
  });
}

/** The fault: the execution is gone from the engine (its loop aborted, its tokens dead). */
async function deleteExecution(s: Session): Promise<void> {
  await suite.h.sfn.engine.deleteExecution(s.executionArn!);
  expect(await suite.h.engine.executionStatus(s.executionArn!)).toBe('NOT_FOUND');
}

/** One sweep as the scheduled job runs it (real re-drive, real teardown steps), no grace period. */
function sweep() {
  const redrive: SessionRedrive = (session, execution) =>
    redriveSession(
      recoveryDeps(),
      session.id,
      { executionArn: session.executionArn, execution },
      { by: 'sweep:stuck-sessions', why: 'stuck-session sweep' },
    );
  return sweepStuckSessions({
    sessions: suite.h.stores.sessions,
    workflows: suite.h.engine,
    teardown: sessionTeardownWith(sessionTaskDeps()),
    redrive,
    config: { stuckSessionGraceSeconds: 0 },
  });
}

/** The states the recovery execution entered (its name ends in -r1). */
function statesOf(executionArn: string): string[] {
  return suite.h.sfn.executions().find((e) => e.executionArn === executionArn)?.states ?? [];
}

async function expectReleased(): Promise<void> {
  const worker = await suite.h.stores.workers.get(suite.h.worker.id);
  expect(worker.allocatedCapacity).toEqual(suite.baseline.allocated);
  expect(worker.leasedPortCount).toBe(suite.baseline.leasedPortCount);
  expect(await suite.h.stores.leases.listByWorker(suite.h.worker.id)).toEqual([]);
}

describe('fault matrix: the execution deleted in every status, then one sweep', () => {
  it('resumes SCHEDULED, INSTANTIATING, READY, RUNNING; tears down COLLECTING, GRADING, STOPPING with a reason; 0 capacity or ports leaked', async () => {
    const sat: Record<string, Session> = {};
    /** The fault, right where the session sits. */
    const killAt = async (status: SessionStatus, id: string) => {
      const s = await suite.h.stores.sessions.getSession(id);
      expect(s.status, `${id} sits in ${status}`).toBe(status);
      await deleteExecution(s);
      sat[status] = s;
    };
    const loggedIn = async (definitionId?: string) => {
      const s = await start(await newSession(suite.h, definitionId ? { definitionId } : {}));
      await waitForPendingWait(suite.h, s.id, 'LOGIN');
      await observeLearnerEvent(suite.h.waitDeps, s.id, 'LOGIN', new Date().toISOString());
      await waitForPendingWait(suite.h, s.id, 'END');
      return s;
    };

    // SCHEDULED: placed, waiting for its instantiate time (5 minutes ahead).
    const scheduled = await start(await futureSession(300));
    await eventually('the schedule wait', async () =>
      statesOf(scheduled.executionArn!).includes('WaitForInstantiateTime'),
    );
    await killAt('SCHEDULED', scheduled.id);

    // INSTANTIATING: the CML import held; the execution dies during it (the lab the orphaned
    // import makes must then be found, not imported again).
    suite.h.cml.injectFault({ method: 'POST', path: '^/api/v0/import$', delayMs: 1500, times: 1 });
    const instantiating = await start(await newSession(suite.h));
    await waitForStatus(suite.h, instantiating.id, 'INSTANTIATING');
    await killAt('INSTANTIATING', instantiating.id);

    // READY: waiting for the learner to log in.
    const ready = await start(await newSession(suite.h));
    await waitForPendingWait(suite.h, ready.id, 'LOGIN');
    await killAt('READY', ready.id);

    // RUNNING: logged in, waiting for the end.
    const running = await loggedIn();
    await killAt('RUNNING', running.id);

    // GRADING: the grade never comes back (the result events are dropped).
    suite.h.dropGradingEvents = true;
    const grading = await loggedIn();
    await observeLearnerEvent(suite.h.waitDeps, grading.id, 'END', new Date().toISOString());
    await waitForPendingWait(suite.h, grading.id, 'GRADING');
    await killAt('GRADING', grading.id);

    // COLLECTING: config extraction held; the execution dies during it.
    const collecting = await loggedIn();
    const extract = suite.h.cml.injectFault({
      method: 'PUT',
      path: '/extract_configuration$',
      delayMs: 1500,
      times: 'always',
    });
    await finishSession(sessionDeps(), collecting.id, { by: 'u-learner' });
    await waitForStatus(suite.h, collecting.id, 'COLLECTING');
    await killAt('COLLECTING', collecting.id);

    // STOPPING: nothing to grade; the CML lab's delete held; the execution dies during it.
    const stopping = await loggedIn(DEF_UNGRADED);
    suite.h.cml.injectFault({
      method: 'DELETE',
      path: '^/api/v0/labs/[^/]+$',
      delayMs: 1500,
      times: 'always',
    });
    await finishSession(sessionDeps(), stopping.id, { by: 'u-learner' });
    await waitForStatus(suite.h, stopping.id, 'STOPPING', 30_000);
    await killAt('STOPPING', stopping.id);
    expect(extract).toBeTypeOf('string');

    // The orphaned handlers (import, extraction, delete) finish; the sessions stay where they were.
    await eventually('the orphaned import', async () =>
      suite.h.cml.labs().some((l) => l.title === `lcm-${sat.INSTANTIATING!.id}`),
    );
    suite.h.cml.clearFaults();
    await new Promise((r) => setTimeout(r, 3000));
    for (const [status, s] of Object.entries(sat)) {
      expect((await suite.h.stores.sessions.getSession(s.id)).status, `${status} still where it was`).toBe(
        status,
      );
    }

    const result = await sweep();
    expect(result.errors).toEqual([]);
    const resumed = new Map(result.resumed.map((r) => [r.sessionId, r]));
    const tornDown = new Set(result.tornDown.map((t) => t.sessionId));

    // Resumed where they were, each in a new execution that entered at its resume point.
    const expectResumed = async (status: SessionStatus, at: string, firstState: string) => {
      const r = resumed.get(sat[status]!.id);
      expect(r, `${status} resumed`).toMatchObject({
        status,
        resumedAt: at,
        previousExecutionArn: sat[status]!.executionArn,
        previousExecution: 'NOT_FOUND',
      });
      expect(r!.executionArn).toMatch(new RegExp(`:${sat[status]!.id}-r1$`));
      const entered = await eventually(`${status}'s recovery execution to enter ${firstState}`, async () => {
        const states = statesOf(r!.executionArn);
        return states.length >= 4 ? states.slice(0, 4) : undefined;
      });
      expect(entered).toEqual(['IsRecovery', 'Resume', 'ResumeAt', firstState]);
      return r!;
    };
    const rScheduled = await expectResumed('SCHEDULED', 'START', 'PlaceSession');
    const rInstantiating = await expectResumed('INSTANTIATING', 'INSTANTIATE', 'ImportLab');
    const rReady = await expectResumed('READY', 'LOGIN', 'AwaitLogin');
    const rRunning = await expectResumed('RUNNING', 'END', 'AwaitEnd');
    expect(resumed.size).toBe(4);

    await eventually('SCHEDULED waits again for its time', async () =>
      statesOf(rScheduled.executionArn).includes('WaitForInstantiateTime'),
    );
    expect(statesOf(rScheduled.executionArn).slice(0, 4)).toEqual([
      'IsRecovery',
      'Resume',
      'ResumeAt',
      'PlaceSession',
    ]);
    expect((await suite.h.stores.sessions.getSession(sat.SCHEDULED!.id)).status).toBe('SCHEDULED');

    // INSTANTIATING carries on to READY with one lab and one LDS session (nothing made twice).
    await waitForPendingWait(suite.h, sat.INSTANTIATING!.id, 'LOGIN');
    expect(statesOf(rInstantiating.executionArn).slice(0, 4)).toEqual([
      'IsRecovery',
      'Resume',
      'ResumeAt',
      'ImportLab',
    ]);
    expect(suite.h.cml.labs().filter((l) => l.title === `lcm-${sat.INSTANTIATING!.id}`)).toHaveLength(1);
    expect(suite.h.lds.sessions().filter((l) => l.externalSessionId === sat.INSTANTIATING!.id)).toHaveLength(
      1,
    );

    // READY and RUNNING wait again, with fresh tokens.
    for (const [status, r, kind] of [
      ['READY', rReady, 'LOGIN'],
      ['RUNNING', rRunning, 'END'],
    ] as const) {
      const wait = await waitForPendingWait(suite.h, sat[status]!.id, kind);
      expect(wait.taskToken).not.toBe(sat[status]!.pendingWait?.taskToken);
      expect(
        suite.h.sfn
          .pendingTasks()
          .some((t) => t.taskToken === wait.taskToken && t.executionArn === r.executionArn),
      ).toBe(true);
      const { session, history } = await suite.h.stores.sessions.get(sat[status]!.id);
      expect(session.status).toBe(status);
      expect(session.executionArn).toBe(r.executionArn);
      expect(history.at(-1)).toMatchObject({
        from: status,
        to: status,
        by: 'sweep:stuck-sessions',
        reason: expect.stringMatching(
          /^recovered: stuck-session sweep: the session workflow .* is NOT_FOUND; resumed at/,
        ),
      });
    }

    // The later ones: torn down by the sweep, TERMINATED with a reason.
    for (const status of ['COLLECTING', 'GRADING', 'STOPPING'] as const) {
      expect(tornDown.has(sat[status]!.id), `${status} torn down`).toBe(true);
      const s = await suite.h.stores.sessions.getSession(sat[status]!.id);
      expect(s.status).toBe('TERMINATED');
      expect(s.failureReason, status).toBe('WORKFLOW_ERROR');
    }

    // 100%: every session resumed or TERMINATED with a reason.
    const outcomes = Object.keys(sat).map((status) =>
      resumed.has(sat[status]!.id) ? 'resumed' : tornDown.has(sat[status]!.id) ? 'terminated' : 'lost',
    );
    expect(outcomes.filter((o) => o === 'lost')).toEqual([]);
    console.log(
      `fault matrix: ${outcomes.length} statuses, ${resumed.size} resumed, ${tornDown.size} TERMINATED with a reason, 0 lost`,
    );

    // End the resumed ones through the API; then nothing is held.
    for (const status of ['SCHEDULED', 'INSTANTIATING', 'READY', 'RUNNING'] as const) {
      await terminateSession(sessionDeps(), sat[status]!.id, { by: 'operator', reason: 'fault matrix done' });
    }
    // The SCHEDULED one would see its termination at its next schedule check (minutes away):
    // killed again, the next sweep's recovery (-r2) sees it at once and tears it down.
    const again = await suite.h.stores.sessions.getSession(sat.SCHEDULED!.id);
    expect(again.executionArn).toBe(rScheduled.executionArn);
    await deleteExecution(again);
    const second = await sweep();
    expect(second.resumed.map((r) => [r.sessionId, r.resumedAt, r.executionArn.split(':').at(-1)])).toEqual([
      [again.id, 'START', `${again.id}-r2`],
    ]);
    for (const status of ['SCHEDULED', 'INSTANTIATING', 'READY', 'RUNNING'] as const) {
      const s = await waitForStatus(suite.h, sat[status]!.id, 'TERMINATED', 30_000);
      expect(s.failureReason).toBe('TERMINATED');
    }
    await expectReleased();
    expect(suite.h.cml.labs()).toEqual([]);
  }, 120_000);
});

describe('requests on a session whose token is dead are applied', () => {
  it('terminate: the workflow is re-driven and tears down; the reply says so', async () => {
    const s = await start(await newSession(suite.h));
    await waitForPendingWait(suite.h, s.id, 'LOGIN');
    const before = await suite.h.stores.sessions.getSession(s.id);
    await deleteExecution(before);

    const reply = await terminateSession(sessionDeps(), s.id, { by: 'operator', reason: 'crash test' });
    expect(reply.outcome).toBe('requested');
    expect(reply.recovery).toMatchObject({
      resumedAt: 'LOGIN',
      status: 'READY',
      previousExecution: 'NOT_FOUND',
      reason: expect.stringMatching(/^recovered: terminate: /),
    });
    expect(reply.session.executionArn).toBe(reply.recovery!.executionArn);
    const done = await waitForStatus(suite.h, s.id, 'TERMINATED', 30_000);
    expect(done.failureReason).toBe('TERMINATED');
    await expectReleased();
  }, 60_000);

  it('finish: the END wait is re-driven, resolves at once, and the session is collected and graded', async () => {
    const s = await start(await newSession(suite.h));
    await waitForPendingWait(suite.h, s.id, 'LOGIN');
    await observeLearnerEvent(suite.h.waitDeps, s.id, 'LOGIN', new Date().toISOString());
    await waitForPendingWait(suite.h, s.id, 'END');
    await deleteExecution(await suite.h.stores.sessions.getSession(s.id));

    const reply = await finishSession(sessionDeps(), s.id, { by: 'u-learner' });
    expect(reply.outcome).toBe('requested');
    expect(reply.recovery).toMatchObject({ resumedAt: 'END', status: 'RUNNING' });
    const done = await waitForStatus(suite.h, s.id, 'TERMINATED', 30_000);
    expect(done.failureReason).toBeUndefined();
    expect((await suite.h.stores.sessions.get(s.id)).score?.passed).toBeTypeOf('boolean');
    await expectReleased();
  }, 60_000);

  it('an LDS login event: recovered, the new LOGIN wait resolves at once, the session RUNNING', async () => {
    const s = await start(await newSession(suite.h));
    await waitForPendingWait(suite.h, s.id, 'LOGIN');
    await deleteExecution(await suite.h.stores.sessions.getSession(s.id));

    const result = await observeLearnerEvent(waitDepsWithRepair(), s.id, 'LOGIN', new Date().toISOString());
    expect(result.outcome).toBe('recovered');
    expect(result.recovery).toMatchObject({
      resumedAt: 'LOGIN',
      reason: expect.stringMatching(/LDS login event/),
    });
    await waitForStatus(suite.h, s.id, 'RUNNING');
    await waitForPendingWait(suite.h, s.id, 'END');
    await terminateSession(sessionDeps(), s.id, { by: 'operator' });
    await waitForStatus(suite.h, s.id, 'TERMINATED', 30_000);
    await expectReleased();
  }, 60_000);

  it('a live workflow is left alone: the token is delivered, no recovery', async () => {
    const s = await start(await newSession(suite.h));
    await waitForPendingWait(suite.h, s.id, 'LOGIN');
    const result = await observeLearnerEvent(waitDepsWithRepair(), s.id, 'LOGIN', new Date().toISOString());
    expect(result.outcome).toBe('resolved');
    expect(result.recovery).toBeUndefined();
    const reply = await terminateSession(sessionDeps(), s.id, { by: 'operator' });
    expect(reply.recovery).toBeUndefined();
    await waitForStatus(suite.h, s.id, 'TERMINATED', 30_000);
    expect(suite.h.sfn.executions().filter((e) => e.name.startsWith(`${s.id}-r`))).toEqual([]);
  }, 60_000);
});
