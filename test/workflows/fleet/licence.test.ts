import { requestWorkerAction, workflowForWorker } from '@lcm/shared/fleet';
import type { Worker } from '@lcm/shared/kernel';
import { TAG_STAGE, TAG_WORKER_ID } from '@lcm/shared/platform';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FakeInstance } from './fake-ec2.ts';
import { type FleetHarness, finished, STAGE, startFleetHarness, statusesOf, trace } from './harness.ts';

/**
 * Licence deregistration when a worker is stopped or terminated (issue 12, item 6e):
 * statemachines/worker-drain.asl.json run locally with the real task handlers over DynamoDB Local,
 * EC2 mocked at the SDK boundary and the CML simulator over HTTP (licensed), its faults injected.
 * The licence is deregistered before StopInstances/TerminateInstances; a failure does not hold
 * the stop and is visible: on the worker, in its history, as the LicenseDeregistrations metric.
 */

let h: FleetHarness;
let n = 0;
/** Whether CML had been asked to deregister when each StopInstances/TerminateInstances came. */
let deregisteredAtShutdown: boolean[] = [];
/** What the handlers printed (EMF metric documents among it). */
let printed: string[] = [];

const deregistrations = () =>
  h.cml.requests().filter((r) => r.method === 'DELETE' && r.path === '/api/v0/licensing/deregistration');

beforeAll(async () => {
  h = await startFleetHarness({ licensed: true });
  const ec2 = h.ec2 as unknown as Record<'stop' | 'terminate', (input: unknown) => unknown>;
  for (const op of ['stop', 'terminate'] as const) {
    const original = ec2[op]!.bind(h.ec2);
    ec2[op] = (input: unknown) => {
      deregisteredAtShutdown.push(deregistrations().length > 0);
      return original(input);
    };
  }
});

afterAll(async () => {
  await h?.close();
});

beforeEach(() => {
  h.cml.clearFaults();
  h.ec2.ec2.resetHistory();
  deregisteredAtShutdown = [];
  printed = [];
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
    printed.push(String(chunk));
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write);
});

afterEach(() => {
  vi.restoreAllMocks();
});

async function runningWorker(
  license: Worker['license'] = { type: 'ENTERPRISE', status: 'REGISTERED' },
): Promise<{ worker: Worker; instance: FakeInstance }> {
  const id = `w-licence-${++n}`;
  const instance = h.ec2.add({ state: 'running', tags: { [TAG_WORKER_ID]: id, [TAG_STAGE]: STAGE } });
  const worker = await h.stores.workers.create({
    id,
    templateName: 'cml',
    status: 'RUNNING',
    serviceStatus: 'AVAILABLE',
    ec2InstanceId: instance.instanceId,
    ipAddress: '127.0.0.1',
    cmlBaseUrl: h.cml.url,
    license,
    declaredCapacity: { cpuCores: 16, memoryGb: 64, storageGb: 500, maxNodes: 50 },
    portRange: { start: 2000, end: 2099 },
  });
  return { worker, instance };
}

async function drain(workerId: string, action: 'stop' | 'terminate') {
  await requestWorkerAction(h.stores, workerId, action, 'operator', 'maintenance');
  const w = await h.stores.workers.get(workerId);
  const wf = workflowForWorker(w);
  const { executionArn } = await h.workflows.startDrain(workerId, action === 'stop' ? 'STOP' : 'TERMINATE', {
    executionName: wf!.executionName,
  });
  const e = await finished(h, executionArn);
  expect(e.status, trace(e)).toBe('SUCCEEDED');
  return h.stores.workers.get(workerId);
}

/** The LicenseDeregistrations data points printed as EMF, by outcome. */
function metricPoints(): string[] {
  const out: string[] = [];
  for (const text of printed) {
    for (const line of text.split('\n')) {
      if (!line.includes('"LicenseDeregistrations"')) continue;
      const doc = JSON.parse(line) as { reason: string; LicenseDeregistrations: number | number[] };
      const values = Array.isArray(doc.LicenseDeregistrations)
        ? doc.LicenseDeregistrations
        : [doc.LicenseDeregistrations];
      for (const _ of values) out.push(doc.reason);
    }
  }
  return out;
}

