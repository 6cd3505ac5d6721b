import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { type CmlSimulator, startCmlSimulator } from '@lcm/sandbox/simulators/cml';
import { createStores, type Stores } from '@lcm/shared/app';
import { choosePlacement, healthSweep } from '@lcm/shared/fleet';
import { TAG_STAGE, TAG_WORKER_ID } from '@lcm/shared/platform';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { FakeEc2 } from '../../workflows/fleet/fake-ec2.ts';
import { lifecycleDeps, placedSession, runningWorker } from './support.ts';

/**
 * The health sweep over DynamoDB Local, with CML simulators over HTTP and EC2/CloudWatch mocked
 * at the SDK boundary: metrics snapshots and serviceStatus from system_information,
 * system_health, system_stats and GetMetricData; a worker unhealthy for N consecutive sweeps is
 * FAILED, its instance terminated and its sessions failed into teardown with WORKER_LOST.
 */

let t: TestTable;
let s: Stores;
let ec2: FakeEc2;
let healthy: CmlSimulator;
let sick: CmlSimulator;

beforeAll(async () => {
  t = await createTestTable('fleet-health');
  s = createStores({ client: t.client, tableName: t.tableName });
  ec2 = new FakeEc2();
  healthy = await startCmlSimulator({ compute: { cpus: 32, memoryGb: 128, diskGb: 500 } });
  sick = await startCmlSimulator();
});

afterAll(async () => {
  ec2?.restore();
  await healthy?.stop();
  await sick?.stop();
  await t?.cleanup();
});

beforeEach(() => {
  ec2.ec2.resetHistory();
  ec2.cloudwatch.resetHistory();
  sick.setControllerUp(true);
  sick.setReady(true);
});

async function workerWithInstance(sim: CmlSimulator) {
  const w = await runningWorker(s, { cmlBaseUrl: sim.url, ipAddress: '127.0.0.1' });
  const instance = ec2.add({ state: 'running', tags: { [TAG_WORKER_ID]: w.id, [TAG_STAGE]: 'itest' } });
  return s.workers.update(w.id, { ec2InstanceId: instance.instanceId }, w.version);
}

