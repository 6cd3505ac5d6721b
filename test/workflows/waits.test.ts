import { randomUUID } from 'node:crypto';
import { createStores, type Stores } from '@lcm/shared/app';
import type { ScoreReport, SessionStatus } from '@lcm/shared/kernel';
import { NotFoundError, SESSION_STATUSES } from '@lcm/shared/kernel';
import { RecordingWorkflowEngine } from '@lcm/shared/platform';
import { observeGradingResult, observeLearnerEvent, registerWait, type WaitDeps } from '@lcm/shared/sessions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestTable, type TestTable } from '../support/table.ts';

/**
 * sessions/waits.ts against DynamoDB Local: the wait registered by the workflow and the facts
 * observed by the event handlers meet on the session item, whichever comes first, exactly once.
 * The engine is the recording one: what matters is which tokens were resolved, and how.
 */

let table: TestTable;
let stores: Stores;
let engine: RecordingWorkflowEngine;
let deps: WaitDeps;

beforeAll(async () => {
  table = await createTestTable('waits');
  stores = createStores({ client: table.client, tableName: table.tableName });
});
afterAll(async () => {
  await table?.cleanup();
});
beforeEach(() => {
  engine = new RecordingWorkflowEngine();
  deps = { sessions: stores.sessions, engine };
});

const HAPPY = SESSION_STATUSES.filter((s) => s !== 'TERMINATED');

/** A session moved along the happy path to `status` (or straight to TERMINATED). */
async function sessionIn(status: SessionStatus): Promise<string> {
  const id = `s-${randomUUID().slice(0, 8)}`;
  await stores.sessions.create({
    id,
    definitionId: 'd-1',
    definitionVersion: 1,
    reservationId: `r-${id}`,
    owner: { userId: 'u-1' },
    timeslot: { start: '2030-01-01T08:00:00.000Z', end: '2030-01-01T10:00:00.000Z' },
    requirements: { cpuCores: 1, memoryGb: 1, storageGb: 1, nodeCount: 1 },
  });
  if (status === 'TERMINATED') {
    await stores.sessions.transition(id, 'PENDING', 'TERMINATED', 'test');
    return id;
  }
  for (let i = 1; i <= HAPPY.indexOf(status); i++) {
    await stores.sessions.transition(id, HAPPY[i - 1]!, HAPPY[i]!, 'test');
  }
  return id;
}

const token = () => `tok-${randomUUID()}`;
const T1 = '2030-01-01T08:05:00.000Z';
const T2 = '2030-01-01T08:06:00.000Z';
const score: ScoreReport = {
  score: 7,
  maxScore: 10,
  passed: true,
  sections: [{ name: 'ospf', score: 7, maxScore: 10, checks: [] }],
  reportedAt: T1,
};

