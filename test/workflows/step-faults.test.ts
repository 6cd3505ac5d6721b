import { lifecycleDepsFromEnv } from '@lcm/shared/app';
import type { SessionStatus } from '@lcm/shared/kernel';
import { SESSION_TRANSITIONS } from '@lcm/shared/kernel';
import { archiveLdsStep, reasonForError, terminateSession } from '@lcm/shared/sessions';
import { describe, expect, it } from 'vitest';
import { newSession, sessionSuite, waitForPendingWait, waitForStatus } from './harness.ts';

/**
 * The smaller workflow faults of issue 12 (item 6), each through the session-lifecycle ASL run
 * locally with the real task handlers on DynamoDB Local and the CML, LDS and Grading simulators
 * over HTTP, the fault injected on the simulator: a failed grading submit, a CML start failure,
 * and an LDS create whose answer is lost.
 */

const suite = sessionSuite();
const { sessionDeps, start, finished } = suite;

const retriesOf = (execution: { events: Array<{ type: string; state?: string }> }, state: string) =>
  execution.events.filter((e) => e.type === 'StateRetried' && e.state === state).length;

/** TERMINATED with the reason through valid transitions, and everything it held given back. */
async function expectTornDown(id: string, reason: string, path: SessionStatus[]) {
  const aggregate = await suite.h.stores.sessions.get(id);
  const { session, history } = aggregate;
  expect(session.status).toBe('TERMINATED');
  expect(session.failureReason).toBe(reason);
  expect(['PENDING', ...history.map((e) => e.to)]).toEqual(path);
  for (const e of history) expect(SESSION_TRANSITIONS[e.from]).toContain(e.to);
  expect(history.at(-1)?.reason).toMatch(new RegExp(`^${reason}`));
  const worker = await suite.h.stores.workers.get(suite.h.worker.id);
  expect(worker.allocatedCapacity).toEqual(suite.baseline.allocated);
  expect(worker.leasedPortCount).toBe(suite.baseline.leasedPortCount);
  expect(suite.h.cml.labs()).toEqual([]);
  for (const s of suite.h.lds.sessions().filter((x) => x.externalSessionId === id))
    expect(s.state).toBe('ARCHIVED');
  return aggregate;
}

const GRADED_PATH: SessionStatus[] = [
  'PENDING',
  'SCHEDULED',
  'INSTANTIATING',
  'READY',
  'RUNNING',
  'COLLECTING',
  'GRADING',
  'STOPPING',
  'STOPPED',
  'ARCHIVED',
  'TERMINATED',
];

async function ldsSessionOf(id: string): Promise<string> {
  const user = (await suite.h.stores.sessions.get(id)).userSession;
  expect(user).toBeDefined();
  return user!.ldsSessionId;
}

describe('a failed grading submit (item 6a)', () => {
  it('retried, then GRADING_UNAVAILABLE, and the GradingSession FAULTED with the cause (not PENDING)', async () => {
    suite.h.grading.injectFault({
      method: 'POST',
      path: '^/api/v1/grading-sessions$',
      status: 503,
      times: 'always',
    });
    const session = await start();
    await waitForPendingWait(suite.h, session.id, 'LOGIN');
    await suite.h.lds.login(await ldsSessionOf(session.id));
    await waitForPendingWait(suite.h, session.id, 'END');
    await suite.h.lds.userFinish(await ldsSessionOf(session.id));

    const execution = await finished(session.executionArn!);
    expect(retriesOf(execution, 'SubmitGrading')).toBe(3);
    expect(execution.states).not.toContain('AwaitGrading');
    const aggregate = await expectTornDown(session.id, 'GRADING_UNAVAILABLE', GRADED_PATH);
    expect(aggregate.grading).toMatchObject({
      status: 'FAULTED',
      error: expect.stringMatching(/^GRADING_UNAVAILABLE: GradingUnavailable: Grading Engine: .*503/),
      completedAt: expect.any(String),
    });
    expect(aggregate.grading?.gradingSessionId).toBeUndefined();
    expect(aggregate.score).toBeUndefined();
    expect(suite.h.grading.gradingSessions().some((g) => g.externalSessionId === session.id)).toBe(false);
  });

  it('terminated while the grading is submitted: FAULTED with TERMINATED, never left SUBMITTED', async () => {
    suite.h.dropGradingEvents = true;
    const session = await start();
    await waitForPendingWait(suite.h, session.id, 'LOGIN');
    await suite.h.lds.login(await ldsSessionOf(session.id));
    await waitForPendingWait(suite.h, session.id, 'END');
    await suite.h.lds.end(await ldsSessionOf(session.id));
    await waitForPendingWait(suite.h, session.id, 'GRADING');
    expect((await suite.h.stores.sessions.get(session.id)).grading?.status).toBe('SUBMITTED');
    await terminateSession(sessionDeps(), session.id, { by: 'op-1', reason: 'room closed' });
    await finished(session.executionArn!);
    const aggregate = await expectTornDown(session.id, 'TERMINATED', GRADED_PATH);
    expect(aggregate.grading).toMatchObject({
      status: 'FAULTED',
      error: 'TERMINATED: room closed',
      gradingSessionId: expect.any(String),
    });
  });
});

