import { createStores, type Stores } from '@lcm/shared/app';
import {
  DEFAULT_SCALING_CONFIG,
  runScaleDown,
  runScaleUp,
  SCALE_DOWN_SCOPE,
  SCALE_UP_SCOPE,
  type ScalingConfig,
  type ScalingDeps,
  scalingConfigFromEnv,
} from '@lcm/shared/fleet';
import type { Worker } from '@lcm/shared/kernel';
import { ValidationError } from '@lcm/shared/kernel';
import { RecordingFleetWorkflows } from '@lcm/shared/platform';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { newSession, newTemplate, newWorker } from '../persistence/builders.ts';

/**
 * The scalers (fleet/scalers.ts) over DynamoDB Local with the recording fleet workflows: they
 * gather the planners' inputs from the stores, act (workers created / transitioned, workflows
 * started under deterministic names), record every decision, respect the cooldown, and of two
 * concurrent runs only one acts.
 */

let t: TestTable;
let s: Stores;
let workflows: RecordingFleetWorkflows;
let now: Date;

const NOW = Date.parse('2031-03-01T09:00:00.000Z');
const at = (minutes: number) => new Date(NOW + minutes * 60_000).toISOString();

beforeEach(async () => {
  t = await createTestTable('fleet-scaling');
  s = createStores({ client: t.client, tableName: t.tableName });
  workflows = new RecordingFleetWorkflows();
  now = new Date(NOW);
  await s.templates.create(
    newTemplate({
      name: 'small',
      capacity: { cpuCores: 16, memoryGb: 64, storageGb: 500, maxNodes: 40 },
      costPerHourUsd: 1.2,
      bootMinutes: 15,
    }),
  );
});

afterEach(async () => {
  await t.cleanup();
});

const deps = (over: Partial<ScalingConfig> = {}, extra: Partial<ScalingDeps> = {}): ScalingDeps => ({
  workers: s.workers,
  templates: s.templates,
  sessions: s.sessions,
  scaling: s.scaling,
  workflows,
  config: { ...DEFAULT_SCALING_CONFIG, ...over },
  clock: () => now,
  ...extra,
});

const REQ = { cpuCores: 4, memoryGb: 16, storageGb: 20, nodeCount: 5 };

async function pendingSession(id: string, startMinutes: number, requirements = REQ) {
  return s.sessions.create(
    newSession({
      id,
      reservationId: `r-${id}`,
      timeslot: { start: at(startMinutes), end: at(startMinutes + 120) },
      requirements,
    }),
  );
}

async function worker(over: Partial<Parameters<typeof newWorker>[0]> = {}): Promise<Worker> {
  return s.workers.create(
    newWorker({
      templateName: 'small',
      declaredCapacity: { cpuCores: 16, memoryGb: 64, storageGb: 500, maxNodes: 40 },
      launchedAt: at(-180),
      idleSince: at(-60),
      ...over,
    }),
  );
}

const allWorkers = async () => (await s.workers.listAll({ limit: 100 })).items;
const decisions = async () => (await s.scaling.listDecisions({ limit: 100 })).items;

