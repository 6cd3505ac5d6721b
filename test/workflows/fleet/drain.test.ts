import { StopInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { requestWorkerAction, workflowForWorker } from '@lcm/shared/fleet';
import type { LabletSession, Worker } from '@lcm/shared/kernel';
import { keys, TAG_STAGE, TAG_WORKER_ID } from '@lcm/shared/platform';
import { releaseSession } from '@lcm/shared/sessions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeInstance } from './fake-ec2.ts';
import {
  eventually,
  type FleetHarness,
  finished,
  STAGE,
  startFleetHarness,
  statusesOf,
  trace,
} from './harness.ts';

/**
 * statemachines/worker-drain.asl.json run locally with the real task handlers over DynamoDB
 * Local and EC2 mocked at the SDK boundary: a draining worker waits for its last session, then
 * clears leftover port leases and is stopped (warm capacity) or terminated; an API start cancels
 * the drain, an API terminate overrides a stop and fails the remaining sessions into teardown.
 */

let h: FleetHarness;
let n = 0;

beforeAll(async () => {
  h = await startFleetHarness();
});

afterAll(async () => {
  await h?.close();
});

beforeEach(() => {
  h.ec2.ec2.resetHistory();
});

const PORTS = [{ name: 'R1_serial', nodeLabel: 'R1', kind: 'serial' as const, insidePort: 0 }];

async function runningWorker(): Promise<{ worker: Worker; instance: FakeInstance }> {
  const id = `w-drain-${++n}`;
  const instance = h.ec2.add({ state: 'running', tags: { [TAG_WORKER_ID]: id, [TAG_STAGE]: STAGE } });
  const worker = await h.stores.workers.create({
    id,
    templateName: 'cml',
    status: 'RUNNING',
    serviceStatus: 'AVAILABLE',
    ec2InstanceId: instance.instanceId,
    ipAddress: '127.0.0.1',
    cmlBaseUrl: h.cml.url,
    license: { type: 'ENTERPRISE', status: 'REGISTERED' },
    declaredCapacity: { cpuCores: 16, memoryGb: 64, storageGb: 500, maxNodes: 50 },
    portRange: { start: 2000, end: 2099 },
  });
  return { worker, instance };
}

/** A session placed on the worker (SCHEDULED, capacity and one port leased). */
async function placedSession(worker: Worker, port = 2000): Promise<LabletSession> {
  const id = `s-drain-${++n}`;
  const now = Date.now();
  const session = await h.stores.sessions.create({
    id,
    definitionId: 'ospf',
    definitionVersion: 1,
    reservationId: `r-${id}`,
    owner: { userId: 'u-1' },
    timeslot: { start: new Date(now).toISOString(), end: new Date(now + 3_600_000).toISOString() },
    requirements: { cpuCores: 2, memoryGb: 4, storageGb: 10, nodeCount: 2 },
    licenseAffinity: [],
    portTemplate: PORTS,
  });
  const current = await h.stores.workers.get(worker.id);
  return h.stores.placement.place({ session, worker: current, ports: { R1_serial: port }, by: 'test' });
}

/** Starts the drain the worker's status calls for, as the scaler and the reconciliation do. */
async function startDrain(workerId: string, then: 'STOP' | 'TERMINATE') {
  const w = await h.stores.workers.get(workerId);
  const wf = workflowForWorker(w);
  expect(wf?.kind).toBe('drain');
  return h.workflows.startDrain(workerId, then, { executionName: wf!.executionName });
}

const stopCalls = () => h.ec2.calls(StopInstancesCommand).flatMap((c) => c.InstanceIds as string[]);
const terminateCalls = () => h.ec2.calls(TerminateInstancesCommand).flatMap((c) => c.InstanceIds as string[]);

describe('worker-drain', () => {
  it('waits for the last session to end, clears leftover leases, stops the instance: STOPPED', async () => {
    const { worker, instance } = await runningWorker();
    const session = await placedSession(worker);
    // A lease no session holds any more (a session that died without its teardown).
    await h.table.client.send(
      new PutCommand({
        TableName: h.table.tableName,
        Item: {
          ...keys.portLease(worker.id, 2050),
          entity: 'PortLease',
          workerId: worker.id,
          port: 2050,
          sessionId: 's-long-gone',
          name: 'R9_serial',
          leasedAt: new Date().toISOString(),
        },
      }),
    );
    const draining = await requestWorkerAction(h.stores, worker.id, 'stop', 'operator', 'maintenance');
    expect(draining).toMatchObject({ status: 'DRAINING', desiredStatus: 'STOPPED' });

    const { executionArn } = await startDrain(worker.id, 'STOP');
    // It keeps waiting while the session holds its placement; placement skips a DRAINING worker.
    await eventually('two session checks', async () => {
      const e = h.sfn.executions().find((x) => x.executionArn === executionArn)!;
      return e.states.filter((s) => s === 'WaitForSessions').length >= 2;
    });
    expect((await h.stores.workers.get(worker.id)).status).toBe('DRAINING');
    expect(stopCalls()).toEqual([]);

    // The session's teardown releases it: the drain goes on.
    expect((await releaseSession({ placement: h.stores.placement }, session.id)).released).toBe(true);
    const e = await finished(h, executionArn);
    expect(e.status, trace(e)).toBe('SUCCEEDED');
    expect(JSON.parse(e.output!)).toMatchObject({ next: 'DONE', status: 'STOPPED' });

    const w = await h.stores.workers.get(worker.id);
    expect(w.status).toBe('STOPPED');
    expect(w.desiredStatus).toBe('STOPPED');
    expect(w.serviceStatus).toBe('UNAVAILABLE');
    expect(statusesOf(w)).toEqual(['RUNNING→DRAINING', 'DRAINING→STOPPING', 'STOPPING→STOPPED']);
    expect(w.allocatedCapacity).toEqual({ cpuCores: 0, memoryGb: 0, storageGb: 0, maxNodes: 0 });
    expect(w.leasedPortCount).toBe(0);
    expect(await h.stores.leases.listByWorker(worker.id)).toEqual([]);
    expect(stopCalls()).toEqual([instance.instanceId]);
    expect(terminateCalls()).toEqual([]);
    expect(h.ec2.instances.get(instance.instanceId)!.state).toBe('stopped');
  });

  it('the scaler’s TERMINATE: DRAINING → SHUTTING_DOWN → TerminateInstances → TERMINATED', async () => {
    const { worker, instance } = await runningWorker();
    const current = await h.stores.workers.get(worker.id);
    await h.stores.workers.transition(worker.id, 'RUNNING', 'DRAINING', 'scaler', 'idle', {
      expectedVersion: current.version,
      patch: { desiredStatus: 'TERMINATED' },
    });
    const { executionArn } = await startDrain(worker.id, 'TERMINATE');
    const e = await finished(h, executionArn);
    expect(e.status, trace(e)).toBe('SUCCEEDED');
    expect(e.states).toContain('WaitForTermination');
    const w = await h.stores.workers.get(worker.id);
    expect(statusesOf(w)).toEqual(['RUNNING→DRAINING', 'DRAINING→SHUTTING_DOWN', 'SHUTTING_DOWN→TERMINATED']);
    expect(terminateCalls()).toEqual([instance.instanceId]);
    expect(stopCalls()).toEqual([]);
    expect(h.ec2.instances.get(instance.instanceId)!.state).toBe('terminated');
  });

  it('a STOPPED worker beyond the warm pool: SHUTTING_DOWN → TERMINATED', async () => {
    const { worker, instance } = await runningWorker();
    instance.state = 'stopped';
    let w = await h.stores.workers.get(worker.id);
    w = await h.stores.workers.transition(w.id, 'RUNNING', 'DRAINING', 'test', 'setup', {
      expectedVersion: w.version,
    });
    w = await h.stores.workers.transition(w.id, 'DRAINING', 'STOPPING', 'test', 'setup', {
      expectedVersion: w.version,
    });
    w = await h.stores.workers.transition(w.id, 'STOPPING', 'STOPPED', 'test', 'setup', {
      expectedVersion: w.version,
    });
    await h.stores.workers.transition(w.id, 'STOPPED', 'SHUTTING_DOWN', 'scaler', 'warm pool full', {
      expectedVersion: w.version,
      patch: { desiredStatus: 'TERMINATED' },
    });
    const { executionArn } = await startDrain(worker.id, 'TERMINATE');
    const e = await finished(h, executionArn);
    expect(e.status, trace(e)).toBe('SUCCEEDED');
    expect((await h.stores.workers.get(worker.id)).status).toBe('TERMINATED');
    expect(terminateCalls()).toEqual([instance.instanceId]);
  });

  it('an API start while it waits cancels the drain: the worker stays RUNNING and its instance up', async () => {
    const { worker, instance } = await runningWorker();
    const session = await placedSession(worker);
    await requestWorkerAction(h.stores, worker.id, 'stop', 'operator');
    const { executionArn } = await startDrain(worker.id, 'STOP');
    await eventually('a session check', async () => {
      const e = h.sfn.executions().find((x) => x.executionArn === executionArn)!;
      return e.states.includes('WaitForSessions');
    });
    const started = await requestWorkerAction(h.stores, worker.id, 'start', 'operator', 'needed after all');
    expect(started).toMatchObject({ status: 'RUNNING', desiredStatus: 'RUNNING' });
    const e = await finished(h, executionArn);
    expect(e.status, trace(e)).toBe('SUCCEEDED');
    expect(JSON.parse(e.output!)).toMatchObject({ next: 'DONE', status: 'RUNNING' });
    expect(stopCalls()).toEqual([]);
    expect(h.ec2.instances.get(instance.instanceId)!.state).toBe('running');
    // The session kept its placement throughout.
    expect((await h.stores.sessions.listActiveOnWorker(worker.id)).items.map((s) => s.id)).toEqual([
      session.id,
    ]);
  });

  it('an API terminate overrides the stop: remaining sessions are failed into teardown, TERMINATED', async () => {
    const { worker, instance } = await runningWorker();
    const session = await placedSession(worker);
    // The session is parked on a task token (e.g. waiting for the learner's login).
    await h.stores.sessions.update(
      session.id,
      { pendingWait: { kind: 'LOGIN', taskToken: 'token-login-1', since: new Date().toISOString() } },
      session.version,
    );
    await requestWorkerAction(h.stores, worker.id, 'stop', 'operator');
    const { executionArn } = await startDrain(worker.id, 'STOP');
    await eventually('a session check', async () => {
      const e = h.sfn.executions().find((x) => x.executionArn === executionArn)!;
      return e.states.includes('WaitForSessions');
    });
    await requestWorkerAction(h.stores, worker.id, 'terminate', 'operator', 'hardware fault');
    const e = await finished(h, executionArn);
    expect(e.status, trace(e)).toBe('SUCCEEDED');

    const w = await h.stores.workers.get(worker.id);
    expect(statusesOf(w)).toEqual(['RUNNING→DRAINING', 'DRAINING→SHUTTING_DOWN', 'SHUTTING_DOWN→TERMINATED']);
    expect(terminateCalls()).toContain(instance.instanceId);
    const s = await h.stores.sessions.getSession(session.id);
    expect(s.terminationRequestedAt).toBeDefined();
    expect(s.terminationReason).toBe('WORKER_TERMINATED');
    expect(h.sessionEngine.callsOf('sendTaskFailure')).toContainEqual(
      expect.objectContaining({ taskToken: 'token-login-1', error: 'Terminated' }),
    );
  });
});