describe('registerWait + observeLearnerEvent', () => {
  it('wait first: the token is stored, the login event resolves it once and clears it', async () => {
    const id = await sessionIn('READY');
    const t = token();
    const registered = await registerWait(deps, id, 'LOGIN', t);
    expect(registered.outcome).toBe('waiting');
    expect(registered.session.pendingWait).toMatchObject({ kind: 'LOGIN', taskToken: t });
    expect(engine.calls).toEqual([]);

    const first = await observeLearnerEvent(deps, id, 'LOGIN', T1);
    expect(first.outcome).toBe('resolved');
    expect(first.session.pendingWait).toBeUndefined();
    expect(first.session.loginObservedAt).toBe(T1);
    expect(engine.callsOf('sendTaskSuccess')).toEqual([
      expect.objectContaining({ taskToken: t, output: { kind: 'LOGIN', at: T1 } }),
    ]);

    // Repeat delivery (and a later, different time): no new effect, the first time wins.
    const again = await observeLearnerEvent(deps, id, 'LOGIN', T2);
    expect(again.outcome).toBe('duplicate');
    expect(again.session.loginObservedAt).toBe(T1);
    expect(engine.calls).toHaveLength(1);
  });

  it('event first: recorded, then registering the wait resolves it at once', async () => {
    const id = await sessionIn('READY');
    expect((await observeLearnerEvent(deps, id, 'LOGIN', T1)).outcome).toBe('recorded');
    expect(engine.calls).toEqual([]);
    const t = token();
    const r = await registerWait(deps, id, 'LOGIN', t);
    expect(r.outcome).toBe('resolved');
    expect(r.session.pendingWait).toBeUndefined();
    expect(engine.callsOf('sendTaskSuccess')).toEqual([
      expect.objectContaining({ taskToken: t, output: { kind: 'LOGIN', at: T1 } }),
    ]);
  });

  it('END is resolved by an ended event, or at registration by a finish already requested', async () => {
    const a = await sessionIn('RUNNING');
    const ta = token();
    await registerWait(deps, a, 'END', ta);
    expect((await observeLearnerEvent(deps, a, 'END', T1)).outcome).toBe('resolved');
    expect(engine.callsOf('sendTaskSuccess')[0]).toMatchObject({
      taskToken: ta,
      output: { kind: 'END', ended: 'ENDED', at: T1 },
    });

    const b = await sessionIn('RUNNING');
    const sb = await stores.sessions.getSession(b);
    await stores.sessions.update(b, { finishRequestedAt: T2 }, sb.version);
    const tb = token();
    expect((await registerWait(deps, b, 'END', tb)).outcome).toBe('resolved');
    expect(engine.callsOf('sendTaskSuccess')[1]).toMatchObject({
      taskToken: tb,
      output: { kind: 'END', ended: 'FINISHED', at: T2 },
    });
  });

  it('a LOGIN event does not resolve an END wait, nor END a LOGIN wait; PAUSED is recorded only', async () => {
    const id = await sessionIn('READY');
    const t = token();
    await registerWait(deps, id, 'LOGIN', t);
    expect((await observeLearnerEvent(deps, id, 'END', T1)).outcome).toBe('recorded');
    const paused = await observeLearnerEvent(deps, id, 'PAUSED', T2);
    expect(paused.outcome).toBe('recorded');
    expect(paused.session.pausedAt).toBe(T2);
    expect(paused.session.pendingWait?.taskToken).toBe(t);
    expect(engine.calls).toEqual([]);
  });

  it('termination requested: the wait is failed with Terminated at registration', async () => {
    const id = await sessionIn('RUNNING');
    const s = await stores.sessions.getSession(id);
    await stores.sessions.update(id, { terminationRequestedAt: T1, terminationReason: 'ops' }, s.version);
    const t = token();
    const r = await registerWait(deps, id, 'END', t);
    expect(r.outcome).toBe('failed');
    expect(engine.callsOf('sendTaskFailure')).toEqual([
      expect.objectContaining({ taskToken: t, error: 'Terminated', cause: 'ops' }),
    ]);
    expect(r.session.pendingWait).toBeUndefined();
    // Events for it are now stale.
    expect((await observeLearnerEvent(deps, id, 'END', T2)).outcome).toBe('stale');
  });

  it('events whose moment has passed are stale; an unknown session is NotFound', async () => {
    const terminated = await sessionIn('TERMINATED');
    expect((await observeLearnerEvent(deps, terminated, 'LOGIN', T1)).outcome).toBe('stale');
    const collecting = await sessionIn('COLLECTING');
    const r = await observeLearnerEvent(deps, collecting, 'END', T1);
    expect(r.outcome).toBe('stale');
    expect(r.session.endObservedAt).toBeUndefined();
    await expect(observeLearnerEvent(deps, 'no-such-session', 'LOGIN', T1)).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(observeGradingResult(deps, 'no-such-session', { failed: 'x' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    expect(engine.calls).toEqual([]);
  });

  it('registration and observation racing: the token is resolved in every interleaving', async () => {
    const runs = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const id = await sessionIn('READY');
        const t = token();
        const [registered, observed] = await Promise.all([
          registerWait(deps, id, 'LOGIN', t),
          observeLearnerEvent(deps, id, 'LOGIN', T1),
        ]);
        return { id, t, registered: registered.outcome, observed: observed.outcome };
      }),
    );
    for (const run of runs) {
      const resolutions = engine.callsOf('sendTaskSuccess').filter((c) => c.taskToken === run.t);
      expect(resolutions.length, JSON.stringify(run)).toBeGreaterThanOrEqual(1);
      expect((await stores.sessions.getSession(run.id)).pendingWait).toBeUndefined();
    }
  });
});