describe('runScaleUp', () => {
  it('launches a worker for a session starting within the look-ahead, starts its provisioning, records the decision', async () => {
    await pendingSession('s-soon', 10);
    const run = await runScaleUp(deps());
    expect(run.lostRace).toBe(false);
    expect(run.actions).toHaveLength(1);
    const [action] = run.actions;
    expect(action).toMatchObject({ outcome: 'APPLIED', action: { kind: 'LAUNCH', templateName: 'small' } });

    const [w] = await allWorkers();
    expect(w).toMatchObject({
      id: action!.workerId,
      templateName: 'small',
      status: 'PENDING',
      desiredStatus: 'RUNNING',
    });
    expect(workflows.callsOf('startProvisioning')).toEqual([
      expect.objectContaining({ workerId: w!.id, name: `${w!.id}-launch` }),
    ]);
    expect(action!.executionArn).toBe(RecordingFleetWorkflows.arnOf('provisioning', `${w!.id}-launch`));

    const [d] = await decisions();
    expect(d).toMatchObject({
      kind: 'SCALE_UP',
      workerId: w!.id,
      templateName: 'small',
      at: now.toISOString(),
    });
    expect(d!.reason).toMatch(/launch small/);
    expect(d!.inputs).toMatchObject({
      scaler: SCALE_UP_SCOPE,
      outcome: 'APPLIED',
      forSessions: ['s-soon'],
      executionArn: action!.executionArn,
      summary: { demand: { total: 1, waiting: 0, upcoming: 1 }, supply: { running: 0, inFlight: 0 } },
    });
    expect((await s.scaling.getState(SCALE_UP_SCOPE))?.lastScaleUpAt).toBe(now.toISOString());
  });

  it('a session beyond the look-ahead (boot minutes + margin) is not demand yet; a waiting one (start passed) is', async () => {
    await pendingSession('s-later', 40);
    const later = await runScaleUp(deps());
    expect(later.actions).toEqual([]);
    expect(later.decisions[0]).toMatchObject({
      kind: 'NONE',
      inputs: {
        summary: { windowMinutes: 15 + DEFAULT_SCALING_CONFIG.lookAheadMarginMinutes, demand: { total: 0 } },
      },
    });
    await pendingSession('s-waiting', -5);
    const run = await runScaleUp(deps());
    expect(run.actions.map((a) => a.action.kind)).toEqual(['LAUNCH']);
    const d = (await decisions()).find((x) => x.kind === 'SCALE_UP')!;
    expect(d.inputs).toMatchObject({ summary: { demand: { waiting: 1 } } });
  });

  it("looks ahead by the template's observed boot p95, read from every worker's boot records (TERMINATED ones too)", async () => {
    await pendingSession('s-50', 50);
    // Template figure: 15 + margin; a session 50 min ahead is beyond it.
    expect((await runScaleUp(deps())).actions).toEqual([]);
    const boots = [38, 40, 39].map((m, i) => ({
      kind: 'LAUNCH' as const,
      templateName: 'small',
      seconds: m * 60,
      launchedAt: at(-600 + i * 60),
      readyAt: at(-600 + i * 60 + m),
    }));
    await worker({ id: 'w-gone', status: 'TERMINATED', boots });
    const run = await runScaleUp(deps());
    expect(run.actions.map((a) => a.action.kind)).toEqual(['LAUNCH']);
    const d = (await decisions()).find((x) => x.kind === 'SCALE_UP')!;
    expect(d.inputs).toMatchObject({
      summary: { windowMinutes: 40 + DEFAULT_SCALING_CONFIG.lookAheadMarginMinutes, overdueBoots: [] },
    });
  });

  it('counts the room of a placed session that ends before the next one starts (freedRoomLeadMinutes): no launch', async () => {
    // A small worker filled by four sessions placed through the real placement transaction, all
    // ending 5 min from now; one more session starts in 35 min (within the 40-min look-ahead).
    const full = await worker({ id: 'w-full' });
    for (let i = 0; i < 4; i++) {
      const id = `s-placed-${i}`;
      await s.sessions.create(
        newSession({
          id,
          reservationId: `r-${id}`,
          timeslot: { start: at(-115), end: at(5) },
          requirements: REQ,
        }),
      );
      await s.placement.place({
        session: await s.sessions.getSession(id),
        worker: await s.workers.get(full.id),
        ports: { R1_serial: 2000 + 2 * i, R1_ssh: 2001 + 2 * i },
        by: 'test',
      });
    }
    expect((await s.workers.get(full.id)).allocatedCapacity).toMatchObject({ cpuCores: 16, memoryGb: 64 });
    await pendingSession('s-next', 35);

    // 5 + 30 <= 35: the room freed at the booked end is counted, nothing is launched.
    const reused = await runScaleUp(deps({ freedRoomLeadMinutes: 30 }));
    expect(reused.actions).toEqual([]);
    expect(reused.decisions[0]).toMatchObject({
      kind: 'NONE',
      inputs: { summary: { demand: { total: 1 }, coveredBySupply: 1 } },
    });
    // 5 + 31 > 35: the freed room comes too late for it, so a host is launched.
    const launched = await runScaleUp(deps({ freedRoomLeadMinutes: 31 }));
    expect(launched.actions).toEqual([
      expect.objectContaining({ outcome: 'APPLIED', action: expect.objectContaining({ kind: 'LAUNCH' }) }),
    ]);
  });

  it('covered demand is NONE: recorded once while the reason stays the same', async () => {
    await pendingSession('s-1', 10);
    await runScaleUp(deps());
    now = new Date(NOW + 60_000);
    const again = await runScaleUp(deps());
    expect(again.actions).toEqual([]);
    expect(again.decisions).toHaveLength(1);
    expect(again.decisions[0]).toMatchObject({ kind: 'NONE' });
    expect(again.decisions[0]!.reason).toMatch(/1 fit running or launching workers/);
    now = new Date(NOW + 120_000);
    const third = await runScaleUp(deps());
    expect(third.decisions).toEqual([]);
    expect((await decisions()).map((d) => d.kind)).toEqual(['NONE', 'SCALE_UP']);
    expect(await allWorkers()).toHaveLength(1);
  });

  it('respects the cooldown: a second host needed within it is held, and launched once it has passed', async () => {
    const cfg = { cooldownSeconds: 120 };
    await pendingSession('s-a', 10, { cpuCores: 12, memoryGb: 48, storageGb: 100, nodeCount: 10 });
    expect((await runScaleUp(deps(cfg))).actions).toHaveLength(1);

    await pendingSession('s-b', 12, { cpuCores: 12, memoryGb: 48, storageGb: 100, nodeCount: 10 });
    now = new Date(NOW + 30_000);
    const held = await runScaleUp(deps(cfg));
    expect(held.actions).toEqual([]);
    expect(held.reason).toMatch(/cooldown: 90 s left, 1 action\(s\) held/);
    expect(held.decisions[0]).toMatchObject({ kind: 'NONE' });
    expect(await allWorkers()).toHaveLength(1);

    now = new Date(NOW + 125_000);
    const after = await runScaleUp(deps(cfg));
    expect(after.actions.map((a) => a.action.kind)).toEqual(['LAUNCH']);
    expect(after.actions[0]!.action).toMatchObject({ forSessions: ['s-b'] });
    expect(await allWorkers()).toHaveLength(2);
    expect((await s.scaling.getState(SCALE_UP_SCOPE))?.lastScaleUpAt).toBe(now.toISOString());
  });

  it('two concurrent runs that planned from the same state: exactly one acts', async () => {
    await pendingSession('s-race', 10);
    // Both runs read the scaler state before either takes it.
    let arrived = 0;
    let release!: () => void;
    const bothRead = new Promise<void>((r) => {
      release = r;
    });
    const scaling = {
      ...s.scaling,
      putDecision: s.scaling.putDecision.bind(s.scaling),
      listDecisions: s.scaling.listDecisions.bind(s.scaling),
      putState: s.scaling.putState.bind(s.scaling),
      getState: async (scope: string) => {
        const state = await s.scaling.getState(scope);
        if (++arrived === 2) release();
        await bothRead;
        return state;
      },
    };
    const [a, b] = await Promise.all([runScaleUp(deps({}, { scaling })), runScaleUp(deps({}, { scaling }))]);
    expect([a.lostRace, b.lostRace].sort()).toEqual([false, true]);
    const winner = a.lostRace ? b : a;
    const loser = a.lostRace ? a : b;
    expect(winner.actions).toHaveLength(1);
    expect(loser.actions).toEqual([]);
    expect(loser.decisions).toEqual([]);
    expect(await allWorkers()).toHaveLength(1);
    expect(workflows.callsOf('startProvisioning')).toHaveLength(1);
    expect((await decisions()).filter((d) => d.kind === 'SCALE_UP')).toHaveLength(1);
  });

  it('starts a STOPPED worker (warm capacity) instead of launching: STARTING + provisioning on the START path', async () => {
    const stopped = await worker({ id: 'w-warm', status: 'STOPPED', ec2InstanceId: 'i-0warm' });
    await pendingSession('s-warm', 5);
    const run = await runScaleUp(deps());
    expect(run.actions).toEqual([
      expect.objectContaining({
        outcome: 'APPLIED',
        workerId: stopped.id,
        action: expect.objectContaining({ kind: 'START_STOPPED' }),
      }),
    ]);
    const w = await s.workers.get(stopped.id);
    expect(w).toMatchObject({ status: 'STARTING', desiredStatus: 'RUNNING' });
    const idx = w.stateHistory.length - 1;
    expect(w.stateHistory[idx]).toMatchObject({ from: 'STOPPED', to: 'STARTING', by: 'scaler' });
    expect(workflows.callsOf('startProvisioning')).toEqual([
      expect.objectContaining({ workerId: stopped.id, name: `${stopped.id}-start-${idx}` }),
    ]);
    expect(await allWorkers()).toHaveLength(1);
    expect((await decisions())[0]).toMatchObject({ kind: 'START_STOPPED', workerId: stopped.id });
  });
});