async function cmlLicensing(): Promise<string> {
  const token = (await (
    await fetch(`${h.cml.url}/authenticate`, {
      method: 'POST',
      body: JSON.stringify({ username: 'admin', password: 'admin-password' }),
    })
  ).json()) as string;
  const res = await fetch(`${h.cml.url}/licensing`, { headers: { authorization: `Bearer ${token}` } });
  return ((await res.json()) as { registration: { status: string } }).registration.status;
}

describe('licence deregistration in the worker drain', () => {
  it('stop: deregistered before StopInstances, recorded on the worker and in its history, counted', async () => {
    const { worker, instance } = await runningWorker();
    const before = deregistrations().length;
    const w = await drain(worker.id, 'stop');

    expect(w.status).toBe('STOPPED');
    expect(deregistrations().length - before).toBe(1);
    expect(deregisteredAtShutdown).toEqual([true]);
    expect(h.ec2.instances.get(instance.instanceId)!.state).toBe('stopped');
    expect(await cmlLicensing()).toBe('NOT_REGISTERED');
    expect(w.license).toEqual({
      type: 'ENTERPRISE',
      status: 'UNREGISTERED',
      deregistration: { at: expect.any(String), outcome: 'DEREGISTERED' },
    });
    expect(statusesOf(w)).toEqual(['RUNNING→DRAINING', 'DRAINING→STOPPING', 'STOPPING→STOPPED']);
    expect(w.stateHistory.at(-1)?.reason).toMatch(/stopped; licence deregistered$/);
    expect(metricPoints()).toEqual(['DEREGISTERED']);
  });

  it('terminate with CML refusing the deregistration: terminated anyway, FAILED recorded with the cause, in the history and the metric', async () => {
    h.cml.injectFault({
      method: 'DELETE',
      path: '^/api/v0/licensing/deregistration$',
      status: 500,
      times: 'always',
    });
    const { worker, instance } = await runningWorker();
    const w = await drain(worker.id, 'terminate');

    expect(w.status).toBe('TERMINATED');
    expect(h.ec2.instances.get(instance.instanceId)!.state).toBe('terminated');
    expect(deregisteredAtShutdown).toEqual([true]);
    expect(w.license).toMatchObject({
      status: 'REGISTERED',
      deregistration: { outcome: 'FAILED', error: expect.stringContaining('500') },
    });
    expect(w.stateHistory.at(-1)?.reason).toMatch(/; licence deregistration FAILED: .*500/);
    expect(metricPoints()).toEqual(['FAILED']);
  });

  it('CML answers 202 (deregistered on the host only): LOCAL_ONLY; attempted once however often the drain steps', async () => {
    h.cml.injectFault({
      method: 'DELETE',
      path: '^/api/v0/licensing/deregistration$',
      status: 202,
      after: true,
    });
    const { worker } = await runningWorker();
    const before = deregistrations().length;
    const w = await drain(worker.id, 'stop');
    expect(w.license).toMatchObject({ status: 'UNREGISTERED', deregistration: { outcome: 'LOCAL_ONLY' } });
    expect(w.stateHistory.at(-1)?.reason).toMatch(/licence deregistered on the host only$/);
    expect(deregistrations().length - before).toBe(1);
    expect(metricPoints()).toEqual(['LOCAL_ONLY']);
  });

  it('an evaluation licence is not deregistered', async () => {
    const { worker } = await runningWorker({ type: 'EVALUATION', status: 'EVALUATION' });
    const before = deregistrations().length;
    const w = await drain(worker.id, 'terminate');
    expect(w.status).toBe('TERMINATED');
    expect(deregistrations().length).toBe(before);
    expect(w.license).toEqual({ type: 'EVALUATION', status: 'EVALUATION' });
    expect(metricPoints()).toEqual([]);
  });
});
