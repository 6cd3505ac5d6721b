import { lifecycleDepsFromEnv } from '@lcm/shared/app';
import { outboxEventsFor } from '@lcm/shared/events';
import { deleteLeftoverLabs, getFleetCapacity } from '@lcm/shared/fleet';
import type { Capacity, Worker } from '@lcm/shared/kernel';
import { ConflictError, requirementsAsCapacity, SESSION_TRANSITIONS } from '@lcm/shared/kernel';
import { ENTITY, EvidenceManifestSchema, evidenceKeys, keys } from '@lcm/shared/platform';
import {
  forceReleaseSession,
  regradeSession,
  sessionTeardownWith,
  terminateSession,
} from '@lcm/shared/sessions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEF_UNGRADED,
  eventually,
  ldsSessionOf,
  sessionSuite,
  waitForPendingWait,
  waitForStatus,
} from './harness.ts';

/**
 * Issue 12, items 4 and 5, on the real parts: the session-lifecycle ASL run locally with the
 * real task handlers, DynamoDB Local, the CML / LDS / Grading simulators over HTTP with their
 * fault injection (`/_sim/faults`).
 *
 * - CML's DELETE of the lab failing forever → TEARDOWN_FAILED within lifecycle.teardownTimeoutSeconds,
 *   with what was left; force-release frees the capacity (seen through the fleet capacity view);
 *   the leftover lab is deleted by the health sweep's pass once CML answers again.
 * - Observation failing and one node's configuration failing → the session is graded all the
 *   same, the evidence lists the failed node.
 * - Re-grade of a GRADING_FAILED session.
 * - Teardown on a FAILED, then a TERMINATED worker: capacity and ports released, CML not called.
 */

const TEARDOWN_BOUND_SECONDS = 3;
const suite = sessionSuite();
const { sessionDeps, start } = suite;

beforeAll(() => {
  process.env.LCM_TEARDOWN_TIMEOUT_SECONDS = String(TEARDOWN_BOUND_SECONDS);
});

afterAll(() => {
  delete process.env.LCM_TEARDOWN_TIMEOUT_SECONDS;
});

/** The worker's allocation as GET /v1/fleet/capacity reports it. */
async function fleetAllocated(workerId: string): Promise<{ allocated: Capacity; leasedPortCount: number }> {
  const capacity = await getFleetCapacity({ workers: suite.h.stores.workers });
  const w = capacity.workers.find((x) => x.id === workerId);
  expect(w, `worker ${workerId} in the fleet capacity`).toBeDefined();
  return { allocated: w!.allocated, leasedPortCount: w!.leasedPortCount };
}

const deleteCalls = (labId: string) =>
  suite.h.cml.requests().filter((r) => r.method === 'DELETE' && r.path === `/api/v0/labs/${labId}`);

