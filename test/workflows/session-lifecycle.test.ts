import { SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import type { SessionStatus } from '@lcm/shared/kernel';
import { SESSION_TRANSITIONS } from '@lcm/shared/kernel';
import { evidenceKeys } from '@lcm/shared/platform';
import {
  finishSession,
  observeGradingResult,
  observeLearnerEvent,
  terminateSession,
} from '@lcm/shared/sessions';
import { describe, expect, it } from 'vitest';
import {
  DEF_UNGRADED,
  eventually,
  ldsSessionOf,
  type newSession,
  REQUIREMENTS,
  sessionSuite,
  WORKER_IP,
  waitForPendingWait,
  waitForStatus,
} from './harness.ts';

/**
 * The session-lifecycle ASL run locally (aws-local-stepfunctions behind the local SFN endpoint)
 * with the real task handlers against DynamoDB Local and the CML/LDS/Grading simulators over
 * HTTP. The workflow is started and its waits resolved through the real StepFunctionsWorkflowEngine
 * and SDK client, by the API commands (finish, terminate), by the partners' events through
 * sessions/waits.ts, or by SendTaskSuccess/Failure directly. After every path the session is
 * TERMINATED with its reason and a complete history, and everything it held is back.
 */

const suite = sessionSuite();
const { sessionDeps } = suite;

/** Starts the session's workflow as the API does (through the engine, ARN recorded). */
async function start(opts: Parameters<typeof newSession>[1] = {}) {
  const session = await suite.start(opts);
  expect(session.executionArn).toBe(
    `${suite.h.sfn.sessionStateMachineArn!.replace(':stateMachine:', ':execution:')}:${session.id}`,
  );
  return session;
}
const { finished } = suite;

/**
 * The invariant after every path: TERMINATED with the expected reason, a history that moves
 * through valid transitions one by one ending in TERMINATED (with `by` on every entry), no
 * pending wait, the worker's capacity and port leases as before, no lab left on CML, and the
 * LDS session (if one was made) archived.
 */
async function expectTornDown(id: string, reason: string | undefined, path: SessionStatus[]) {
  const { session, history, userSession } = await suite.h.stores.sessions.get(id);
  expect(session.status).toBe('TERMINATED');
  expect(session.failureReason).toBe(reason);
  expect(session.pendingWait).toBeUndefined();
  expect(['PENDING', ...history.map((e) => e.to)]).toEqual(path);
  for (const [i, e] of history.entries()) {
    expect(e.from).toBe(path[i]);
    expect(SESSION_TRANSITIONS[e.from]).toContain(e.to);
    expect(e.by.length).toBeGreaterThan(0);
  }
  expect(history.at(-1)?.reason).toEqual(
    reason ? expect.stringMatching(new RegExp(`^${reason}`)) : 'completed',
  );

  const worker = await suite.h.stores.workers.get(suite.h.worker.id);
  expect(worker.allocatedCapacity).toEqual(suite.baseline.allocated);
  expect(worker.leasedPortCount).toBe(suite.baseline.leasedPortCount);
  expect(await suite.h.stores.leases.listByWorker(suite.h.worker.id)).toEqual([]);
  expect(await suite.h.stores.placement.getPlacement(id)).toBeUndefined();

  expect(suite.h.cml.labs()).toEqual([]);
  const ldsSessions = suite.h.lds.sessions().filter((s) => s.externalSessionId === id);
  for (const s of ldsSessions) expect(s.state).toBe('ARCHIVED');
  if (userSession) expect(userSession.status).toBe('ARCHIVED');
  return { session, history };
}

const HAPPY: SessionStatus[] = [
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

describe('session lifecycle workflow', () => {
  it('happy path: placed, lab with rewritten ports, LDS devices, login and end by LDS events, evidence, observation, graded, torn down', async () => {
    const session = await start();
    const ready = await waitForStatus(suite.h, session.id, 'READY');

    // Placement: the worker's ports, written into the lab's PATty tags.
    const ports = ready.allocatedPorts!;
    expect(Object.keys(ports).sort()).toEqual(['R1_serial', 'R1_ssh', 'R2_serial']);
    for (const p of Object.values(ports)) expect(p).toBeGreaterThanOrEqual(5000);
    const [lab] = suite.h.cml.labs();
    expect(lab?.id).toBe(ready.cmlLabId);
    expect(lab?.title).toBe(`lcm-${session.id}`);
    expect(lab?.nodes.find((n) => n.label === 'R1')?.tags).toEqual([
      `serial:${ports.R1_serial}`,
      `pat:${ports.R1_ssh}:22`,
    ]);
    const worker = await suite.h.stores.workers.get(suite.h.worker.id);
    expect(worker.allocatedCapacity.cpuCores).toBe(REQUIREMENTS.cpuCores);

    // LDS: the definition's part, one device per node (issue 11, item 2) at the worker's IP, its main
    // port (the one the definition's device names, else the console) and every port of the node.
    const ldsId = await ldsSessionOf(suite.h, session.id);
    const ldsSession = suite.h.lds.session(ldsId)!;
    expect(ldsSession.partId).toBe('lab.ospf.basics.v1');
    expect(ldsSession.devices).toEqual([
      {
        name: 'Router 1 console',
        host: WORKER_IP,
        port: ports.R1_serial,
        protocol: 'telnet',
        ports: [
          { name: 'R1_serial', port: ports.R1_serial, protocol: 'telnet' },
          { name: 'R1_ssh', port: ports.R1_ssh, protocol: 'ssh' },
        ],
      },
      {
        name: 'R2',
        host: WORKER_IP,
        port: ports.R2_serial,
        protocol: 'telnet',
        ports: [{ name: 'R2_serial', port: ports.R2_serial, protocol: 'telnet' }],
      },
    ]);
    expect((await suite.h.stores.sessions.get(session.id)).userSession?.loginUrl).toBe(ldsSession.loginUrl);

    // The learner logs in (LDS running event → waits.ts resolves the LOGIN token).
    await waitForPendingWait(suite.h, session.id, 'LOGIN');
    await suite.h.lds.login(ldsId);
    await waitForPendingWait(suite.h, session.id, 'END');
    expect((await suite.h.stores.sessions.getSession(session.id)).status).toBe('RUNNING');
    suite.h.cml.setRunningConfig(ready.cmlLabId!, 'R1', 'hostname R1\nrouter ospf 1\n');
    await suite.h.lds.end(ldsId);

    const execution = await finished(session.executionArn!);
    expect(execution.states).toEqual(
      expect.arrayContaining(['AwaitLogin', 'MarkRunning', 'AwaitEnd', 'SubmitGrading', 'AwaitGrading']),
    );
    const { history } = await expectTornDown(session.id, undefined, HAPPY);
    expect(history.find((e) => e.to === 'RUNNING')?.by).toBe('lds');
    expect(history.find((e) => e.to === 'COLLECTING')).toMatchObject({
      by: 'lds',
      reason: 'the LDS session ended',
    });

    // Evidence: per-device configurations (unsupported switch skipped) and the manifest.
    expect(suite.h.evidence.get(evidenceKeys.deviceConfig(session.id, 'R1'))).toBe(
      'hostname R1\nrouter ospf 1\n',
    );
    expect(suite.h.evidence.has(evidenceKeys.deviceConfig(session.id, 'SW'))).toBe(false);
    const manifest = JSON.parse(suite.h.evidence.get(evidenceKeys.manifest(session.id))!);
    expect(manifest.devices.map((d: { name: string; supported: boolean }) => [d.name, d.supported])).toEqual([
      ['R1', true],
      ['R2', true],
      ['SW', false],
    ]);

    // Observation: what ran, with the observed ports equal to the allocation (no drift).
    const aggregate = await suite.h.stores.sessions.get(session.id);
    expect(aggregate.observations).toHaveLength(1);
    const obs = aggregate.observations[0]!;
    expect(obs.observedPorts).toEqual(ports);
    expect(obs.drift?.hasDrift).toBe(false);
    expect(obs.totals.nodeCount).toBe(2);
    expect(obs.nodes.map((n) => n.label)).toEqual(['R1', 'R2', 'SW']);

    // Graded by the engine from that evidence.
    expect(aggregate.grading).toMatchObject({ status: 'COMPLETED' });
    expect(aggregate.grading?.gradingSessionId).toBe(suite.h.grading.gradingSessions()[0]?.id);
    expect(aggregate.score).toMatchObject({ score: 2, maxScore: 2, passed: true });
    expect(suite.h.grading.gradingSessions()[0]?.evidenceUri).toBe(
      `s3://lcm-test-evidence/${evidenceKeys.manifest(session.id)}`,
    );

    // A late event for a session that is over is acknowledged as stale.
    expect(
      (await observeLearnerEvent(suite.h.waitDeps, session.id, 'LOGIN', new Date().toISOString())).outcome,
    ).toBe('stale');
  });

  it('learner finishes early (POST /finish through the engine); nothing to grade: COLLECTING → STOPPING', async () => {
    const session = await start({ definitionId: DEF_UNGRADED });
    const login = await waitForPendingWait(suite.h, session.id, 'LOGIN');
    // The login resolved with the SDK directly, as any Step Functions client could.
    await suite.h.sfnClient.send(
      new SendTaskSuccessCommand({
        taskToken: login.taskToken,
        output: JSON.stringify({ kind: 'LOGIN', at: new Date().toISOString() }),
      }),
    );
    await waitForPendingWait(suite.h, session.id, 'END');
    const result = await finishSession(sessionDeps(), session.id, { by: 'u-learner' });
    expect(result.outcome).toBe('requested');

    const execution = await finished(session.executionArn!);
    expect(execution.states).not.toContain('SubmitGrading');
    const { history } = await expectTornDown(session.id, undefined, [
      'PENDING',
      'SCHEDULED',
      'INSTANTIATING',
      'READY',
      'RUNNING',
      'COLLECTING',
      'STOPPING',
      'STOPPED',
      'ARCHIVED',
      'TERMINATED',
    ]);
    expect(history.find((e) => e.to === 'COLLECTING')).toMatchObject({
      by: 'api:u-learner',
      reason: 'the learner finished',
    });
    const aggregate = await suite.h.stores.sessions.get(session.id);
    expect(aggregate.grading).toBeUndefined();
    expect(aggregate.observations).toHaveLength(1);
    // The old token is spent: resolving it again is not an error for the engine, it is `gone`.
    await expect(suite.h.engine.sendTaskSuccess(login.taskToken, {})).resolves.toBe('gone');
  });

  it('no-show: the login wait times out at the timeslot end → NO_SHOW, torn down from READY', async () => {
    const session = await start({ seconds: 4 });
    await waitForPendingWait(suite.h, session.id, 'LOGIN');
    const execution = await finished(session.executionArn!);
    expect(execution.states).toContain('NoShow');
    await expectTornDown(session.id, 'NO_SHOW', [
      'PENDING',
      'SCHEDULED',
      'INSTANTIATING',
      'READY',
      'TERMINATED',
    ]);
  });

  it('no-show at the login deadline (lifecycle.noShowAfterSeconds): NO_SHOW long before the end, capacity back', async () => {
    process.env.LCM_NO_SHOW_AFTER_SECONDS = '3';
    try {
      // A two-hour slot: without the deadline its capacity would be held until the end.
      const session = await start({ seconds: 7200 });
      await waitForPendingWait(suite.h, session.id, 'LOGIN');
      const execution = await finished(session.executionArn!);
      expect(execution.states).toContain('NoShow');
      await expectTornDown(session.id, 'NO_SHOW', [
        'PENDING',
        'SCHEDULED',
        'INSTANTIATING',
        'READY',
        'TERMINATED',
      ]);
      const { history } = await suite.h.stores.sessions.get(session.id);
      expect(Date.parse(history.at(-1)!.at)).toBeLessThan(Date.parse(session.timeslot.end) - 3_600_000);
    } finally {
      delete process.env.LCM_NO_SHOW_AFTER_SECONDS;
    }
  });

  it('grading failure: the engine reports failed → GradingSession FAULTED, GRADING_FAILED', async () => {
    suite.h.grading.failNext('rules crashed on the evidence');
    const session = await start();
    await waitForPendingWait(suite.h, session.id, 'LOGIN');
    await suite.h.lds.login(await ldsSessionOf(suite.h, session.id));
    await waitForPendingWait(suite.h, session.id, 'END');
    await suite.h.lds.userFinish(await ldsSessionOf(suite.h, session.id));

    await finished(session.executionArn!);
    await expectTornDown(session.id, 'GRADING_FAILED', HAPPY);
    const aggregate = await suite.h.stores.sessions.get(session.id);
    expect(aggregate.grading).toMatchObject({ status: 'FAULTED', error: 'rules crashed on the evidence' });
    expect(aggregate.score).toBeUndefined();
  });

  it('grading timeout: no result within the bound → GradingSession FAULTED, GRADING_TIMEOUT', async () => {
    suite.h.dropGradingEvents = true;
    process.env.LCM_GRADING_TIMEOUT_SECONDS = '1';
    try {
      const session = await start();
      await waitForPendingWait(suite.h, session.id, 'LOGIN');
      await suite.h.lds.login(await ldsSessionOf(suite.h, session.id));
      await waitForPendingWait(suite.h, session.id, 'END');
      await suite.h.lds.end(await ldsSessionOf(suite.h, session.id));

      const execution = await finished(session.executionArn!);
      expect(execution.states).toContain('GradingTimedOut');
      await expectTornDown(session.id, 'GRADING_TIMEOUT', HAPPY);
      expect((await suite.h.stores.sessions.get(session.id)).grading).toMatchObject({
        status: 'FAULTED',
        error: expect.stringContaining('GRADING_TIMEOUT'),
      });
    } finally {
      process.env.LCM_GRADING_TIMEOUT_SECONDS = '30';
    }
  });

  describe('terminate (POST /terminate through the engine) fails the pending token', () => {
    it('while waiting for the login → TERMINATED from READY', async () => {
      const session = await start();
      const wait = await waitForPendingWait(suite.h, session.id, 'LOGIN');
      const r = await terminateSession(sessionDeps(), session.id, { by: 'op-1', reason: 'operator request' });
      expect(r.outcome).toBe('requested');
      await finished(session.executionArn!);
      const { history } = await expectTornDown(session.id, 'TERMINATED', [
        'PENDING',
        'SCHEDULED',
        'INSTANTIATING',
        'READY',
        'TERMINATED',
      ]);
      expect(history.at(-1)?.reason).toBe('TERMINATED: operator request');
      // The failed token is gone: the SDK says so, the engine ignores it.
      await expect(
        suite.h.sfnClient.send(new SendTaskFailureCommand({ taskToken: wait.taskToken, error: 'X' })),
      ).rejects.toMatchObject({ name: 'TaskDoesNotExist' });
    });

    it('while waiting for the end → STOPPING … TERMINATED', async () => {
      const session = await start();
      await waitForPendingWait(suite.h, session.id, 'LOGIN');
      await suite.h.lds.login(await ldsSessionOf(suite.h, session.id));
      await waitForPendingWait(suite.h, session.id, 'END');
      await terminateSession(sessionDeps(), session.id, { by: 'op-1' });
      await finished(session.executionArn!);
      await expectTornDown(session.id, 'TERMINATED', [
        'PENDING',
        'SCHEDULED',
        'INSTANTIATING',
        'READY',
        'RUNNING',
        'STOPPING',
        'STOPPED',
        'ARCHIVED',
        'TERMINATED',
      ]);
    });

    it('while waiting for the grading → STOPPING … TERMINATED, a late result is stale', async () => {
      suite.h.dropGradingEvents = true;
      const session = await start();
      await waitForPendingWait(suite.h, session.id, 'LOGIN');
      await suite.h.lds.login(await ldsSessionOf(suite.h, session.id));
      await waitForPendingWait(suite.h, session.id, 'END');
      await suite.h.lds.end(await ldsSessionOf(suite.h, session.id));
      await waitForPendingWait(suite.h, session.id, 'GRADING');
      await terminateSession(sessionDeps(), session.id, { by: 'op-1' });
      await finished(session.executionArn!);
      await expectTornDown(session.id, 'TERMINATED', HAPPY);
      const late = await observeGradingResult(suite.h.waitDeps, session.id, {
        completed: {
          score: 1,
          maxScore: 1,
          passed: true,
          sections: [],
          reportedAt: new Date().toISOString(),
        },
      });
      expect(late.outcome).toBe('stale');
      expect((await suite.h.stores.sessions.get(session.id)).score).toBeUndefined();
    });
  });

  it('CML import failure: retried, then torn down with CML_IMPORT_FAILED', async () => {
    suite.h.cml.injectFault({ method: 'POST', path: '^/api/v0/import$', status: 500, times: 'always' });
    const imports = () =>
      suite.h.cml.requests().filter((r) => r.method === 'POST' && r.path === '/api/v0/import');
    const before = imports().length;
    const session = await start();
    const execution = await finished(session.executionArn!);
    expect(execution.events.filter((e) => e.type === 'StateRetried' && e.state === 'ImportLab')).toHaveLength(
      2,
    );
    expect(imports().length - before).toBe(3);
    const { history } = await expectTornDown(session.id, 'CML_IMPORT_FAILED', [
      'PENDING',
      'SCHEDULED',
      'INSTANTIATING',
      'TERMINATED',
    ]);
    expect(history.at(-1)?.reason).toMatch(/^CML_IMPORT_FAILED: CmlImportFailed: CML import: .*HTTP 500/);
    expect(suite.h.lds.sessions().some((s) => s.externalSessionId === session.id)).toBe(false);
  });

  it('LDS unavailable: retried, then the started lab is deleted and LDS_UNAVAILABLE recorded', async () => {
    suite.h.lds.injectFault({ method: 'POST', path: '^/api/v1/sessions$', status: 503, times: 'always' });
    const session = await start();
    const execution = await finished(session.executionArn!);
    expect(
      execution.events.filter((e) => e.type === 'StateRetried' && e.state === 'ProvisionLds'),
    ).toHaveLength(3);
    const { session: s } = await expectTornDown(session.id, 'LDS_UNAVAILABLE', [
      'PENDING',
      'SCHEDULED',
      'INSTANTIATING',
      'TERMINATED',
    ]);
    expect(s.cmlLabId).toBeDefined(); // the lab was there, and is gone now
  });

  it('the timeslot is lost while waiting for capacity → NO_CAPACITY, the demand visible meanwhile', async () => {
    const session = await start({ seconds: 3, requirements: { ...REQUIREMENTS, cpuCores: 64 } });
    const waiting = await eventually('the rejection summary', async () => {
      const s = await suite.h.stores.sessions.getSession(session.id);
      return s.placementRejections ? s : undefined;
    });
    expect(waiting.status).toBe('PENDING');
    expect(waiting.placementRejections).toMatchObject({ capacity: 1 });
    const execution = await finished(session.executionArn!);
    expect(execution.states.filter((s) => s === 'PlaceSession').length).toBeGreaterThan(1);
    expect(execution.states).toContain('WaitBeforePlacementRetry');
    const { history } = await expectTornDown(session.id, 'NO_CAPACITY', ['PENDING', 'TERMINATED']);
    expect(history[0]?.reason).toMatch(/^NO_CAPACITY: NoCapacity: no worker fitted session .* capacity: 1/);
  });
});
