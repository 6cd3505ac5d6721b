import { RunInstancesCommand, StartInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import {
  createWorker,
  failStuckProvisioning,
  fleetConfigFromEnv,
  launchExecutionName,
  requestWorkerAction,
  subnetFor,
} from '@lcm/shared/fleet';
import { createEc2Compute, TAG_STAGE, TAG_WORKER_ID } from '@lcm/shared/platform';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  eventually,
  type FleetHarness,
  finished,
  INSTANCE_PROFILE,
  SECURITY_GROUP,
  STAGE,
  SUBNETS,
  startFleetHarness,
  statusesOf,
  trace,
} from './harness.ts';

/**
 * statemachines/worker-provisioning.asl.json run locally (aws-local-stepfunctions behind the
 * local SFN endpoint) with the real task handlers, EC2 mocked at the SDK boundary and CML by the
 * simulator over HTTP: the launch from a template, the start of a stopped worker, and the failure
 * paths, after each of which no instance is left running for a worker that is not RUNNING.
 */

let h: FleetHarness;
let n = 0;

const IMAGES = [
  { ImageId: 'ami-0old', Name: 'cml-2.8.0-lcm', CreationDate: '2025-01-10T00:00:00.000Z' },
  { ImageId: 'ami-0new', Name: 'cml-2.9.1-lcm', CreationDate: '2025-06-01T00:00:00.000Z' },
  { ImageId: 'ami-0other', Name: 'ubuntu-24.04', CreationDate: '2025-07-01T00:00:00.000Z' },
];

beforeAll(async () => {
  h = await startFleetHarness();
  await h.stores.templates.create({
    name: 'cml-pattern',
    instanceType: 'm5zn.metal',
    capacity: { cpuCores: 48, memoryGb: 192, storageGb: 1000, maxNodes: 100 },
    amiNamePattern: 'cml-*-lcm',
    costPerHourUsd: 3.96,
    licenseType: 'ENTERPRISE',
    bootMinutes: 15,
  });
  await h.stores.templates.create({
    name: 'cml-explicit',
    instanceType: 'c5.metal',
    capacity: { cpuCores: 96, memoryGb: 192, storageGb: 1000, maxNodes: 100 },
    amiId: 'ami-0old',
    costPerHourUsd: 4.08,
    licenseType: 'EVALUATION',
    bootMinutes: 15,
  });
  // Fallbacks of cml-pattern when EC2 has no m5zn.metal: they fit its worker (ENTERPRISE, >= its
  // capacity in every dimension), cheapest first.
  await h.stores.templates.create({
    name: 'cml-nested-fallback',
    instanceType: 'm8i.12xlarge',
    virtualisation: 'nested',
    capacity: { cpuCores: 48, memoryGb: 192, storageGb: 1000, maxNodes: 100 },
    amiNamePattern: 'cml-*-lcm',
    costPerHourUsd: 2.54016,
    licenseType: 'ENTERPRISE',
    bootMinutes: 15,
  });
  await h.stores.templates.create({
    name: 'cml-metal-96',
    instanceType: 'm5.metal',
    capacity: { cpuCores: 96, memoryGb: 384, storageGb: 1000, maxNodes: 100 },
    amiNamePattern: 'cml-*-lcm',
    costPerHourUsd: 4.608,
    licenseType: 'ENTERPRISE',
    bootMinutes: 15,
  });
  await h.stores.templates.create({
    name: 'cml-missing',
    instanceType: 'm5.large',
    capacity: { cpuCores: 2, memoryGb: 8, storageGb: 100, maxNodes: 10 },
    amiNamePattern: 'no-such-image-*',
    costPerHourUsd: 0.1,
    licenseType: 'ENTERPRISE',
  });
});

afterAll(async () => {
  await h?.close();
});

beforeEach(async () => {
  h.ec2.images = IMAGES.map((i) => ({ ...i }));
  h.ec2.runErrors = [];
  h.ec2.runAlwaysFails = undefined;
  h.ec2.noCapacityIn = [];
  h.ec2.describesUntilRunning = 1;
  h.ec2.ec2.resetHistory();
  h.setEnv('LCM_CML_READY_TIMEOUT_SECONDS', '30');
  await h.restartCml({});
});

async function newWorker(templateName: string) {
  return createWorker(h.stores, { templateName, id: `w-prov-${++n}` });
}

async function provision(workerId: string) {
  const { executionArn } = await h.workflows.startProvisioning(workerId, {
    executionName: launchExecutionName(workerId),
  });
  return finished(h, executionArn);
}