describe('teardown always finishes, or says so (issue 12, item 4)', () => {
  it('CML delete failing forever → TEARDOWN_FAILED within the bound; force-release frees the capacity; the sweep deletes the lab once CML answers', async () => {
    const before = await fleetAllocated(suite.h.worker.id);
    const session = await start({ definitionId: DEF_UNGRADED });
    const ready = await waitForStatus(suite.h, session.id, 'READY');
    const labId = ready.cmlLabId!;
    const ports = Object.values(ready.allocatedPorts!).sort((a, b) => a - b);
    const held = await fleetAllocated(suite.h.worker.id);
    expect(held.leasedPortCount).toBe(before.leasedPortCount + ports.length);

    // CML refuses to delete the lab, for good.
    suite.h.cml.injectFault({ method: 'DELETE', path: '^/api/v0/labs/[^/]+$', status: 500, times: 'always' });
    const oldImage = { ...(await suite.h.stores.sessions.getSession(session.id)) };
    await terminateSession(sessionDeps(), session.id, { by: 'op-1', reason: 'cohort cancelled' });
    const execution = await suite.h.sfn.waitForExecution(session.executionArn!, 60_000);

    // The execution ends incomplete after looping on DeleteLab; it never released anything.
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('TeardownIncomplete');
    expect(execution.states).toContain('LabLeftOnWorker');
    expect(execution.states).not.toContain('ReleaseCapacity');
    expect(execution.states).not.toContain('CompleteTeardown');
    expect(deleteCalls(labId).length).toBeGreaterThan(1);

    const stuck = await suite.h.stores.sessions.getSession(session.id);
    // READY has no way to STOPPING (the transition table): the teardown runs from READY.
    expect(stuck.status).toBe('READY');
    expect(stuck.failureReason).toBe('TEARDOWN_FAILED');
    expect(stuck.teardownFailure).toMatchObject({
      previousReason: 'TERMINATED',
      step: 'DeleteLab',
      workerId: suite.h.worker.id,
      cmlLabId: labId,
      capacityHeld: requirementsAsCapacity(ready.requirements),
      portsHeld: ports,
    });
    expect(stuck.teardownFailure!.error).toMatch(/500/);
    // Within the bound: it gave up no earlier than the bound, and not long after it.
    const gaveUpAfterMs = Date.parse(stuck.teardownFailure!.at) - Date.parse(stuck.teardownStartedAt!);
    expect(gaveUpAfterMs).toBeGreaterThanOrEqual(TEARDOWN_BOUND_SECONDS * 1000);
    expect(gaveUpAfterMs).toBeLessThan((TEARDOWN_BOUND_SECONDS + 10) * 1000);
    console.info(
      `[figure] TEARDOWN_FAILED after ${gaveUpAfterMs} ms (bound ${TEARDOWN_BOUND_SECONDS} s), ${deleteCalls(labId).length} DELETE attempts`,
    );
    // Capacity and ports are still held (the lab still runs on the worker).
    expect(await fleetAllocated(suite.h.worker.id)).toEqual(held);

    // The outbox publishes session.teardown-failed for that change, with what was left.
    const events = outboxEventsFor({
      eventName: 'MODIFY',
      keys: keys.session(session.id),
      oldImage: { ...oldImage, entity: ENTITY.session },
      newImage: { ...stuck, entity: ENTITY.session },
    });
    const failed = events.find((e) => e.type === 'io.lablet.lcm.session.teardown-failed.v1');
    expect(failed?.data).toMatchObject({
      sessionId: session.id,
      workerId: suite.h.worker.id,
      cmlLabId: labId,
      previousReason: 'TERMINATED',
      step: 'DeleteLab',
      portsHeld: ports,
    });

    // The stuck-session sweep's teardown does not release it either: still TEARDOWN_FAILED.
    const stepDeps = lifecycleDepsFromEnv(process.env);
    await expect(
      sessionTeardownWith(stepDeps)(session.id, { Error: 'WorkflowLost', Cause: 'test' }),
    ).rejects.toThrow(/TEARDOWN_FAILED/);
    expect(await fleetAllocated(suite.h.worker.id)).toEqual(held);

    // Force-release by an operator: capacity and ports back, the lab recorded, TERMINATED.
    const releaseDeps = {
      sessions: suite.h.stores.sessions,
      placement: suite.h.stores.placement,
      workers: suite.h.stores.workers,
      leftoverLabs: suite.h.stores.leftoverLabs,
    };
    const released = await forceReleaseSession(releaseDeps, session.id, { by: 'op-2', reason: 'CML down' });
    expect(released.released).toEqual({
      workerId: suite.h.worker.id,
      capacity: requirementsAsCapacity(ready.requirements),
      ports,
    });
    expect(released.leftoverLab).toEqual({ workerId: suite.h.worker.id, cmlLabId: labId });
    expect(await fleetAllocated(suite.h.worker.id)).toEqual(before);
    expect(await suite.h.stores.leases.listByWorker(suite.h.worker.id)).toEqual([]);
    const { session: ended, history } = await suite.h.stores.sessions.get(session.id);
    expect(ended.status).toBe('TERMINATED');
    expect(ended.failureReason).toBe('TEARDOWN_FAILED');
    const last = history.at(-1)!;
    expect(last).toMatchObject({ from: 'READY', to: 'TERMINATED', by: 'op-2' });
    expect(last.reason).toMatch(/^TEARDOWN_FAILED: force-released by op-2 \(CML down\): capacity and 3 port/);
    for (const e of history) expect(SESSION_TRANSITIONS[e.from]).toContain(e.to);
    // Not releasable twice: 409.
    await expect(forceReleaseSession(releaseDeps, session.id, { by: 'op-2' })).rejects.toBeInstanceOf(
      ConflictError,
    );

    // The health sweep's leftover-lab pass: CML still failing → kept, attempt noted.
    const sweepDeps = {
      workers: suite.h.stores.workers,
      leftoverLabs: suite.h.stores.leftoverLabs,
      cml: (w: Pick<Worker, 'id'> & { cmlBaseUrl: string }) => stepDeps.cml({ ...suite.h.worker, ...w }),
    };
    const first = await deleteLeftoverLabs(sweepDeps);
    expect(first.failed).toEqual([
      { workerId: suite.h.worker.id, cmlLabId: labId, error: expect.any(String) },
    ]);
    expect(suite.h.cml.labs().map((l) => l.id)).toContain(labId);
    expect((await suite.h.stores.leftoverLabs.listByWorker(suite.h.worker.id))[0]).toMatchObject({
      cmlLabId: labId,
      sessionId: session.id,
      recordedBy: 'op-2',
      attempts: 1,
    });

    // CML answers again → the lab is deleted and the record goes.
    suite.h.cml.clearFaults();
    const second = await deleteLeftoverLabs(sweepDeps);
    expect(second.deleted).toEqual([{ workerId: suite.h.worker.id, cmlLabId: labId, sessionId: session.id }]);
    expect(suite.h.cml.labs().map((l) => l.id)).not.toContain(labId);
    expect(await suite.h.stores.leftoverLabs.listAll()).toEqual([]);
  });

  it('a lab that cannot be deleted at first but can later, within the bound: the teardown finishes normally', async () => {
    process.env.LCM_TEARDOWN_TIMEOUT_SECONDS = '60';
    try {
      const before = await fleetAllocated(suite.h.worker.id);
      const session = await start({ definitionId: DEF_UNGRADED });
      const ready = await waitForStatus(suite.h, session.id, 'READY');
      suite.h.cml.injectFault({
        method: 'DELETE',
        path: '^/api/v0/labs/[^/]+$',
        status: 503,
        times: 'always',
      });
      await terminateSession(sessionDeps(), session.id, { by: 'op-1' });
      // Once the workflow waits to try again, CML recovers.
      await eventually('the DeleteLab retry wait', async () =>
        suite.h.sfn
          .executions()
          .find((e) => e.name === session.id)
          ?.states.includes('WaitBeforeDeleteLabRetry'),
      );
      suite.h.cml.clearFaults();
      const execution = await suite.h.sfn.waitForExecution(session.executionArn!, 60_000);
      expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
      const ended = await suite.h.stores.sessions.getSession(session.id);
      expect(ended).toMatchObject({ status: 'TERMINATED', failureReason: 'TERMINATED' });
      expect(ended.teardownFailure).toBeUndefined();
      expect(suite.h.cml.labs().map((l) => l.id)).not.toContain(ready.cmlLabId);
      expect(await fleetAllocated(suite.h.worker.id)).toEqual(before);
    } finally {
      process.env.LCM_TEARDOWN_TIMEOUT_SECONDS = String(TEARDOWN_BOUND_SECONDS);
    }
  });
});