describe('a CML start failure (item 6b)', () => {
  it('5xx on start: retried, the imported lab found again (no second import), then CML_START_FAILED', async () => {
    suite.h.cml.injectFault({
      method: 'PUT',
      path: '^/api/v0/labs/[^/]+/start$',
      status: 500,
      times: 'always',
    });
    const imports = () =>
      suite.h.cml.requests().filter((r) => r.method === 'POST' && r.path === '/api/v0/import');
    const before = imports().length;
    const session = await start();
    const execution = await finished(session.executionArn!);
    expect(retriesOf(execution, 'ImportLab')).toBe(2);
    expect(imports().length - before).toBe(1);
    const { history, session: s } = await expectTornDown(session.id, 'CML_START_FAILED', [
      'PENDING',
      'SCHEDULED',
      'INSTANTIATING',
      'TERMINATED',
    ]);
    expect(s.cmlLabId).toBeDefined(); // imported, never started, deleted by the teardown
    expect(history.at(-1)?.reason).toMatch(/^CML_START_FAILED: CmlStartFailed: CML start: .*HTTP 500/);
  });

  it('4xx on start: not retried, CML_START_FAILED (CmlStartRejected); an import failure stays CML_IMPORT_FAILED', async () => {
    suite.h.cml.injectFault({
      method: 'PUT',
      path: '^/api/v0/labs/[^/]+/start$',
      status: 400,
      times: 'always',
    });
    const session = await start();
    const execution = await finished(session.executionArn!);
    expect(retriesOf(execution, 'ImportLab')).toBe(0);
    const { history } = await expectTornDown(session.id, 'CML_START_FAILED', [
      'PENDING',
      'SCHEDULED',
      'INSTANTIATING',
      'TERMINATED',
    ]);
    expect(history.at(-1)?.reason).toMatch(/^CML_START_FAILED: CmlStartRejected: CML start: /);
    expect(reasonForError('CmlStartFailed')).toBe('CML_START_FAILED');
    expect(reasonForError('CmlStartRejected')).toBe('CML_START_FAILED');
    expect(reasonForError('CmlImportFailed')).toBe('CML_IMPORT_FAILED');
    expect(reasonForError('CmlImportRejected')).toBe('CML_IMPORT_FAILED');
  });
});

describe('LDS sessions are created idempotently (item 6d)', () => {
  const creates = () =>
    suite.h.lds.requests().filter((r) => r.method === 'POST' && r.path === '/api/v1/sessions').length;
  const lookups = () =>
    suite.h.lds.requests().filter((r) => r.method === 'GET' && r.path === '/api/v1/sessions').length;

  it('LDS creates the session but its answer is lost, every time: the retry finds it by LCM’s id and adopts it', async () => {
    suite.h.lds.injectFault({
      method: 'POST',
      path: '^/api/v1/sessions$',
      status: 503,
      after: true,
      times: 'always',
    });
    const createsBefore = creates();
    const session = await start();
    await waitForStatus(suite.h, session.id, 'READY');
    const mine = suite.h.lds.sessions().filter((s) => s.externalSessionId === session.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.devices.length).toBeGreaterThan(0);
    const { userSession } = await suite.h.stores.sessions.get(session.id);
    expect(userSession).toMatchObject({ ldsSessionId: mine[0]!.id, loginUrl: mine[0]!.loginUrl });
    // Every create answered 503, yet it was created once; no create after the first attempt.
    const createsMade = creates() - createsBefore;
    expect(createsMade).toBeGreaterThanOrEqual(1);

    await terminateSession(sessionDeps(), session.id, { by: 'op-1' });
    const execution = await finished(session.executionArn!);
    expect(retriesOf(execution, 'ProvisionLds')).toBe(1);
    expect(creates() - createsBefore).toBe(createsMade);
    await expectTornDown(session.id, 'TERMINATED', [
      'PENDING',
      'SCHEDULED',
      'INSTANTIATING',
      'READY',
      'TERMINATED',
    ]);
    expect(suite.h.lds.sessions().find((s) => s.id === mine[0]!.id)?.state).toBe('ARCHIVED');
  });

  it('teardown archives an LDS session provisioning created but never recorded, found by LCM’s id', async () => {
    const deps = lifecycleDepsFromEnv(process.env);
    const created = await newSession(suite.h);
    const s = await suite.h.stores.sessions.update(created.id, { cmlLabId: 'lab-imported' }, created.version);
    // What a provisioning attempt leaves when LDS created the session and the save never happened.
    const { id } = await deps.lds.createSession({
      partId: 'lab.ospf.basics.v1',
      externalSessionId: s.id,
      user: { id: 'u-learner' },
    });
    expect((await suite.h.stores.sessions.get(s.id)).userSession).toBeUndefined();

    expect(await archiveLdsStep(deps, { sessionId: s.id })).toEqual({ archived: true });
    expect(suite.h.lds.sessions().find((x) => x.id === id)?.state).toBe('ARCHIVED');
    expect((await suite.h.stores.sessions.get(s.id)).userSession).toMatchObject({
      ldsSessionId: id,
      status: 'ARCHIVED',
    });
    // Repeated (a retried step): nothing left to archive.
    expect(await archiveLdsStep(deps, { sessionId: s.id })).toEqual({ archived: false });

    // A session whose lab was never imported never reached provisioning: LDS is not asked.
    const early = await newSession(suite.h);
    const before = lookups();
    expect(await archiveLdsStep(deps, { sessionId: early.id })).toEqual({ archived: false });
    expect(lookups()).toBe(before);
  });
});
