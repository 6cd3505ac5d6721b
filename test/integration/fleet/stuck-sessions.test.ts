import { type CmlSimulator, startCmlSimulator } from '@lcm/sandbox/simulators/cml';
import { createStores, type Stores } from '@lcm/shared/app';
import type { LabletSession } from '@lcm/shared/kernel';
import {
  createCmlClient,
  type ExecutionStatus,
  publishMetrics,
  RecordingFleetWorkflows,
  RecordingWorkflowEngine,
  staticCredentials,
} from '@lcm/shared/platform';
import {
  DEFAULT_LIFECYCLE_CONFIG,
  labTitleOf,
  type SessionStepDeps as SessionDeps,
  type SessionTeardown,
  sessionTeardownWith,
  sweepStuckSessions,
  WORKFLOW_LOST_ERROR,
} from '@lcm/shared/sessions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureEmf } from '../../support/emf.ts';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { newSession } from '../persistence/builders.ts';
import { placedSession, runningWorker } from './support.ts';

/**
 * The stuck-session sweep over DynamoDB Local: a session that is not TERMINATED but whose
 * workflow execution is no longer running is torn down with the session workflow's own teardown
 * steps (lab deleted on CML, capacity and ports released, TERMINATED with WORKFLOW_ERROR); a
 * running execution, one the engine cannot tell, and a session changed within the grace period
 * are left alone.
 */

let t: TestTable;
let s: Stores;
let cml: CmlSimulator;

beforeAll(async () => {
  t = await createTestTable('fleet-stuck');
  s = createStores({ client: t.client, tableName: t.tableName });
  cml = await startCmlSimulator({ labBootMs: 10 });
});

afterAll(async () => {
  await cml?.stop();
  await t?.cleanup();
});

const arn = (name: string) => `arn:aws:states:us-east-1:000000000000:execution:lcm-session-lifecycle:${name}`;

async function withExecution(session: LabletSession, executionArn: string): Promise<LabletSession> {
  return s.sessions.update(session.id, { executionArn }, session.version);
}