describe('best effort means best effort (issue 12, item 5)', () => {
  it('observation failing and one node’s configuration failing → graded all the same, the evidence lists the failed node', async () => {
    const session = await start();
    const ready = await waitForStatus(suite.h, session.id, 'READY');
    const lab = suite.h.cml.labs().find((l) => l.id === ready.cmlLabId)!;
    const r2 = lab.nodes.find((n) => n.label === 'R2')!;
    suite.h.cml.injectFault({
      method: 'PUT',
      path: `^/api/v0/labs/[^/]+/nodes/${r2.id}/extract_configuration$`,
      status: 500,
      times: 'always',
    });
    suite.h.cml.injectFault({ path: '^/api/v0/labs/[^/]+/simulation_stats$', status: 500, times: 'always' });

    await waitForPendingWait(suite.h, session.id, 'LOGIN');
    await suite.h.lds.login(await ldsSessionOf(suite.h, session.id));
    await waitForPendingWait(suite.h, session.id, 'END');
    await suite.h.lds.end(await ldsSessionOf(suite.h, session.id));
    const execution = await suite.h.sfn.waitForExecution(session.executionArn!, 60_000);
    expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');

    // The observation failed (after its retries) and the workflow went on to grade.
    expect(execution.events.some((e) => e.state === 'ObserveLab' && e.error)).toBe(true);
    expect(execution.states).toContain('SubmitGrading');
    const {
      session: ended,
      grading,
      score,
      observations,
      history,
    } = await suite.h.stores.sessions.get(session.id);
    expect(ended.status).toBe('TERMINATED');
    expect(ended.failureReason).toBeUndefined();
    expect(grading?.status).toBe('COMPLETED');
    expect(score).toBeDefined();
    expect(observations).toEqual([]);
    expect(history.map((e) => e.to)).toContain('GRADING');

    // The evidence: R1 collected, R2 listed as failed, the switch unsupported.
    const manifest = EvidenceManifestSchema.parse(
      JSON.parse(suite.h.evidence.get(evidenceKeys.manifest(session.id))!),
    );
    expect(manifest.failed).toEqual([{ name: 'R2', nodeId: r2.id, error: expect.stringMatching(/500/) }]);
    const byName = Object.fromEntries(manifest.devices.map((d) => [d.name, d]));
    expect(byName.R1).toMatchObject({
      supported: true,
      configuration: expect.stringContaining('hostname R1'),
    });
    expect(byName.R2).toMatchObject({ supported: true, collected: false, configuration: null });
    expect(byName.SW).toMatchObject({ supported: false });
    expect(suite.h.evidence.has(evidenceKeys.deviceConfig(session.id, 'R1'))).toBe(true);
    expect(suite.h.evidence.has(evidenceKeys.deviceConfig(session.id, 'R2'))).toBe(false);
  });

  it('re-grade of a GRADING_FAILED session: submitted again, completed with a score; the session keeps its status', async () => {
    suite.h.grading.failNext('rules engine crashed');
    const session = await start();
    await waitForPendingWait(suite.h, session.id, 'LOGIN');
    await suite.h.lds.login(await ldsSessionOf(suite.h, session.id));
    await waitForPendingWait(suite.h, session.id, 'END');
    await suite.h.lds.end(await ldsSessionOf(suite.h, session.id));
    await suite.h.sfn.waitForExecution(session.executionArn!, 60_000);
    const failed = await suite.h.stores.sessions.get(session.id);
    expect(failed.session).toMatchObject({ status: 'TERMINATED', failureReason: 'GRADING_FAILED' });
    expect(failed.grading).toMatchObject({ status: 'FAULTED', attempt: 1 });
    const firstGradingId = failed.grading!.gradingSessionId;

    const regradeDeps = {
      sessions: suite.h.stores.sessions,
      definitions: suite.h.stores.definitions,
      grading: lifecycleDepsFromEnv(process.env).grading,
    };
    const result = await regradeSession(regradeDeps, session.id, { by: 'op-3' });
    expect(result.grading).toMatchObject({
      status: 'SUBMITTED',
      attempt: 2,
      regradeRequestedBy: 'op-3',
      evidenceUri: failed.grading!.evidenceUri,
    });
    expect(result.grading.gradingSessionId).not.toBe(firstGradingId);

    const graded = await eventually('the re-grade result', async () => {
      const a = await suite.h.stores.sessions.get(session.id);
      return a.grading?.status === 'COMPLETED' ? a : undefined;
    });
    expect(graded.score).toBeDefined();
    expect(graded.grading?.gradingSessionId).toBe(result.grading.gradingSessionId);
    // The transition table has nothing after TERMINATED: status, reason and history unchanged.
    expect(graded.session).toMatchObject({ status: 'TERMINATED', failureReason: 'GRADING_FAILED' });
    expect(graded.history).toEqual(failed.history);

    // Once graded, or for a session whose grading did not fail: 409.
    await expect(regradeSession(regradeDeps, session.id, { by: 'op-3' })).rejects.toBeInstanceOf(
      ConflictError,
    );
  });
});

