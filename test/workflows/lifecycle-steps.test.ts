import { lifecycleConfigFromEnv, lifecycleDepsFromEnv } from '@lcm/shared/app';
import { VersionConflictError } from '@lcm/shared/kernel';
import { IntegrationError } from '@lcm/shared/platform';
import type { SessionStepDeps } from '@lcm/shared/sessions';
import {
  archiveLdsStep,
  beginTeardownStep,
  causeMessage,
  checkScheduleStep,
  completeTeardownStep,
  deleteLabStep,
  importLabStep,
  ldsDevices,
  observedPorts,
  PLACEMENT_WINDOW_WAIT_MAX_SECONDS,
  placeStep,
  protocolOf,
  reasonForError,
  releaseCapacityStep,
  SCHEDULE_CHECK_MAX_SECONDS,
  teardownReason,
  toWorkflowError,
} from '@lcm/shared/sessions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, newSession, REQUIREMENTS, startHarness, WORKER_IP } from './harness.ts';

/**
 * The task commands called directly (no state machine), with the dependencies the handlers
 * build from the environment: what a retried or repeated task does, and the pure helpers.
 */

let h: Harness;
let deps: SessionStepDeps;

beforeAll(async () => {
  h = await startHarness();
  deps = lifecycleDepsFromEnv(process.env);
});
afterAll(async () => {
  await h?.close();
});

const errorName = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return (e as Error).name;
  }
  return 'no error';
};