const liveInstancesOf = (workerId: string) =>
  [...h.ec2.instances.values()].filter(
    (i) => i.tags[TAG_WORKER_ID] === workerId && i.state !== 'terminated' && i.state !== 'shutting-down',
  );

describe('worker-provisioning: launch', () => {
  it('resolves the newest matching AMI, launches with the template and context, polls EC2 and CML, licenses, RUNNING', async () => {
    // The controller answers 502 for a while after the instance runs.
    await h.restartCml({ controllerBootMs: 1500 });
    const worker = await newWorker('cml-pattern');
    const e = await provision(worker.id);
    expect(e.status, trace(e)).toBe('SUCCEEDED');

    const runs = h.ec2.calls(RunInstancesCommand);
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(run.ClientToken).toBe(worker.id);
    expect(run.ImageId).toBe('ami-0new');
    expect(run.InstanceType).toBe('m5zn.metal');
    expect(SUBNETS).toContain(run.SubnetId);
    expect(run.SecurityGroupIds).toEqual([SECURITY_GROUP]);
    expect(run.IamInstanceProfile).toEqual({ Name: INSTANCE_PROFILE });
    expect(Buffer.from(String(run.UserData), 'base64').toString('utf8')).toContain(
      `worker=${worker.id} stage=${STAGE}`,
    );
    const tagSpecs = run.TagSpecifications as Array<{
      ResourceType: string;
      Tags: Array<{ Key: string; Value: string }>;
    }>;
    const instanceTags = Object.fromEntries(
      tagSpecs.find((t) => t.ResourceType === 'instance')!.Tags.map((t) => [t.Key, t.Value]),
    );
    expect(instanceTags[TAG_WORKER_ID]).toBe(worker.id);
    expect(instanceTags[TAG_STAGE]).toBe(STAGE);

    const w = await h.stores.workers.get(worker.id);
    const instance = [...h.ec2.instances.values()].find((i) => i.clientToken === worker.id)!;
    expect(w.status).toBe('RUNNING');
    expect(w.ec2InstanceId).toBe(instance.instanceId);
    expect(w.ipAddress).toBe('127.0.0.1');
    expect(w.cmlBaseUrl).toBe(`http://127.0.0.1:${h.cml.port}/api/v0`);
    expect(w.amiId).toBe('ami-0new');
    expect(w.amiName).toBe('cml-2.9.1-lcm');
    expect(Date.parse(w.launchedAt!)).toBeGreaterThan(Date.parse(worker.createdAt));
    expect(w.serviceStatus).toBe('AVAILABLE');
    expect(w.license).toEqual({ type: 'ENTERPRISE', status: 'REGISTERED' });
    expect(w.metrics?.cmlVersion).toMatch(/^2\./);
    expect(statusesOf(w)).toEqual(['PENDING→PROVISIONING', 'PROVISIONING→STARTING', 'STARTING→RUNNING']);

    // CML answered 502 while its controller booted, then ready; the license was registered.
    const info = h.cml.requests().filter((r) => r.path.endsWith('/system_information'));
    expect(info.some((r) => r.status === 502)).toBe(true);
    expect(info.at(-1)!.status).toBe(200);
    expect(
      h.cml.requests().some((r) => r.method === 'POST' && r.path.endsWith('/licensing/registration')),
    ).toBe(true);
    expect(e.states).toContain('WaitForCml');
    expect(e.states.filter((s) => s === 'CheckInstance').length).toBeGreaterThanOrEqual(2);
  });

  it('an explicit AMI id is used as is; an EVALUATION template registers no license', async () => {
    const worker = await newWorker('cml-explicit');
    const e = await provision(worker.id);
    expect(e.status, trace(e)).toBe('SUCCEEDED');
    expect(h.ec2.calls(RunInstancesCommand)[0]!.ImageId).toBe('ami-0old');
    const w = await h.stores.workers.get(worker.id);
    expect(w.status).toBe('RUNNING');
    expect(w.license).toEqual({ type: 'EVALUATION', status: 'EVALUATION' });
    expect(h.cml.requests().some((r) => r.path.endsWith('/licensing/registration'))).toBe(false);
  });

  it('a repeated start of the same launch is the same execution, and RunInstances stays idempotent', async () => {
    const worker = await newWorker('cml-explicit');
    const a = await h.workflows.startProvisioning(worker.id, {
      executionName: launchExecutionName(worker.id),
    });
    const b = await h.workflows.startProvisioning(worker.id, {
      executionName: launchExecutionName(worker.id),
    });
    expect(b.executionArn).toBe(a.executionArn);
    const e = await finished(h, a.executionArn);
    expect(e.status, trace(e)).toBe('SUCCEEDED');
    const again = await h.workflows.startProvisioning(worker.id, {
      executionName: launchExecutionName(worker.id),
    });
    expect(again.executionArn).toBe(a.executionArn);
    expect(h.sfn.executions().filter((x) => x.name === launchExecutionName(worker.id))).toHaveLength(1);
    expect(h.ec2.calls(RunInstancesCommand)).toHaveLength(1);
  });
});