describe('observeGradingResult', () => {
  it('completed: GradingSession COMPLETED with the ScoreReport, the GRADING wait resolved with the score', async () => {
    const id = await sessionIn('GRADING');
    await stores.sessions.putGrading(id, { gradingSessionId: 'g-1', status: 'SUBMITTED', submittedAt: T1 });
    const t = token();
    expect((await registerWait(deps, id, 'GRADING', t)).outcome).toBe('waiting');
    const r = await observeGradingResult(deps, id, { completed: score, gradingSessionId: 'g-1' });
    expect(r.outcome).toBe('resolved');
    const aggregate = await stores.sessions.get(id);
    expect(aggregate.grading).toMatchObject({ gradingSessionId: 'g-1', status: 'COMPLETED' });
    expect(aggregate.score).toEqual(score);
    expect(aggregate.session.pendingWait).toBeUndefined();
    expect(engine.callsOf('sendTaskSuccess')).toEqual([
      expect.objectContaining({
        taskToken: t,
        output: { kind: 'GRADING', status: 'COMPLETED', score: 7, maxScore: 10, passed: true },
      }),
    ]);
    // A second delivery, or a failure arriving late, changes nothing.
    expect((await observeGradingResult(deps, id, { failed: 'late', gradingSessionId: 'g-1' })).outcome).toBe(
      'duplicate',
    );
    expect((await stores.sessions.get(id)).grading?.status).toBe('COMPLETED');
    expect(engine.calls).toHaveLength(1);
  });

  it('failed before the wait: FAULTED, and registering the wait fails it with GradingFailed', async () => {
    const id = await sessionIn('GRADING');
    expect((await observeGradingResult(deps, id, { failed: 'rules crashed' })).outcome).toBe('recorded');
    expect((await stores.sessions.get(id)).grading).toMatchObject({
      status: 'FAULTED',
      error: 'rules crashed',
    });
    const t = token();
    expect((await registerWait(deps, id, 'GRADING', t)).outcome).toBe('failed');
    expect(engine.callsOf('sendTaskFailure')).toEqual([
      expect.objectContaining({ taskToken: t, error: 'GradingFailed', cause: 'rules crashed' }),
    ]);
  });

  it('a result for another grading session, or after the session moved on, is stale', async () => {
    const id = await sessionIn('GRADING');
    await stores.sessions.putGrading(id, { gradingSessionId: 'g-2', status: 'SUBMITTED' });
    expect(
      (await observeGradingResult(deps, id, { completed: score, gradingSessionId: 'g-old' })).outcome,
    ).toBe('stale');
    const stopping = await sessionIn('STOPPING');
    expect((await observeGradingResult(deps, stopping, { completed: score })).outcome).toBe('stale');
    expect((await stores.sessions.get(stopping)).score).toBeUndefined();
    expect(engine.calls).toEqual([]);
  });

  it('registration and result racing: the GRADING token is resolved in every interleaving', async () => {
    const runs = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const id = await sessionIn('GRADING');
        const t = token();
        await Promise.all([
          registerWait(deps, id, 'GRADING', t),
          observeGradingResult(deps, id, { completed: score }),
        ]);
        return { id, t };
      }),
    );
    for (const run of runs) {
      expect(engine.callsOf('sendTaskSuccess').some((c) => c.taskToken === run.t)).toBe(true);
      expect((await stores.sessions.getSession(run.id)).pendingWait).toBeUndefined();
    }
  });
});