describe('sweepStuckSessions', () => {
  it('tears down only sessions whose execution ended or vanished, once the grace period has passed', async () => {
    const workflows = new RecordingFleetWorkflows();
    const cases: Array<[string, ExecutionStatus | undefined]> = [
      ['failed', 'FAILED'],
      ['aborted', 'ABORTED'],
      ['timed-out', 'TIMED_OUT'],
      ['succeeded', 'SUCCEEDED'],
      ['not-found', 'NOT_FOUND'],
      ['running', 'RUNNING'],
      ['unknown', undefined],
    ];
    for (const [name, status] of cases) {
      const created = await s.sessions.create(newSession({ id: `s-${name}`, reservationId: `r-${name}` }));
      await withExecution(created, arn(name));
      if (status) workflows.setStatus(arn(name), status);
    }
    await s.sessions.create(newSession({ id: 's-no-execution', reservationId: 'r-no-execution' }));

    const tornDown: Array<{ id: string; why: { Error: string; Cause: string } }> = [];
    const teardown: SessionTeardown = async (id, why) => {
      tornDown.push({ id, why });
    };
    const deps = {
      sessions: s.sessions,
      workflows,
      teardown,
      config: { stuckSessionGraceSeconds: 120 },
    };

    const early = await sweepStuckSessions(deps);
    expect(early.tornDown).toEqual([]);
    expect(tornDown).toEqual([]);

    const later = new Date(Date.now() + 10 * 60_000);
    const result = await sweepStuckSessions({ ...deps, clock: () => later });
    expect(result.tornDown.map((x) => x.sessionId).sort()).toEqual(
      ['s-aborted', 's-failed', 's-not-found', 's-succeeded', 's-timed-out'].sort(),
    );
    expect(result.checked).toBe(7);
    expect(result.errors).toEqual([]);
    const failed = tornDown.find((x) => x.id === 's-failed')!;
    expect(failed.why.Error).toBe(WORKFLOW_LOST_ERROR);
    expect(failed.why.Cause).toBe(
      `the session workflow ${arn('failed')} is FAILED but the session is PENDING`,
    );
  });

  it('TeardownFailures: a dead execution mid-teardown, and each failing teardown of the sweep', async () => {
    const workflows = new RecordingFleetWorkflows();
    // Left in STOPPING by a teardown that failed (the workflow's TeardownIncomplete).
    const stopping = await s.sessions.create(
      newSession({ id: 's-tf-stopping', reservationId: 'r-tf-stopping' }),
    );
    let current = stopping;
    for (const [from, to] of [
      ['PENDING', 'SCHEDULED'],
      ['SCHEDULED', 'INSTANTIATING'],
      ['INSTANTIATING', 'READY'],
      ['READY', 'RUNNING'],
      ['RUNNING', 'STOPPING'],
    ] as const) {
      current = await s.sessions.transition(current.id, from, to, 'test');
    }
    await withExecution(current, arn('tf-stopping'));
    workflows.setStatus(arn('tf-stopping'), 'FAILED');
    // Its workflow died before any teardown: not a teardown failure unless the sweep's own fails.
    const pending = await s.sessions.create(
      newSession({ id: 's-tf-pending', reservationId: 'r-tf-pending' }),
    );
    await withExecution(pending, arn('tf-pending'));
    workflows.setStatus(arn('tf-pending'), 'ABORTED');

    const later = new Date(Date.now() + 10 * 60_000);
    const sweep = (teardown: SessionTeardown) =>
      sweepStuckSessions({
        sessions: s.sessions,
        workflows,
        teardown,
        config: { stuckSessionGraceSeconds: 120 },
        clock: () => later,
      });
    const counted = async (teardown: SessionTeardown) => {
      const points = await captureEmf(async () => {
        await sweep(teardown);
        publishMetrics();
      });
      return points.filter((p) => p.name === 'TeardownFailures').flatMap((p) => p.values);
    };
    // The sweep's teardown of the STOPPING one fails: found mid-teardown (1) + its own failure (1).
    const failing: SessionTeardown = async (id) => {
      if (id === 's-tf-stopping') throw new Error('CML unreachable');
    };
    expect(await counted(failing)).toEqual([1, 1]);
    // Next run, still failing: counted again.
    expect(await counted(failing)).toEqual([1, 1]);
  });

  it('with the real teardown steps: the CML lab is deleted, capacity and ports released, TERMINATED', async () => {
    const worker = await runningWorker(s, { cmlBaseUrl: cml.url, ipAddress: '127.0.0.1' });
    const placed = await placedSession(s, worker);
    const session = await withExecution(placed, arn(`dead-${placed.id}`));
    // The lab the dead workflow had imported (found by the session's title).
    const client = createCmlClient({
      baseUrl: cml.url,
      credentials: staticCredentials({ username: 'admin', password: 'admin-password' }),
    });
    const yaml = `lab: {title: x, version: 0.3.0}\nnodes:\n  - {id: n0, label: R1, node_definition: iol-xe, x: 0, y: 0, interfaces: []}\nlinks: []\n`;
    const { id: labId } = await client.importLab(yaml, labTitleOf(session.id));
    await client.startLab(labId);

    const workflows = new RecordingFleetWorkflows();
    workflows.setStatus(session.executionArn!, 'FAILED');
    const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('not used')) });
    const sessionDeps: SessionDeps = {
      stores: s,
      engine: new RecordingWorkflowEngine(),
      cml: () => client,
      lds: unused as SessionDeps['lds'],
      grading: unused as SessionDeps['grading'],
      evidence: unused as SessionDeps['evidence'],
      config: DEFAULT_LIFECYCLE_CONFIG,
    };
    const later = new Date(Date.now() + 10 * 60_000);
    const result = await sweepStuckSessions({
      sessions: s.sessions,
      workflows,
      teardown: sessionTeardownWith(sessionDeps),
      config: { stuckSessionGraceSeconds: 120 },
      clock: () => later,
    });
    expect(result.errors).toEqual([]);
    expect(result.tornDown).toContainEqual({
      sessionId: session.id,
      executionArn: session.executionArn,
      execution: 'FAILED',
    });

    const after = await s.sessions.get(session.id);
    expect(after.session.status).toBe('TERMINATED');
    expect(after.session.failureReason).toBe('WORKFLOW_ERROR');
    expect(after.history.at(-1)).toMatchObject({ from: 'SCHEDULED', to: 'TERMINATED' });
    expect(cml.lab(labId)).toBeUndefined();
    const w = await s.workers.get(worker.id);
    expect(w.allocatedCapacity).toEqual({ cpuCores: 0, memoryGb: 0, storageGb: 0, maxNodes: 0 });
    expect(w.leasedPortCount).toBe(0);
    expect(await s.leases.listByWorker(worker.id)).toEqual([]);
    expect((await s.sessions.listActiveOnWorker(worker.id)).items).toEqual([]);
  });
});