describe('worker-provisioning: failures leave no instance behind', () => {
  it('AMI not found: FAILED with the reason, nothing launched', async () => {
    const worker = await newWorker('cml-missing');
    const e = await provision(worker.id);
    expect(e.status).toBe('FAILED');
    expect(e.error).toBe('Fleet.ImageNotFound');
    expect(e.cause).toContain('no-such-image-*');
    expect(h.ec2.calls(RunInstancesCommand)).toHaveLength(0);
    const w = await h.stores.workers.get(worker.id);
    expect(w.status).toBe('FAILED');
    expect(w.stateHistory.at(-1)).toMatchObject({ from: 'PENDING', to: 'FAILED' });
    expect(w.stateHistory.at(-1)!.reason).toContain('Fleet.ImageNotFound');
    expect(liveInstancesOf(worker.id)).toHaveLength(0);
  });

  it('an explicit AMI id that does not exist: FAILED, nothing launched', async () => {
    h.ec2.images = h.ec2.images.filter((i) => i.ImageId !== 'ami-0old');
    const worker = await newWorker('cml-explicit');
    const e = await provision(worker.id);
    expect(e.status).toBe('FAILED');
    expect(e.error).toBe('Fleet.ImageNotFound');
    expect(h.ec2.calls(RunInstancesCommand)).toHaveLength(0);
    expect((await h.stores.workers.get(worker.id)).status).toBe('FAILED');
  });

  it('EC2 insufficient capacity everywhere: every subnet, then the fitting templates, retried, then FAILED with no instance', async () => {
    h.ec2.runAlwaysFails = 'InsufficientInstanceCapacity';
    const worker = await newWorker('cml-pattern');
    const own = subnetFor(worker.id, SUBNETS)!;
    const other = SUBNETS.find((x) => x !== own)!;
    const e = await provision(worker.id);
    expect(e.status).toBe('FAILED');
    expect(e.error).toBe('Fleet.InsufficientCapacity');
    // Each of the three attempts (the first and the ASL's two retries) goes through the same plan:
    // the worker's own template in its subnet then the other, then the two fitting templates,
    // cheapest first, each in both subnets; one ClientToken per candidate, the first the worker id.
    const plan = [
      ['m5zn.metal', own, worker.id],
      ['m5zn.metal', other, `${worker.id}~1`],
      ['m8i.12xlarge', own, `${worker.id}~2`],
      ['m8i.12xlarge', other, `${worker.id}~3`],
      ['m5.metal', own, `${worker.id}~4`],
      ['m5.metal', other, `${worker.id}~5`],
    ];
    const runs = h.ec2.calls(RunInstancesCommand);
    expect(runs.map((r) => [r.InstanceType, r.SubnetId, r.ClientToken])).toEqual([...plan, ...plan, ...plan]);
    const w = await h.stores.workers.get(worker.id);
    expect(w.status).toBe('FAILED');
    expect(w.templateName).toBe('cml-pattern');
    expect(w.ec2InstanceId).toBeUndefined();
    expect(w.stateHistory.at(-1)!.reason).toContain('InsufficientInstanceCapacity');
    // The failed attempts are kept on the worker (the newest ten of the eighteen).
    expect(w.launchFailures).toHaveLength(10);
    expect(w.launchFailures!.every((f) => f.error === 'InsufficientInstanceCapacity')).toBe(true);
    expect(w.launchFailures!.at(-1)).toMatchObject({
      templateName: 'cml-metal-96',
      instanceType: 'm5.metal',
      subnetId: other,
    });
    expect(liveInstancesOf(worker.id)).toHaveLength(0);
  });

  it('InsufficientInstanceCapacity in the first subnet: launched in the second at once, the failure recorded, the boot recorded', async () => {
    const worker = await newWorker('cml-pattern');
    const own = subnetFor(worker.id, SUBNETS)!;
    const other = SUBNETS.find((x) => x !== own)!;
    h.ec2.noCapacityIn = [{ subnetId: own }];
    const e = await provision(worker.id);
    expect(e.status, trace(e)).toBe('SUCCEEDED');
    const runs = h.ec2.calls(RunInstancesCommand);
    expect(runs.map((r) => [r.InstanceType, r.SubnetId, r.ClientToken])).toEqual([
      ['m5zn.metal', own, worker.id],
      ['m5zn.metal', other, `${worker.id}~1`],
    ]);
    // A metal template: no nested virtualisation asked for.
    expect(runs[1]!.CpuOptions).toBeUndefined();
    const w = await h.stores.workers.get(worker.id);
    expect(w.status).toBe('RUNNING');
    expect(w.templateName).toBe('cml-pattern');
    expect(h.ec2.instances.get(w.ec2InstanceId!)!.subnetId).toBe(other);
    expect(w.launchFailures).toEqual([
      expect.objectContaining({
        templateName: 'cml-pattern',
        instanceType: 'm5zn.metal',
        subnetId: own,
        error: 'InsufficientInstanceCapacity',
      }),
    ]);
    expect(w.stateHistory[0]!.reason).toMatch(new RegExp(`in ${other}\\) after 1 capacity failure`));
    // launch → ready recorded for the scaler's observed boot durations.
    const ready = w.stateHistory.at(-1)!;
    expect(ready.to).toBe('RUNNING');
    expect(w.boots).toEqual([
      {
        kind: 'LAUNCH',
        templateName: 'cml-pattern',
        launchedAt: w.launchedAt,
        readyAt: ready.at,
        seconds: (Date.parse(ready.at) - Date.parse(w.launchedAt!)) / 1000,
      },
    ]);
    expect(w.boots![0]!.seconds).toBeGreaterThan(0);
  });

  it('no m5zn.metal in any subnet: the next-cheapest fitting template (nested m8i) is launched with nested virtualisation enabled', async () => {
    h.ec2.noCapacityIn = [{ instanceType: 'm5zn.metal' }];
    const worker = await newWorker('cml-pattern');
    const own = subnetFor(worker.id, SUBNETS)!;
    const e = await provision(worker.id);
    expect(e.status, trace(e)).toBe('SUCCEEDED');
    const runs = h.ec2.calls(RunInstancesCommand);
    expect(runs.map((r) => r.InstanceType)).toEqual(['m5zn.metal', 'm5zn.metal', 'm8i.12xlarge']);
    // At the SDK boundary: EC2's CpuOptions.NestedVirtualization, in its own subnet again.
    expect(runs[2]!.CpuOptions).toEqual({ NestedVirtualization: 'enabled' });
    expect(runs[2]!.SubnetId).toBe(own);
    const tags = (
      runs[2]!.TagSpecifications as Array<{
        ResourceType: string;
        Tags: Array<{ Key: string; Value: string }>;
      }>
    )
      .find((t) => t.ResourceType === 'instance')!
      .Tags.find((t) => t.Key === 'lcm:template');
    expect(tags?.Value).toBe('cml-nested-fallback');
    const w = await h.stores.workers.get(worker.id);
    expect(w).toMatchObject({
      status: 'RUNNING',
      templateName: 'cml-nested-fallback',
      declaredCapacity: { cpuCores: 48, memoryGb: 192, storageGb: 1000, maxNodes: 100 },
      amiId: 'ami-0new',
    });
    expect(w.launchFailures?.map((f) => f.instanceType)).toEqual(['m5zn.metal', 'm5zn.metal']);
    expect(w.stateHistory[0]!.reason).toContain('template cml-pattern → cml-nested-fallback');
    expect(w.boots?.[0]).toMatchObject({ kind: 'LAUNCH', templateName: 'cml-nested-fallback' });
  });

  it('insufficient capacity once: the retry launches and the worker runs', async () => {
    h.ec2.runErrors = ['InsufficientInstanceCapacity'];
    const worker = await newWorker('cml-explicit');
    const e = await provision(worker.id);
    expect(e.status, trace(e)).toBe('SUCCEEDED');
    expect(h.ec2.calls(RunInstancesCommand)).toHaveLength(2);
    expect((await h.stores.workers.get(worker.id)).status).toBe('RUNNING');
  });

  it('CML never ready within the bound: the instance is terminated and the worker FAILED', async () => {
    await h.restartCml({ ready: false });
    h.setEnv('LCM_CML_READY_TIMEOUT_SECONDS', '1');
    const worker = await newWorker('cml-pattern');
    const e = await provision(worker.id);
    expect(e.status).toBe('FAILED');
    expect(e.error).toBe('Fleet.CmlNotReady');
    const w = await h.stores.workers.get(worker.id);
    expect(w.status).toBe('FAILED');
    expect(statusesOf(w)).toEqual(['PENDING→PROVISIONING', 'PROVISIONING→STARTING', 'STARTING→FAILED']);
    expect(w.stateHistory.at(-1)!.reason).toContain('Fleet.CmlNotReady');
    expect(w.serviceStatus).toBe('UNAVAILABLE');
    const terminated = h.ec2.calls(TerminateInstancesCommand).flatMap((c) => c.InstanceIds as string[]);
    expect(terminated).toContain(w.ec2InstanceId);
    expect(liveInstancesOf(worker.id)).toHaveLength(0);
    expect(e.states.filter((s) => s === 'CheckCml').length).toBeGreaterThanOrEqual(2);
  });

  it('the instance never reaches running: terminated, FAILED with InstanceNotRunning', async () => {
    h.setEnv('LCM_INSTANCE_RUNNING_TIMEOUT_SECONDS', '1');
    h.ec2.describesUntilRunning = 1_000_000;
    try {
      const worker = await newWorker('cml-explicit');
      const e = await provision(worker.id);
      expect(e.status).toBe('FAILED');
      expect(e.error).toBe('Fleet.InstanceNotRunning');
      const w = await h.stores.workers.get(worker.id);
      expect(statusesOf(w)).toEqual(['PENDING→PROVISIONING', 'PROVISIONING→FAILED']);
      expect(liveInstancesOf(worker.id)).toHaveLength(0);
    } finally {
      h.setEnv('LCM_INSTANCE_RUNNING_TIMEOUT_SECONDS', '30');
    }
  });

  it('terminate requested while provisioning: the instance is terminated and the worker TERMINATED', async () => {
    await h.restartCml({ ready: false });
    const worker = await newWorker('cml-explicit');
    const { executionArn } = await h.workflows.startProvisioning(worker.id, {
      executionName: launchExecutionName(worker.id),
    });
    // Wait until it polls CML, then terminate through the API's command.
    for (let i = 0; i < 400; i++) {
      if ((await h.stores.workers.get(worker.id)).status === 'STARTING') break;
      await new Promise((r) => setTimeout(r, 25));
    }
    await requestWorkerAction(h.stores, worker.id, 'terminate', 'operator', 'not needed');
    const e = await finished(h, executionArn);
    expect(e.status, trace(e)).toBe('SUCCEEDED');
    expect(e.states.at(-1)).toBe('Cancelled');
    const w = await h.stores.workers.get(worker.id);
    expect(w.status).toBe('TERMINATED');
    expect(statusesOf(w).slice(-2)).toEqual(['STARTING→SHUTTING_DOWN', 'SHUTTING_DOWN→TERMINATED']);
    expect(liveInstancesOf(worker.id)).toHaveLength(0);
  });
});