describe('placement steps', () => {
  it('not placed: exponential backoff, never past the timeslot end; NoCapacity once it is over', async () => {
    const session = await newSession(h, { seconds: 3, requirements: { ...REQUIREMENTS, cpuCores: 64 } });
    const config = { ...deps.config, placementRetryBaseSeconds: 1, placementRetryMaxSeconds: 60 };
    const d = { ...deps, config };
    const first = await placeStep(d, { sessionId: session.id, attempt: 0 });
    expect(first).toMatchObject({ placed: false, attempt: 1, retryAfterSeconds: 1, instantiateAt: null });
    const later = await placeStep(d, { sessionId: session.id, attempt: 5 });
    expect(later.retryAfterSeconds).toBeLessThanOrEqual(3); // 32 s of backoff, capped at the timeslot end
    const afterEnd = { ...d, clock: () => new Date(Date.parse(session.timeslot.end) + 1) };
    expect(await errorName(placeStep(afterEnd, { sessionId: session.id, attempt: 6 }))).toBe('NoCapacity');
    await h.stores.sessions.transition(session.id, 'PENDING', 'TERMINATED', 'test');
    expect(await errorName(placeStep(d, { sessionId: session.id }))).toBe('Terminated');
  });

  it('before the placement window: places nothing, keeps the attempt count, sleeps until the window (at most 7 days a Wait)', async () => {
    const lead = deps.config.placementLeadSeconds;
    const now = Date.now();
    const still = { ...deps, clock: () => new Date(now) };
    const cpuBefore = (await h.stores.workers.get(h.worker.id)).allocatedCapacity.cpuCores;
    const soon = await newSession(h, { startInSeconds: lead + 3600 });
    const early = await placeStep(still, { sessionId: soon.id, attempt: 0 });
    const opensAt = Date.parse(soon.timeslot.start) - lead * 1000;
    expect(early).toEqual({
      placed: false,
      workerId: null,
      attempt: 0,
      retryAfterSeconds: Math.ceil((opensAt - now) / 1000),
      instantiateAt: null,
    });
    const untouched = await h.stores.sessions.getSession(soon.id);
    expect(untouched).toMatchObject({ status: 'PENDING', version: soon.version });
    expect(untouched.workerId).toBeUndefined();
    expect((await h.stores.workers.get(h.worker.id)).allocatedCapacity.cpuCores).toBe(cpuBefore);

    const farAhead = await newSession(h, { startInSeconds: 30 * 86_400 });
    expect((await placeStep(still, { sessionId: farAhead.id })).retryAfterSeconds).toBe(
      PLACEMENT_WINDOW_WAIT_MAX_SECONDS,
    );
    // At the window it places.
    const atWindow = { ...deps, clock: () => new Date(opensAt) };
    expect(await placeStep(atWindow, { sessionId: soon.id })).toMatchObject({ placed: true, attempt: 1 });
    await releaseCapacityStep(deps, { sessionId: soon.id });
  });

  it('CheckSchedule: due at the instantiate time; before that wakes within the check interval', async () => {
    const session = await newSession(h);
    // The step's clock stands still, so a slow machine cannot move the wake-up past the bound.
    const now = Date.now();
    const still = { ...deps, clock: () => new Date(now) };
    const soon = new Date(now + 60_000).toISOString();
    const far = new Date(now + 3_600_000).toISOString();
    expect((await checkScheduleStep(still, { sessionId: session.id, instantiateAt: soon })).due).toBe(false);
    const wait = await checkScheduleStep(still, { sessionId: session.id, instantiateAt: far });
    expect(wait.due).toBe(false);
    // The check interval from now, rounded up to the whole second Wait's TimestampPath takes.
    expect(Date.parse(wait.wakeAt) - now).toBeGreaterThanOrEqual(SCHEDULE_CHECK_MAX_SECONDS * 1000);
    expect(Date.parse(wait.wakeAt) - now).toBeLessThan((SCHEDULE_CHECK_MAX_SECONDS + 1) * 1000);
    expect(wait.wakeAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(
      (await checkScheduleStep(still, { sessionId: session.id, instantiateAt: session.timeslot.start })).due,
    ).toBe(true);
  });
});

describe('a placed session, stepped by hand', () => {
  it('ImportLab retried after a lost cmlLabId finds its lab by title instead of importing twice; teardown steps repeat harmlessly', async () => {
    const session = await newSession(h);
    const placed = await placeStep(deps, { sessionId: session.id });
    expect(placed.placed).toBe(true);
    const first = await importLabStep(deps, { sessionId: session.id });
    const s = await h.stores.sessions.getSession(session.id);
    await h.stores.sessions.update(session.id, { cmlLabId: null }, s.version);
    const again = await importLabStep(deps, { sessionId: session.id });
    expect(again.cmlLabId).toBe(first.cmlLabId);
    expect(h.cml.labs().map((l) => l.id)).toEqual([first.cmlLabId]);

    // The teardown, every step twice (a retry after a crash half-way must not fail or double-count).
    const worker = await h.stores.workers.get(h.worker.id);
    expect(worker.allocatedCapacity.cpuCores).toBe(REQUIREMENTS.cpuCores);
    const failure = { reason: 'TERMINATED' as const };
    for (let i = 0; i < 2; i++) {
      expect(await beginTeardownStep(deps, { sessionId: session.id, failure, error: null })).toMatchObject({
        reason: 'TERMINATED',
      });
      expect((await deleteLabStep(deps, { sessionId: session.id })).deleted).toBe(i === 0);
      expect((await releaseCapacityStep(deps, { sessionId: session.id })).released).toBe(i === 0);
      await archiveLdsStep(deps, { sessionId: session.id });
      await completeTeardownStep(deps, { sessionId: session.id, detail: null });
    }
    const { session: done, history } = await h.stores.sessions.get(session.id);
    expect(done).toMatchObject({ status: 'TERMINATED', failureReason: 'TERMINATED' });
    expect(history.map((e) => e.to)).toEqual(['SCHEDULED', 'INSTANTIATING', 'TERMINATED']);
    expect(h.cml.labs()).toEqual([]);
    expect((await h.stores.workers.get(h.worker.id)).allocatedCapacity.cpuCores).toBe(0);
    expect(await h.stores.leases.listByWorker(h.worker.id)).toEqual([]);
  });
});

describe('helpers', () => {
  it('maps errors to the names the state machine matches, and caught errors to failure reasons', () => {
    expect(toWorkflowError(new VersionConflictError('LabletSession', 's')).name).toBe('Transient');
    const unavailable = new IntegrationError('503', {
      service: 'cml',
      operation: 'x',
      code: 'SERVER_ERROR',
      status: 503,
    });
    expect(toWorkflowError(unavailable).name).toBe('Transient');
    const rejected = new IntegrationError('400', {
      service: 'cml',
      operation: 'x',
      code: 'BAD_REQUEST',
      status: 400,
    });
    expect(toWorkflowError(rejected).name).toBe('IntegrationError');
    expect(reasonForError('CmlImportRejected')).toBe('CML_IMPORT_FAILED');
    expect(reasonForError('Lambda.Unknown')).toBe('WORKFLOW_ERROR');
    expect(causeMessage(JSON.stringify({ errorType: 'X', errorMessage: 'why' }))).toBe('why');
    expect(causeMessage('plain')).toBe('plain');
    expect(teardownReason({ failure: null, error: { Error: 'Terminated', Cause: 'ops' } })).toEqual({
      reason: 'TERMINATED',
      detail: 'ops',
    });
    expect(teardownReason({ failure: { reason: 'NO_SHOW' }, error: null })).toEqual({
      reason: 'NO_SHOW',
      detail: undefined,
    });
    expect(teardownReason({ failure: null, error: null }).reason).toBeNull();
  });

  it('LDS devices: one per port template entry at the worker IP and its leased port', () => {
    expect(protocolOf({ kind: 'serial', insidePort: 0 })).toBe('telnet');
    expect(protocolOf({ kind: 'tcp', insidePort: 22 })).toBe('ssh');
    expect(protocolOf({ kind: 'tcp', insidePort: 8080 })).toBe('tcp');
    expect(protocolOf({ kind: 'vnc' })).toBe('vnc');
    expect(
      ldsDevices(
        {
          id: 's',
          portTemplate: [
            { name: 'R1_serial', nodeLabel: 'R1', kind: 'serial', insidePort: 0 },
            { name: 'R1_vnc', nodeLabel: 'R1', kind: 'vnc' },
          ],
          allocatedPorts: { R1_serial: 5001, R1_vnc: 5002 },
        },
        { id: 'w', ipAddress: WORKER_IP },
        { devices: [{ name: 'R1', portName: 'R1_vnc', username: 'cisco', password: 'cisco' }] },
      ),
    ).toEqual([
      // One device for the node: the port its definition device names first, then the console.
      {
        name: 'R1',
        host: WORKER_IP,
        port: 5002,
        protocol: 'vnc',
        username: 'cisco',
        password: 'cisco',
        ports: [
          { name: 'R1_vnc', port: 5002, protocol: 'vnc' },
          { name: 'R1_serial', port: 5001, protocol: 'telnet' },
        ],
      },
    ]);
  });

  it('LDS devices: one per console-bearing node of a multi-vendor lab, carrying all its ports (issue 11, item 2)', () => {
    // Derived consoles (no tags: node ids, labels that repeat), an author-tagged node, no device for
    // the unmanaged switch or the external connector (they have no port template entry).
    const derived = (nodeId: string, nodeLabel: string, kind: 'serial' | 'vnc', name: string) => ({
      name,
      nodeLabel,
      nodeId,
      kind,
      derived: true,
      ...(kind === 'serial' ? { insidePort: 0 } : {}),
    });
    const portTemplate = [
      derived('n0', 'iosv-0', 'serial', 'iosv-0_serial'),
      derived('n1', 'desktop', 'serial', 'n1_serial'),
      derived('n1', 'desktop', 'vnc', 'n1_vnc'),
      // A second node labelled "desktop": its own device.
      derived('n2', 'desktop', 'serial', 'n2_serial'),
      derived('n2', 'desktop', 'vnc', 'n2_vnc'),
      { name: 'xr_ssh', nodeLabel: 'xr', kind: 'tcp' as const, insidePort: 22 },
      { name: 'xr_serial', nodeLabel: 'xr', kind: 'serial' as const, insidePort: 0 },
    ];
    const allocatedPorts = Object.fromEntries(portTemplate.map((e, i) => [e.name, 6000 + i]));
    const devices = ldsDevices(
      { id: 's', portTemplate, allocatedPorts },
      { id: 'w', ipAddress: WORKER_IP },
      { devices: [{ name: 'XRv 9000', portName: 'xr_ssh', username: 'admin', password: 'admin' }] },
    );
    expect(devices.map((d) => [d.name, d.port, d.protocol, d.ports?.map((p) => p.name)])).toEqual([
      ['iosv-0', 6000, 'telnet', ['iosv-0_serial']],
      // No definition device: the serial console is the main port, VNC the second.
      ['desktop', 6001, 'telnet', ['n1_serial', 'n1_vnc']],
      ['desktop', 6003, 'telnet', ['n2_serial', 'n2_vnc']],
      // The author's device names the SSH port: it leads, the console follows.
      ['XRv 9000', 6005, 'ssh', ['xr_ssh', 'xr_serial']],
    ]);
    expect(devices.at(-1)).toMatchObject({ username: 'admin', password: 'admin', host: WORKER_IP });
    expect(devices[1]!.ports).toEqual([
      { name: 'n1_serial', port: 6001, protocol: 'telnet' },
      { name: 'n1_vnc', port: 6002, protocol: 'vnc' },
    ]);
    // Every leased port reaches the learner, each exactly once.
    expect(devices.flatMap((d) => d.ports!.map((p) => p.port)).sort()).toEqual(
      Object.values(allocatedPorts).sort(),
    );
  });

  it('reads observed ports from node tags with the template names; a malformed tag is reported', () => {
    const node = (label: string, tags: string[]) => ({ id: label, label, node_definition: 'iol-xe', tags });
    expect(
      observedPorts([node('R1', ['serial:5001', 'pat:5002:22', 'other']), node('R2', ['serial:5003'])]),
    ).toEqual({
      ports: { R1_serial: 5001, R1_ssh: 5002, R2_serial: 5003 },
    });
    expect(observedPorts([node('R1', ['serial:notaport'])]).error).toMatch(/malformed PATty tag/);
  });

  it('reads timing from the environment and rejects nonsense', () => {
    expect(lifecycleConfigFromEnv({ LCM_GRADING_TIMEOUT_SECONDS: '90' }).gradingTimeoutSeconds).toBe(90);
    expect(() => lifecycleConfigFromEnv({ LCM_LAB_BOOT_TIMEOUT_SECONDS: '0' })).toThrow(
      /LCM_LAB_BOOT_TIMEOUT_SECONDS/,
    );
  });
});
