import {
  createSandboxCompute,
  LOCAL_DRAIN_STATE_MACHINE,
  LOCAL_PROVISIONING_STATE_MACHINE,
  type SandboxCompute,
} from '@lcm/sandbox/compute/index';
import { setFleetDepsOverride } from '@lcm/shared/app';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as healthSweep } from '../../../functions/schedules/health-sweep.ts';
import { handler as scaleDown } from '../../../functions/schedules/scale-down.ts';
import { handler as scaleUp } from '../../../functions/schedules/scale-up.ts';
import {
  eventually,
  type FleetHarness,
  failerOf,
  finished,
  startFleetHarness,
  statusesOf,
  trace,
} from './harness.ts';

/**
 * What `npm start` does with the fleet: the schedule handlers (configured from the environment
 * like the Lambdas) act through the Step Functions adapter on the local endpoint, the
 * provisioning and drain workflows run there, and the sandbox compute provider (injected with
 * setFleetDepsOverride, as the local stack does) boots instances each backed by its own CML
 * simulator. A reservation makes the fleet grow; idleness shrinks it.
 */

let h: FleetHarness;
let compute: SandboxCompute;

beforeAll(async () => {
  h = await startFleetHarness();
  compute = createSandboxCompute({ bootSeconds: 0.8, transitionMs: 50 });
  setFleetDepsOverride({ compute, failSessionsOn: failerOf(h.stores, h.sessionEngine) });
  // The sandbox's instances report their own CML endpoint; the URL template is not used.
  h.setEnv('LCM_CML_BASE_URL_TEMPLATE', 'http://unused.invalid/{ip}');
  h.setEnv('WORKFLOW_ENGINE', 'stepfunctions');
  h.setEnv('AWS_ENDPOINT_URL_SFN', h.sfn.endpoint);
  h.setEnv('WORKER_PROVISIONING_STATE_MACHINE_ARN', h.sfn.stateMachineArns[LOCAL_PROVISIONING_STATE_MACHINE]);
  h.setEnv('WORKER_DRAIN_STATE_MACHINE_ARN', h.sfn.stateMachineArns[LOCAL_DRAIN_STATE_MACHINE]);
  await h.stores.templates.create({
    name: 'sandbox-small',
    instanceType: 'm5.2xlarge',
    capacity: { cpuCores: 8, memoryGb: 32, storageGb: 200, maxNodes: 20 },
    amiNamePattern: 'cml-*-sandbox',
    costPerHourUsd: 0.4,
    licenseType: 'ENTERPRISE',
    bootMinutes: 1,
  });
});

afterAll(async () => {
  setFleetDepsOverride(undefined);
  await compute?.stop();
  await h?.close();
});

describe('scaling on the sandbox', () => {
  it('scale-up launches a simulated host that boots CML; scale-down drains and terminates it when idle', async () => {
    const now = Date.now();
    await h.stores.sessions.create({
      id: 's-sandbox-1',
      definitionId: 'ospf',
      definitionVersion: 1,
      reservationId: 'r-sandbox-1',
      owner: { userId: 'u-1' },
      timeslot: { start: new Date(now + 60_000).toISOString(), end: new Date(now + 3_600_000).toISOString() },
      requirements: { cpuCores: 2, memoryGb: 4, storageGb: 10, nodeCount: 2 },
      licenseAffinity: [],
      portTemplate: [],
    });

    const up = await scaleUp({});
    expect(up.actions.map((a) => [a.action.kind, a.outcome])).toEqual([['LAUNCH', 'APPLIED']]);
    const workerId = up.actions[0]!.workerId!;
    const launched = await finished(h, up.actions[0]!.executionArn!);
    expect(launched.status, trace(launched)).toBe('SUCCEEDED');

    const w = await h.stores.workers.get(workerId);
    expect(w.status).toBe('RUNNING');
    expect(w.license.status).toBe('REGISTERED');
    const instance = compute.instances().find((i) => i.instanceId === w.ec2InstanceId)!;
    expect(instance).toMatchObject({ state: 'running', clientToken: workerId });
    expect(w.cmlBaseUrl).toBe(instance.cmlUrl);
    expect(compute.cmlOf(instance.instanceId)).toBeDefined();

    // The health sweep reads the simulated host's CML and CPU.
    const sweep = await healthSweep({});
    expect(sweep.health.healthy).toEqual([workerId]);
    expect(sweep.reconcile.orphansTerminated).toEqual([]);
    const swept = await h.stores.workers.get(workerId);
    expect(swept.metrics).toMatchObject({ cmlReady: true, consecutiveFailures: 0, cpuPercent: 3 });

    // The session went elsewhere (or away): the host is idle and past the grace periods.
    await h.stores.sessions.transition('s-sandbox-1', 'PENDING', 'TERMINATED', 'test', 'cancelled');
    h.setEnv('LCM_SCALE_DOWN_IDLE_SECONDS', '0');
    h.setEnv('LCM_SCALING_POST_LAUNCH_GRACE_SECONDS', '0');
    const down = await scaleDown({});
    expect(down.actions.map((a) => [a.action.kind, a.outcome])).toEqual([['DRAIN', 'APPLIED']]);
    const drained = await finished(h, down.actions[0]!.executionArn!);
    expect(drained.status, trace(drained)).toBe('SUCCEEDED');
    const gone = await h.stores.workers.get(workerId);
    expect(statusesOf(gone)).toEqual([
      'PENDING→PROVISIONING',
      'PROVISIONING→STARTING',
      'STARTING→RUNNING',
      'RUNNING→DRAINING',
      'DRAINING→SHUTTING_DOWN',
      'SHUTTING_DOWN→TERMINATED',
    ]);
    await eventually('instance terminated', async () =>
      compute.instances().find((i) => i.instanceId === w.ec2InstanceId)?.state === 'terminated'
        ? true
        : undefined,
    );
    expect(compute.cmlOf(instance.instanceId)).toBeUndefined();
    expect((await h.stores.scaling.listDecisions()).items.map((d) => d.kind)).toEqual(['DRAIN', 'SCALE_UP']);
  });
});