describe('worker-provisioning: start a stopped worker', () => {
  it('STOPPED → STARTING (API start) → StartInstances → polls → RUNNING with the new address', async () => {
    const template = await h.stores.templates.get('cml-explicit');
    const instance = h.ec2.add({
      state: 'stopped',
      tags: { [TAG_WORKER_ID]: 'w-stopped-1', [TAG_STAGE]: STAGE },
    });
    await h.stores.workers.create({
      id: 'w-stopped-1',
      templateName: template.name,
      status: 'STOPPED',
      ec2InstanceId: instance.instanceId,
      ipAddress: '10.9.9.9',
      license: { type: 'EVALUATION', status: 'EVALUATION' },
      declaredCapacity: template.capacity,
      portRange: template.portRange,
      launchedAt: '2025-01-01T00:00:00.000Z',
    });
    const started = await requestWorkerAction(h.stores, 'w-stopped-1', 'start', 'operator');
    expect(started.status).toBe('STARTING');
    const { executionArn } = await h.workflows.startProvisioning('w-stopped-1', {
      executionName: `w-stopped-1-start-${started.stateHistory.length - 1}`,
    });
    const e = await finished(h, executionArn);
    expect(e.status, trace(e)).toBe('SUCCEEDED');
    expect(e.states).toContain('StartInstance');
    expect(e.states).not.toContain('LaunchInstance');
    expect(h.ec2.calls(StartInstancesCommand).map((c) => c.InstanceIds)).toEqual([[instance.instanceId]]);
    expect(h.ec2.calls(RunInstancesCommand)).toHaveLength(0);
    const w = await h.stores.workers.get('w-stopped-1');
    expect(w.status).toBe('RUNNING');
    expect(w.ipAddress).toBe('127.0.0.1');
    expect(w.cmlBaseUrl).toBe(`http://127.0.0.1:${h.cml.port}/api/v0`);
    expect(Date.parse(w.launchedAt!)).toBeGreaterThan(Date.parse('2025-01-02T00:00:00.000Z'));
    expect(statusesOf(w)).toEqual(['STOPPED→STARTING', 'STARTING→RUNNING']);
  });

  it('a RUNNING worker: nothing to do', async () => {
    const worker = await newWorker('cml-explicit');
    const first = await provision(worker.id);
    expect(first.status).toBe('SUCCEEDED');
    const { executionArn } = await h.workflows.startProvisioning(worker.id);
    const e = await finished(h, executionArn);
    expect(e.status).toBe('SUCCEEDED');
    expect(e.states).toEqual(['Prepare', 'Route', 'NothingToDo']);
  });
});