describe('runScaleDown', () => {
  it('drains an idle worker to stop it as warm capacity; records DRAIN', async () => {
    const idle = await worker({ id: 'w-idle' });
    const run = await runScaleDown(deps({ warmStoppedPerTemplate: 1 }));
    expect(
      run.actions.map((a) => [
        a.outcome,
        a.workerId,
        a.action.kind,
        a.action.kind === 'DRAIN' && a.action.then,
      ]),
    ).toEqual([['APPLIED', idle.id, 'DRAIN', 'STOP']]);
    const w = await s.workers.get(idle.id);
    expect(w).toMatchObject({ status: 'DRAINING', desiredStatus: 'STOPPED' });
    const idx = w.stateHistory.length - 1;
    expect(workflows.callsOf('startDrain').map((c) => [c.workerId, c.then, c.name])).toEqual([
      [idle.id, 'STOP', `${idle.id}-retire-${idx}`],
    ]);
    const [d] = await decisions();
    expect(d).toMatchObject({ kind: 'DRAIN', workerId: idle.id, templateName: 'small' });
    expect(d!.inputs).toMatchObject({ scaler: SCALE_DOWN_SCOPE, drainThen: 'STOP', outcome: 'APPLIED' });
    expect((await s.scaling.getState(SCALE_DOWN_SCOPE))?.lastScaleDownAt).toBe(now.toISOString());
  });

  it('with the warm pool full it terminates: the drained one and the surplus stopped one', async () => {
    await worker({ id: 'w-stopped-new', status: 'STOPPED', launchedAt: at(-30) });
    await worker({ id: 'w-stopped-old', status: 'STOPPED', launchedAt: at(-300) });
    await worker({ id: 'w-idle' });
    const run = await runScaleDown(deps({ warmStoppedPerTemplate: 1 }));
    const kinds = run.actions.map((a) => `${a.action.kind}:${a.workerId}`).sort();
    expect(kinds).toEqual(['DRAIN:w-idle', 'TERMINATE:w-stopped-old']);
    expect((await s.workers.get('w-idle')).desiredStatus).toBe('TERMINATED');
    expect(await s.workers.get('w-stopped-old')).toMatchObject({
      status: 'SHUTTING_DOWN',
      desiredStatus: 'TERMINATED',
    });
    expect((await s.workers.get('w-stopped-new')).status).toBe('STOPPED');
    expect(
      workflows
        .callsOf('startDrain')
        .map((c) => `${c.workerId}:${c.then}`)
        .sort(),
    ).toEqual(['w-idle:TERMINATE', 'w-stopped-old:TERMINATE']);
    expect((await decisions()).map((d) => d.kind).sort()).toEqual(['DRAIN', 'TERMINATE']);
  });

  it('keeps a busy worker and one needed by an upcoming session: NONE with the reason', async () => {
    // Nearly full: the upcoming session below does not fit on it.
    const busy = await worker({
      id: 'w-busy',
      allocatedCapacity: { cpuCores: 14, memoryGb: 56, storageGb: 20, maxNodes: 5 },
      leasedPortCount: 2,
    });
    const run = await runScaleDown(deps());
    expect(run.actions).toEqual([]);
    expect(run.decisions[0]).toMatchObject({ kind: 'NONE' });
    expect(run.reason).toMatch(/1 busy/);
    expect((await s.workers.get(busy.id)).status).toBe('RUNNING');

    await worker({ id: 'w-needed' });
    await pendingSession('s-upcoming', 15);
    const second = await runScaleDown(deps());
    expect(second.actions).toEqual([]);
    expect(second.reason).toContain(
      `1 needed within ${15 + DEFAULT_SCALING_CONFIG.lookAheadMarginMinutes} min`,
    );
  });

  it('two concurrent runs: one drains, the other does nothing', async () => {
    await worker({ id: 'w-idle' });
    const [a, b] = await Promise.all([runScaleDown(deps()), runScaleDown(deps())]);
    const acted = [a, b].filter((r) => r.actions.length > 0);
    expect(acted).toHaveLength(1);
    expect(workflows.callsOf('startDrain')).toHaveLength(1);
    expect((await decisions()).filter((d) => d.kind === 'DRAIN')).toHaveLength(1);
  });
});