describe('teardown on a worker that is gone (issue 12, item 4)', () => {
  // Last: the harness's worker ends FAILED, then TERMINATED.
  it('FAILED, then TERMINATED worker: capacity and ports released, CML not called, the session TERMINATED', async () => {
    const before = await fleetAllocated(suite.h.worker.id);
    const a = await start({ definitionId: DEF_UNGRADED });
    const b = await start({ definitionId: DEF_UNGRADED });
    const readyA = await waitForStatus(suite.h, a.id, 'READY');
    const readyB = await waitForStatus(suite.h, b.id, 'READY');
    expect(readyA.workerId).toBe(suite.h.worker.id);
    expect(readyB.workerId).toBe(suite.h.worker.id);
    // CML does not answer at all any more.
    suite.h.cml.injectFault({ path: '.*', reset: true, times: 'always' });
    const requestsBefore = suite.h.cml.requests().length;

    let w = await suite.h.stores.workers.get(suite.h.worker.id);
    w = await suite.h.stores.workers.transition(w.id, 'RUNNING', 'FAILED', 'test', 'CML unreachable');
    await terminateSession(sessionDeps(), a.id, { by: 'op-1' });
    const ea = await suite.h.sfn.waitForExecution(a.executionArn!, 60_000);
    expect(ea.status, `${ea.error}: ${ea.cause}`).toBe('SUCCEEDED');
    expect((await suite.h.stores.sessions.getSession(a.id)).status).toBe('TERMINATED');

    w = await suite.h.stores.workers.transition(
      w.id,
      'FAILED',
      'SHUTTING_DOWN',
      'test',
      'instance terminating',
    );
    await suite.h.stores.workers.transition(w.id, 'SHUTTING_DOWN', 'TERMINATED', 'test', 'instance gone');
    await terminateSession(sessionDeps(), b.id, { by: 'op-1' });
    const eb = await suite.h.sfn.waitForExecution(b.executionArn!, 60_000);
    expect(eb.status, `${eb.error}: ${eb.cause}`).toBe('SUCCEEDED');
    expect((await suite.h.stores.sessions.getSession(b.id)).status).toBe('TERMINATED');

    // Nothing was asked of CML; everything the two sessions held is back.
    expect(suite.h.cml.requests().length).toBe(requestsBefore);
    const worker = await suite.h.stores.workers.get(suite.h.worker.id);
    expect(worker.allocatedCapacity).toEqual(before.allocated);
    expect(worker.leasedPortCount).toBe(before.leasedPortCount);
    expect(await suite.h.stores.leases.listByWorker(suite.h.worker.id)).toEqual([]);
    expect(await suite.h.stores.placement.getPlacement(a.id)).toBeUndefined();
    expect(await suite.h.stores.placement.getPlacement(b.id)).toBeUndefined();
  });
});