describe('worker-provisioning: an execution that stops mid-way (issue 10, item 5)', () => {
  it('the health sweep past the bound: the instance terminated, the worker FAILED with ProvisioningTimedOut', async () => {
    // CML never becomes ready: the execution polls it with the worker STARTING and an instance up.
    await h.restartCml({ ready: false });
    const worker = await newWorker('cml-pattern');
    const { executionArn } = await h.workflows.startProvisioning(worker.id, {
      executionName: launchExecutionName(worker.id),
    });
    const starting = await eventually('the worker STARTING with its instance', async () => {
      const w = await h.stores.workers.get(worker.id);
      return w.status === 'STARTING' && w.ec2InstanceId ? w : undefined;
    });
    // The execution dies mid-way (as after an abort, a time-out or an exhausted Lambda retry).
    h.sfn.engine.stopExecution({ executionArn, error: 'States.Aborted', cause: 'stopped by the test' });
    const stopped = await finished(h, executionArn);
    expect(stopped.status).toBe('ABORTED');
    expect((await h.stores.workers.get(worker.id)).status).toBe('STARTING');
    expect(liveInstancesOf(worker.id).map((i) => i.instanceId)).toEqual([starting.ec2InstanceId]);

    const config = fleetConfigFromEnv(process.env);
    const deps = {
      workers: h.stores.workers,
      templates: h.stores.templates,
      compute: createEc2Compute(),
      workflows: h.workflows,
      config,
    };
    // Within the bound nothing happens.
    const early = await failStuckProvisioning(deps);
    expect(early.failed).toEqual([]);
    expect((await h.stores.workers.get(worker.id)).status).toBe('STARTING');

    // Past it (the template's own bounds plus a sweep period, above the configured hour here: the
    // workflow's instance-running 30 s + CML-ready 30 s + 300 s < 3600 s): FAILED, terminated.
    const later = new Date(Date.parse(worker.createdAt) + (config.provisioningBoundSeconds + 1) * 1000);
    const result = await failStuckProvisioning({ ...deps, clock: () => later });
    expect(result.failed).toEqual([
      {
        workerId: worker.id,
        execution: 'ABORTED',
        outcome: 'FAILED',
        terminatedInstances: [starting.ec2InstanceId],
      },
    ]);
    const w = await h.stores.workers.get(worker.id);
    expect(w.status).toBe('FAILED');
    expect(w.stateHistory.at(-1)).toMatchObject({
      from: 'STARTING',
      to: 'FAILED',
      by: 'worker-provisioning',
    });
    expect(w.stateHistory.at(-1)!.reason).toMatch(
      /^ProvisioningTimedOut: still STARTING \d+ s after its provisioning began \(bound 3600 s\); provisioning execution ABORTED/,
    );
    expect(h.ec2.calls(TerminateInstancesCommand).map((c) => c.InstanceIds)).toContainEqual([
      starting.ec2InstanceId,
    ]);
    expect(liveInstancesOf(worker.id)).toHaveLength(0);
    // A second sweep finds nothing more to do.
    expect((await failStuckProvisioning({ ...deps, clock: () => later })).failed).toEqual([]);
  });
});