describe('scalingConfigFromEnv', () => {
  it('defaults from DEFAULT_SCALING_CONFIG; LCM_SCALE_DOWN_IDLE_SECONDS overrides the idle threshold', () => {
    expect(scalingConfigFromEnv({})).toEqual(DEFAULT_SCALING_CONFIG);
    const cfg = scalingConfigFromEnv({
      LCM_SCALE_DOWN_IDLE_SECONDS: '30',
      LCM_SCALING_IDLE_MINUTES: '99',
      LCM_SCALING_MIN_WORKERS: '1',
      LCM_SCALING_POST_LAUNCH_GRACE_SECONDS: '90',
    });
    expect(cfg).toEqual({
      ...DEFAULT_SCALING_CONFIG,
      scaleDownIdleMinutes: 0.5,
      minWorkers: 1,
      postLaunchGraceMinutes: 1.5,
    });
  });

  it('rejects values the planners would reject', () => {
    expect(() => scalingConfigFromEnv({ LCM_SCALING_MAX_WORKERS: 'many' })).toThrow(
      /LCM_SCALING_MAX_WORKERS/,
    );
    expect(() =>
      scalingConfigFromEnv({ LCM_SCALING_MIN_WORKERS: '5', LCM_SCALING_MAX_WORKERS: '2' }),
    ).toThrow(ValidationError);
  });
});