describe('healthSweep', () => {
  it("refreshes the worker's node and image definitions from its CML; placement rejects a lab needing one it lacks", async () => {
    const limited = await startCmlSimulator({ nodeDefinitions: ['iosv', 'csr1000v', 'unmanaged_switch'] });
    try {
      const w = await workerWithInstance(limited);
      await healthSweep(lifecycleDeps(s));
      const after = await s.workers.get(w.id);
      expect(after.cmlDefinitions?.nodeDefinitions.map((d) => d.id)).toEqual([
        'iosv',
        'csr1000v',
        'unmanaged_switch',
      ]);
      expect(after.cmlDefinitions?.nodeDefinitions[1]).toEqual({
        id: 'csr1000v',
        cpus: 1,
        ramMb: 3072,
        diskGb: 8,
        bootSeconds: 420,
        serialConsoles: 1,
        vnc: false,
        countsAsNode: true,
        image: 'csr1000v-17-03-08a',
      });
      expect(after.cmlDefinitions?.imageDefinitions).toEqual([
        { id: 'iosv-159-3-m8', nodeDefinition: 'iosv' },
        { id: 'csr1000v-17-03-08a', nodeDefinition: 'csr1000v' },
      ]);
      expect(Date.parse(after.cmlDefinitions!.refreshedAt)).toBeGreaterThan(Date.now() - 60_000);
      const request = {
        requirements: { cpuCores: 2, memoryGb: 4, storageGb: 10, nodeCount: 2 },
        licenseAffinity: [],
        podType: 'CML_ON_AWS' as const,
        portsNeeded: 2,
      };
      expect(choosePlacement({ ...request, nodeDefinitions: ['iosv', 'csr1000v'] }, [after]).placed).toBe(
        true,
      );
      expect(choosePlacement({ ...request, nodeDefinitions: ['iosv', 'nxosv9000'] }, [after])).toMatchObject({
        placed: false,
        rejections: { 'node-definitions': 1 },
      });
      await s.workers.transition(w.id, 'RUNNING', 'SHUTTING_DOWN', 'test', 'cleanup');
    } finally {
      await limited.stop();
    }
  });

  it('stores the metrics snapshot (CloudWatch CPU, CML stats) and AVAILABLE for a healthy worker', async () => {
    const w = await workerWithInstance(healthy);
    ec2.cpu[w.ec2InstanceId!] = 37.25;
    const deps = lifecycleDeps(s);
    const result = await healthSweep(deps);
    expect(result.healthy).toContain(w.id);
    const after = await s.workers.get(w.id);
    expect(after.serviceStatus).toBe('AVAILABLE');
    expect(after.metrics).toMatchObject({
      cpuPercent: 37.25,
      cmlReady: true,
      consecutiveFailures: 0,
      memoryTotalGb: 128,
      diskTotalGb: 500,
      runningNodes: 0,
    });
    expect(after.metrics!.cmlVersion).toMatch(/^2\./);
    expect(Date.parse(after.metrics!.collectedAt)).toBeGreaterThan(Date.now() - 60_000);
    // One GetMetricData for the whole fleet, asking CPUUtilization of each instance.
    const calls = ec2.cloudwatch.commandCalls(GetMetricDataCommand);
    expect(calls).toHaveLength(1);
    const queries = calls[0]!.args[0].input.MetricDataQueries ?? [];
    expect(queries.map((q) => q.MetricStat?.Metric?.MetricName)).toContain('CPUUtilization');
    expect(queries.flatMap((q) => q.MetricStat?.Metric?.Dimensions?.map((d) => d.Value))).toContain(
      w.ec2InstanceId,
    );
    await s.workers.transition(w.id, 'RUNNING', 'SHUTTING_DOWN', 'test', 'cleanup');
  });

  it('N consecutive unreachable sweeps: FAILED, instance terminated, sessions failed with WORKER_LOST', async () => {
    const w = await workerWithInstance(sick);
    const waiting = await placedSession(s, w, 2000);
    await s.sessions.update(
      waiting.id,
      { pendingWait: { kind: 'END', taskToken: 'token-end-1', since: new Date().toISOString() } },
      waiting.version,
    );
    const working = await placedSession(s, w, 2001);
    const deps = lifecycleDeps(s);
    sick.setControllerUp(false);

    for (const expected of [1, 2]) {
      const r = await healthSweep(deps);
      expect(r.unhealthy).toContainEqual(
        expect.objectContaining({ workerId: w.id, consecutiveFailures: expected }),
      );
      const now = await s.workers.get(w.id);
      expect(now.status).toBe('RUNNING');
      expect(now.serviceStatus).toBe('UNAVAILABLE');
      expect(now.metrics).toMatchObject({ consecutiveFailures: expected, cmlReady: false });
    }
    expect(ec2.calls(TerminateInstancesCommand)).toEqual([]);

    const third = await healthSweep(deps);
    expect(third.failed).toEqual([
      { workerId: w.id, sessions: expect.arrayContaining([waiting.id, working.id]) },
    ]);
    const failed = await s.workers.get(w.id);
    expect(failed.status).toBe('FAILED');
    expect(failed.stateHistory.at(-1)).toMatchObject({ from: 'RUNNING', to: 'FAILED', by: 'fleet-health' });
    expect(failed.stateHistory.at(-1)!.reason).toMatch(/WORKER_LOST: CML unhealthy for 3 consecutive sweeps/);
    expect(ec2.calls(TerminateInstancesCommand).flatMap((c) => c.InstanceIds as string[])).toEqual([
      w.ec2InstanceId,
    ]);

    for (const id of [waiting.id, working.id]) {
      const session = await s.sessions.getSession(id);
      expect(session.terminationRequestedAt).toBeDefined();
      expect(session.terminationReason).toBe('WORKER_LOST');
    }
    // The parked session's token was failed so its workflow's Catch runs the teardown.
    expect(deps.engine.callsOf('sendTaskFailure')).toEqual([
      expect.objectContaining({ taskToken: 'token-end-1', error: 'Terminated', cause: 'WORKER_LOST' }),
    ]);
    // A FAILED worker is not swept again.
    const fourth = await healthSweep(deps);
    expect(fourth.failed).toEqual([]);
    expect(fourth.unhealthy.map((u) => u.workerId)).not.toContain(w.id);
  });

  it('a healthy answer resets the count; CML up but not ready counts as unhealthy (ERROR)', async () => {
    const w = await workerWithInstance(sick);
    const deps = lifecycleDeps(s);
    sick.setReady(false);
    await healthSweep(deps);
    await healthSweep(deps);
    let now = await s.workers.get(w.id);
    expect(now.metrics?.consecutiveFailures).toBe(2);
    expect(now.serviceStatus).toBe('ERROR');
    sick.setReady(true);
    await healthSweep(deps);
    now = await s.workers.get(w.id);
    expect(now.status).toBe('RUNNING');
    expect(now.serviceStatus).toBe('AVAILABLE');
    expect(now.metrics?.consecutiveFailures).toBe(0);
  });
});
