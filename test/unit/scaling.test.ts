import {
  DEFAULT_SCALING_CONFIG,
  fleetCounts,
  lookAheadMinutes,
  planScaleDown,
  planScaleUp,
  type ScaleUpAction,
  type ScalingConfig,
  type ScalingSession,
  type ScalingTemplate,
  type ScalingWorker,
} from '@lcm/shared/fleet';
import type { Capacity, ResourceRequirements } from '@lcm/shared/kernel';
import { LICENSE_TYPES, type LicenseType, ValidationError, WORKER_STATUSES } from '@lcm/shared/kernel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { template } from './builders.ts';

const NOW = '2025-06-01T12:00:00.000Z';
const at = (minutes: number): string => new Date(Date.parse(NOW) + minutes * 60_000).toISOString();
const ZERO: Capacity = { cpuCores: 0, memoryGb: 0, storageGb: 0, maxNodes: 0 };
const cfg = (over: Partial<ScalingConfig> = {}): ScalingConfig => ({ ...DEFAULT_SCALING_CONFIG, ...over });

const SMALL = template({
  name: 'small',
  capacity: { cpuCores: 16, memoryGb: 64, storageGb: 500, maxNodes: 40 },
  costPerHourUsd: 1.2,
});
const BIG = template({
  name: 'big',
  capacity: { cpuCores: 96, memoryGb: 384, storageGb: 2000, maxNodes: 250 },
  costPerHourUsd: 4.608,
});

const worker = (over: Partial<ScalingWorker> = {}): ScalingWorker => ({
  id: 'w-1',
  templateName: 'small',
  status: 'RUNNING',
  license: { type: 'ENTERPRISE', status: 'REGISTERED' },
  podType: 'CML_ON_AWS',
  declaredCapacity: { ...SMALL.capacity },
  allocatedCapacity: { ...ZERO },
  portRange: { start: 2000, end: 7999 },
  leasedPortCount: 0,
  launchedAt: at(-180),
  idleSince: at(-60),
  ...over,
});

const MEDIUM: ResourceRequirements = { cpuCores: 4, memoryGb: 16, storageGb: 20, nodeCount: 5 };
const session = (over: Partial<ScalingSession> = {}): ScalingSession => ({
  id: 's-1',
  status: 'PENDING',
  timeslot: { start: at(20), end: at(140) },
  requirements: MEDIUM,
  licenseAffinity: [],
  podType: 'CML_ON_AWS',
  ...over,
});
const sessions = (n: number, over: Partial<ScalingSession> = {}): ScalingSession[] =>
  Array.from({ length: n }, (_, i) => session({ id: `s-${String(i).padStart(3, '0')}`, ...over }));

const up = (over: Partial<Parameters<typeof planScaleUp>[0]> = {}) =>
  planScaleUp({ now: NOW, sessions: [], workers: [], templates: [SMALL, BIG], config: cfg(), ...over });
const down = (over: Partial<Parameters<typeof planScaleDown>[0]> = {}) =>
  planScaleDown({ now: NOW, sessions: [], workers: [], templates: [SMALL, BIG], config: cfg(), ...over });

const launches = (actions: readonly ScaleUpAction[]) => actions.filter((a) => a.kind === 'LAUNCH');
/** Matches a DRAIN action; its follow-up field is named `then` by the issue. */
const drained = (workerId: string, after: 'STOP' | 'TERMINATE') =>
  // biome-ignore lint/suspicious/noThenProperty: the DRAIN action's field is called `then`
  expect.objectContaining({ kind: 'DRAIN', workerId, then: after });

describe('planScaleUp', () => {
  it('does nothing without demand', () => {
    const plan = up();
    expect(plan.actions).toEqual([]);
    expect(plan.summary.demand).toEqual({ total: 0, waiting: 0, upcoming: 0 });
    expect(plan.reason).toContain('no action');
  });

  it('launches the cheapest template whose shape fits the demand', () => {
    const plan = up({ sessions: sessions(2) });
    expect(plan.actions).toEqual([
      expect.objectContaining({ kind: 'LAUNCH', templateName: 'small', forSessions: ['s-000', 's-001'] }),
    ]);
    // One session larger than the small shape needs the big template.
    const large = up({
      sessions: [session({ requirements: { cpuCores: 32, memoryGb: 128, storageGb: 50, nodeCount: 10 } })],
    });
    expect(large.actions).toEqual([expect.objectContaining({ kind: 'LAUNCH', templateName: 'big' })]);
  });

  it('sizes each new host by work per dollar, then takes the cheapest template fitting its contents', () => {
    // 30 × 16 GB: a big host (better per GB) takes 24; the remaining 6 (96 GB) go on small hosts.
    const plan = up({ sessions: sessions(30) });
    const byTemplate = launches(plan.actions).map((a) => [a.templateName, a.forSessions.length]);
    expect(byTemplate).toEqual([
      ['big', 24],
      ['small', 4],
      ['small', 2],
    ]);
    const covered = plan.actions.flatMap((a) => a.forSessions).sort();
    expect(covered).toEqual(sessions(30).map((s) => s.id));
  });

  it('counts running and launching workers as supply before launching', () => {
    const provisioning = worker({
      id: 'w-p',
      status: 'PROVISIONING',
      idleSince: undefined,
      launchedAt: at(-2),
    });
    const plan = up({ sessions: sessions(3), workers: [provisioning] });
    expect(plan.actions).toEqual([]);
    expect(plan.summary.coveredBySupply).toBe(3);
    const busy = worker({ allocatedCapacity: { cpuCores: 8, memoryGb: 48, storageGb: 40, maxNodes: 10 } });
    const partly = up({ sessions: sessions(2), workers: [busy] });
    expect(partly.summary.coveredBySupply).toBe(1);
    expect(launches(partly.actions)).toEqual([expect.objectContaining({ forSessions: ['s-001'] })]);
  });

  it('prefers starting a STOPPED worker over a new launch of the same cost', () => {
    const stopped = worker({ id: 'w-stopped', status: 'STOPPED', idleSince: undefined });
    const plan = up({
      sessions: sessions(2, { timeslot: { start: at(5), end: at(60) } }),
      workers: [stopped],
    });
    expect(plan.actions).toEqual([
      expect.objectContaining({
        kind: 'START_STOPPED',
        workerId: 'w-stopped',
        forSessions: ['s-000', 's-001'],
      }),
    ]);
  });

  it('does not start a dearer stopped worker for demand a cheaper launch serves', () => {
    const stoppedBig = worker({
      id: 'w-big',
      templateName: 'big',
      status: 'STOPPED',
      declaredCapacity: { ...BIG.capacity },
    });
    const plan = up({
      sessions: sessions(1, { timeslot: { start: at(5), end: at(60) } }),
      workers: [stoppedBig],
    });
    expect(plan.actions).toEqual([expect.objectContaining({ kind: 'LAUNCH', templateName: 'small' })]);
    // ...but starts it when the demand needs a big host anyway.
    const many = up({
      sessions: sessions(20, { timeslot: { start: at(5), end: at(60) } }),
      workers: [stoppedBig],
    });
    expect(many.actions[0]).toEqual(expect.objectContaining({ kind: 'START_STOPPED', workerId: 'w-big' }));
    expect(launches(many.actions)).toEqual([]);
  });

  it('looks ahead the longest boot time plus the margin, and no further', () => {
    const window = lookAheadMinutes([SMALL, BIG], cfg());
    expect(window).toBe(15 + DEFAULT_SCALING_CONFIG.lookAheadMarginMinutes);
    const inside = up({ sessions: [session({ timeslot: { start: at(window - 1), end: at(window + 60) } })] });
    expect(launches(inside.actions)).toHaveLength(1);
    const onEdge = up({ sessions: [session({ timeslot: { start: at(window), end: at(window + 60) } })] });
    expect(launches(onEdge.actions)).toHaveLength(1);
    const outside = up({
      sessions: [session({ timeslot: { start: at(window + 1), end: at(window + 60) } })],
    });
    expect(outside.actions).toEqual([]);
    expect(outside.summary.demand.total).toBe(0);
    // A slower template widens the window.
    const slow = template({ name: 'slow', bootMinutes: 40, capacity: SMALL.capacity, costPerHourUsd: 9 });
    expect(lookAheadMinutes([SMALL, slow], cfg())).toBe(40 + DEFAULT_SCALING_CONFIG.lookAheadMarginMinutes);
  });

  it('counts sessions already waiting and ignores placed, ended and non-PENDING ones', () => {
    const plan = up({
      sessions: [
        session({ id: 'late', timeslot: { start: at(-10), end: at(50) } }),
        session({ id: 'rejected', placementRejections: { capacity: 2 } }),
        session({ id: 'upcoming' }),
        session({ id: 'placed', workerId: 'w-9' }),
        session({ id: 'scheduled', status: 'SCHEDULED' }),
        session({ id: 'over', timeslot: { start: at(-120), end: at(-1) } }),
      ],
    });
    expect(plan.summary.demand).toEqual({ total: 3, waiting: 2, upcoming: 1 });
    expect(plan.actions.flatMap((a) => a.forSessions).sort()).toEqual(['late', 'rejected', 'upcoming']);
  });

  it('counts the room a placed session frees by freedRoomLeadMinutes before a start, and only that', () => {
    // w-1 is full with four MEDIUM sessions that end 10 min from now.
    const full = worker({ allocatedCapacity: { cpuCores: 16, memoryGb: 64, storageGb: 80, maxNodes: 20 } });
    const placed = sessions(4, {
      status: 'RUNNING',
      workerId: 'w-1',
      timeslot: { start: at(-110), end: at(10) },
    }).map((x) => ({ ...x, id: `placed-${x.id}` }));
    const next = (start: number) =>
      session({ id: 'next', timeslot: { start: at(start), end: at(start + 60) } });
    const plan = (start: number, over: Partial<Parameters<typeof planScaleUp>[0]> = {}) =>
      up({
        workers: [full],
        sessions: [...placed, next(start)],
        config: cfg({ freedRoomLeadMinutes: 30 }),
        ...over,
      });

    // 10 + 30 <= 40: the room is counted, nothing is launched.
    expect(plan(40).actions).toEqual([]);
    expect(plan(40).summary.coveredBySupply).toBe(1);
    // Freed 1 min too late: a launch.
    expect(launches(plan(39).actions)).toHaveLength(1);
    // Without the placed sessions in the input the planner cannot know the room frees.
    expect(launches(up({ workers: [full], sessions: [next(40)] }).actions)).toHaveLength(1);
    // A session already past its booked end is tearing down: its room counts once released.
    const overdue = placed.map((x) => ({ ...x, timeslot: { start: at(-130), end: at(-1) } }));
    expect(launches(plan(40, { sessions: [...overdue, next(40)] }).actions)).toHaveLength(1);
    // A release the worker's record does not hold (out of step) is not counted either.
    const outOfStep = worker({
      allocatedCapacity: { cpuCores: 3, memoryGb: 64, storageGb: 80, maxNodes: 20 },
    });
    expect(launches(plan(40, { workers: [outOfStep] }).actions)).toHaveLength(1);
    // Only sessions holding a placement give room back.
    const finished = placed.map((x) => ({ ...x, status: 'TERMINATED' as const }));
    expect(launches(plan(40, { sessions: [...finished, next(40)] }).actions)).toHaveLength(1);
  });

  it('defers a host until its first session is within its start-up time plus the margin', () => {
    const stopped = worker({ id: 'w-stopped', status: 'STOPPED' });
    const c = cfg({ warmStartMinutes: 8, lookAheadMarginMinutes: 10 });
    const early = up({
      config: c,
      workers: [stopped],
      sessions: [session({ timeslot: { start: at(20), end: at(80) } })],
    });
    expect(early.actions).toEqual([]);
    expect(early.summary.deferred).toEqual({ startStopped: 1, launch: 0 });
    const due = up({
      config: c,
      workers: [stopped],
      sessions: [session({ timeslot: { start: at(18), end: at(80) } })],
    });
    expect(due.actions).toEqual([expect.objectContaining({ kind: 'START_STOPPED', workerId: 'w-stopped' })]);
  });

  it('holds every scale-up action during the cooldown', () => {
    const c = cfg({ cooldownSeconds: 45 });
    const held = up({
      config: c,
      sessions: sessions(1),
      lastScaleUpAt: new Date(Date.parse(NOW) - 10_000).toISOString(),
    });
    expect(held.actions).toEqual([]);
    expect(held.summary.dropped.cooldown).toBe(1);
    expect(held.summary.cooldownRemainingSeconds).toBe(35);
    expect(held.reason).toContain('cooldown');
    const free = up({
      config: c,
      sessions: sessions(1),
      lastScaleUpAt: new Date(Date.parse(NOW) - 45_000).toISOString(),
    });
    expect(launches(free.actions)).toHaveLength(1);
  });

  it('respects maxWorkers and maxConcurrentLaunches, serving the earliest sessions first', () => {
    const big = (id: string, start: number): ScalingSession =>
      session({
        id,
        requirements: { cpuCores: 16, memoryGb: 64, storageGb: 100, nodeCount: 10 },
        licenseAffinity: ['ENTERPRISE'],
        timeslot: { start: at(start), end: at(start + 60) },
      });
    const demand = [big('later', 20), big('first', 5), big('second', 10)];
    const full = worker({ id: 'w-full', allocatedCapacity: { ...SMALL.capacity } });
    const capped = up({
      config: cfg({ maxWorkers: 2 }),
      templates: [SMALL],
      workers: [full],
      sessions: demand,
    });
    expect(capped.actions.map((a) => a.forSessions)).toEqual([['first']]);
    expect(capped.summary.dropped.maxWorkers).toBe(2);
    const inFlight = worker({
      id: 'w-p',
      status: 'PENDING',
      license: { type: 'PERSONAL', status: 'UNREGISTERED' },
    });
    const throttled = up({
      config: cfg({ maxConcurrentLaunches: 3 }),
      templates: [SMALL],
      workers: [full, inFlight],
      sessions: demand,
    });
    expect(throttled.actions.map((a) => a.forSessions)).toEqual([['first'], ['second']]);
    expect(throttled.summary.dropped.maxConcurrentLaunches).toBe(1);
  });

  it('tops the serving fleet up to minWorkers, stopped workers first', () => {
    const stopped = worker({ id: 'w-stopped', status: 'STOPPED' });
    const plan = up({ config: cfg({ minWorkers: 2 }), workers: [stopped] });
    expect(plan.actions).toEqual([
      expect.objectContaining({ kind: 'START_STOPPED', workerId: 'w-stopped', forSessions: [] }),
      expect.objectContaining({ kind: 'LAUNCH', templateName: 'small', forSessions: [] }),
    ]);
    expect(plan.summary.planned.topUp).toBe(2);
  });

  it('reports sessions no enabled template can host instead of launching for them', () => {
    const plan = up({
      sessions: [session({ id: 'personal', licenseAffinity: ['PERSONAL'] })],
      templates: [SMALL, { ...BIG, enabled: false }],
    });
    expect(plan.actions).toEqual([]);
    expect(plan.summary.unplaceable).toEqual(['personal']);
    const tooBig = up({
      sessions: [
        session({ id: 'huge', requirements: { cpuCores: 200, memoryGb: 64, storageGb: 1, nodeCount: 1 } }),
      ],
    });
    expect(tooBig.summary.unplaceable).toEqual(['huge']);
  });

  it('ignores STOPPED workers of disabled templates', () => {
    const stopped = worker({ id: 'w-stopped', status: 'STOPPED' });
    const plan = up({
      templates: [{ ...SMALL, enabled: false }, BIG],
      workers: [stopped],
      sessions: sessions(1),
    });
    expect(plan.actions).toEqual([expect.objectContaining({ kind: 'LAUNCH', templateName: 'big' })]);
  });

  it('rejects a bad configuration or instant with a ValidationError', () => {
    expect(() => up({ config: cfg({ maxWorkers: 1, minWorkers: 2 }) })).toThrow(ValidationError);
    expect(() => up({ config: cfg({ maxDrainShare: 1.5 }) })).toThrow(/maxDrainShare/);
    expect(() => up({ config: cfg({ cooldownSeconds: Number.NaN }) })).toThrow(/cooldownSeconds/);
    expect(() => up({ now: 'yesterday' })).toThrow(/now/);
    expect(() => up({ lastScaleUpAt: 'x', sessions: sessions(1) })).toThrow(/lastScaleUpAt/);
  });
});

describe('planScaleDown', () => {
  it('drains an empty RUNNING worker idle past the threshold and past the grace period', () => {
    const plan = down({ workers: [worker()] });
    expect(plan.actions).toEqual([drained('w-1', 'TERMINATE')]);
    expect(plan.actions[0]!.reason).toContain('idle 60 min');
  });

  it('keeps busy, briefly idle and freshly launched workers', () => {
    const plan = down({
      workers: [
        worker({ id: 'w-session' }),
        worker({ id: 'w-alloc', allocatedCapacity: { cpuCores: 1, memoryGb: 0, storageGb: 0, maxNodes: 0 } }),
        worker({ id: 'w-ports', leasedPortCount: 2 }),
        worker({ id: 'w-brief', idleSince: at(-1) }),
        worker({ id: 'w-new', launchedAt: at(-10), idleSince: at(-9) }),
        worker({ id: 'w-draining', status: 'DRAINING' }),
      ],
      sessions: [session({ id: 'placed', status: 'SCHEDULED', workerId: 'w-session' })],
    });
    expect(plan.actions).toEqual([]);
    expect(plan.summary.kept).toEqual(
      expect.objectContaining({ busy: 3, idleTooShort: 1, inGracePeriod: 1, neededSoon: 0 }),
    );
  });

  it('keeps a worker that reservations starting within the look-ahead window need', () => {
    const upcoming = session({
      id: 'soon',
      requirements: { cpuCores: 12, memoryGb: 48, storageGb: 50, nodeCount: 5 },
      timeslot: { start: at(20), end: at(80) },
    });
    const one = down({ workers: [worker({ id: 'w-a' })], sessions: [upcoming] });
    expect(one.actions).toEqual([]);
    expect(one.summary.kept.neededSoon).toBe(1);
    // Two idle workers, one is enough for the reservation: the other is drained.
    const two = down({ workers: [worker({ id: 'w-a' }), worker({ id: 'w-b' })], sessions: [upcoming] });
    expect(two.actions.map((a) => a.workerId)).toEqual(['w-b']);
    // A reservation beyond the window does not hold anything.
    const later = { ...upcoming, timeslot: { start: at(60), end: at(120) } };
    expect(down({ workers: [worker({ id: 'w-a' })], sessions: [later] }).actions).toHaveLength(1);
  });

  it('never drains below minWorkers and at most the configured share per run', () => {
    const idle = (n: number) => Array.from({ length: n }, (_, i) => worker({ id: `w-${i}` }));
    expect(down({ config: cfg({ minWorkers: 3 }), workers: idle(4) }).actions).toHaveLength(1);
    const shared = down({ config: cfg({ maxDrainShare: 0.5 }), workers: idle(5) });
    expect(shared.actions).toHaveLength(2);
    expect(shared.summary.kept.drainShare).toBe(3);
    expect(down({ config: cfg({ maxDrainShare: 0 }), workers: idle(5) }).actions).toHaveLength(1);
  });

  it('drains the longest idle first', () => {
    const plan = down({
      config: cfg({ maxDrainShare: 0 }),
      workers: [worker({ id: 'w-a', idleSince: at(-20) }), worker({ id: 'w-b', idleSince: at(-90) })],
    });
    expect(plan.actions.map((a) => a.workerId)).toEqual(['w-b']);
  });

  it('stops drained workers into the warm pool and terminates the rest', () => {
    const c = cfg({ warmStoppedPerTemplate: 1, maxDrainShare: 1 });
    const plan = down({
      config: c,
      workers: [worker({ id: 'w-a', idleSince: at(-90) }), worker({ id: 'w-b' })],
    });
    expect(plan.actions).toEqual([drained('w-a', 'STOP'), drained('w-b', 'TERMINATE')]);
    // A stopped worker already fills the pool: drains terminate, extra stopped workers go.
    const stopped = [
      worker({ id: 'w-old', status: 'STOPPED', launchedAt: at(-3000) }),
      worker({ id: 'w-recent', status: 'STOPPED', launchedAt: at(-300) }),
      worker({ id: 'w-orphan', templateName: 'gone', status: 'STOPPED' }),
    ];
    const pool = down({ config: c, workers: [worker({ id: 'w-a' }), ...stopped] });
    expect(pool.actions).toEqual([
      drained('w-a', 'TERMINATE'),
      expect.objectContaining({ kind: 'TERMINATE', workerId: 'w-orphan' }),
      expect.objectContaining({ kind: 'TERMINATE', workerId: 'w-old' }),
    ]);
    // A worker draining towards STOPPED already counts toward the pool.
    const going = worker({ id: 'w-going', status: 'DRAINING', desiredStatus: 'STOPPED' });
    const withGoing = down({ config: c, workers: [going, worker({ id: 'w-a' })] });
    expect(withGoing.actions).toEqual([drained('w-a', 'TERMINATE')]);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over generated fleets
// ---------------------------------------------------------------------------------------------

const SHAPES: Capacity[] = [
  { cpuCores: 16, memoryGb: 64, storageGb: 500, maxNodes: 40 },
  { cpuCores: 48, memoryGb: 192, storageGb: 1000, maxNodes: 120 },
  { cpuCores: 96, memoryGb: 384, storageGb: 2000, maxNodes: 250 },
];
const NEEDS: ResourceRequirements[] = [
  { cpuCores: 1, memoryGb: 4, storageGb: 10, nodeCount: 3 },
  { cpuCores: 4, memoryGb: 16, storageGb: 40, nodeCount: 8 },
  { cpuCores: 12, memoryGb: 48, storageGb: 100, nodeCount: 20 },
  { cpuCores: 40, memoryGb: 150, storageGb: 300, nodeCount: 60 },
];

const templatesArb = fc
  .array(
    fc.record({
      shape: fc.constantFrom(...SHAPES),
      cost: fc.double({ min: 0.5, max: 8, noNaN: true }),
      license: fc.constantFrom<LicenseType>('ENTERPRISE', 'PERSONAL'),
      boot: fc.integer({ min: 5, max: 30 }),
      enabled: fc.boolean(),
      ports: fc.integer({ min: 5, max: 200 }),
    }),
    { minLength: 1, maxLength: 3 },
  )
  .map((ts) =>
    ts.map(
      (t, i): ScalingTemplate =>
        template({
          name: `t${i}`,
          capacity: t.shape,
          costPerHourUsd: Math.round(t.cost * 100) / 100,
          licenseType: t.license,
          bootMinutes: t.boot,
          enabled: t.enabled,
          portRange: { start: 2000, end: 2000 + t.ports - 1 },
        }),
    ),
  );

const configArb: fc.Arbitrary<ScalingConfig> = fc
  .record({
    minWorkers: fc.integer({ min: 0, max: 4 }),
    extra: fc.integer({ min: 0, max: 12 }),
    maxConcurrentLaunches: fc.integer({ min: 0, max: 8 }),
    cooldownSeconds: fc.integer({ min: 0, max: 120 }),
    lookAheadMarginMinutes: fc.integer({ min: 0, max: 20 }),
    scaleDownIdleMinutes: fc.integer({ min: 0, max: 30 }),
    postLaunchGraceMinutes: fc.integer({ min: 0, max: 60 }),
    maxDrainShare: fc.double({ min: 0, max: 1, noNaN: true }),
    warmStoppedPerTemplate: fc.integer({ min: 0, max: 2 }),
    warmStartMinutes: fc.integer({ min: 0, max: 15 }),
    freedRoomLeadMinutes: fc.integer({ min: 0, max: 60 }),
  })
  .map(({ extra, ...c }) => ({ ...c, maxWorkers: c.minWorkers + extra }));

interface Scenario {
  templates: ScalingTemplate[];
  workers: ScalingWorker[];
  sessions: ScalingSession[];
  config: ScalingConfig;
  lastScaleUpAt: string | undefined;
}

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    templates: templatesArb,
    config: configArb,
    workers: fc.array(
      fc.record({
        t: fc.nat(),
        // Every status can occur; RUNNING and STOPPED (the ones the planners act on) most often.
        status: fc.oneof(
          { weight: 2, arbitrary: fc.constantFrom(...WORKER_STATUSES) },
          { weight: 3, arbitrary: fc.constantFrom('RUNNING', 'STOPPED' as const) },
        ),
        fill: fc.constantFrom(0, 0, 0.25, 0.5, 1),
        launched: fc.integer({ min: 0, max: 600 }),
        idle: fc.option(fc.integer({ min: 0, max: 120 }), { nil: undefined }),
        stopping: fc.boolean(),
      }),
      { maxLength: 10 },
    ),
    sessions: fc.array(
      fc.record({
        need: fc.constantFrom(...NEEDS),
        status: fc.constantFrom(
          'PENDING',
          'PENDING',
          'PENDING',
          'SCHEDULED',
          'RUNNING',
          'TERMINATED' as const,
        ),
        worker: fc.option(fc.nat(), { nil: undefined }),
        start: fc.oneof(fc.integer({ min: -60, max: 30 }), fc.integer({ min: -60, max: 90 })),
        duration: fc.integer({ min: 15, max: 240 }),
        license: fc.constantFrom<LicenseType[]>([], ['ENTERPRISE'], ['PERSONAL'], [...LICENSE_TYPES]),
        ports: fc.integer({ min: 0, max: 12 }),
      }),
      { minLength: 1, maxLength: 25 },
    ),
    lastScaleUp: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
  })
  .map(({ templates, config, workers, sessions, lastScaleUp }) => {
    const ws = workers.map((w, i): ScalingWorker => {
      const t = templates[w.t % templates.length]!;
      const fill = w.status === 'RUNNING' || w.status === 'DRAINING' ? w.fill : 0;
      const size = t.portRange.end - t.portRange.start + 1;
      return {
        id: `w-${i}`,
        templateName: t.name,
        status: w.status,
        ...(w.status === 'DRAINING' && w.stopping ? { desiredStatus: 'STOPPED' as const } : {}),
        license: { type: t.licenseType, status: 'REGISTERED' },
        podType: 'CML_ON_AWS',
        declaredCapacity: t.capacity,
        allocatedCapacity: {
          cpuCores: t.capacity.cpuCores * fill,
          memoryGb: t.capacity.memoryGb * fill,
          storageGb: t.capacity.storageGb * fill,
          maxNodes: Math.floor(t.capacity.maxNodes * fill),
        },
        portRange: t.portRange,
        leasedPortCount: Math.floor(size * fill),
        launchedAt: at(-w.launched),
        ...(w.idle === undefined ? {} : { idleSince: at(-w.idle) }),
      };
    });
    const ss = sessions.map(
      (s, i): ScalingSession => ({
        id: `s-${i}`,
        status: s.status,
        timeslot: { start: at(s.start), end: at(s.start + s.duration) },
        requirements: s.need,
        licenseAffinity: s.license,
        podType: 'CML_ON_AWS',
        portTemplate: Array.from({ length: s.ports }, (_, k) => ({
          name: `p${k}`,
          nodeLabel: 'n',
          kind: 'serial' as const,
        })),
        // Placed sessions name a worker (whatever its allocation says: the planners must not trust it).
        ...(s.worker !== undefined && s.status !== 'PENDING' && ws.length > 0
          ? { workerId: ws[s.worker % ws.length]!.id }
          : {}),
      }),
    );
    return {
      templates,
      config,
      workers: ws,
      sessions: ss,
      lastScaleUpAt:
        lastScaleUp === undefined ? undefined : new Date(Date.parse(NOW) - lastScaleUp * 1000).toISOString(),
    };
  });

const planUp = (s: Scenario) =>
  planScaleUp({
    now: NOW,
    sessions: s.sessions,
    workers: s.workers,
    templates: s.templates,
    config: s.config,
    lastScaleUpAt: s.lastScaleUpAt,
  });
const planDown = (s: Scenario) =>
  planScaleDown({
    now: NOW,
    sessions: s.sessions,
    workers: s.workers,
    templates: s.templates,
    config: s.config,
  });

/** Sessions the scale-up planner must treat as demand, computed independently of it. */
function demandOf(s: Scenario): ScalingSession[] {
  const horizon = Date.parse(NOW) + lookAheadMinutes(s.templates, s.config) * 60_000;
  return s.sessions.filter(
    (x) =>
      x.status === 'PENDING' &&
      !x.workerId &&
      Date.parse(x.timeslot.start) <= horizon &&
      Date.parse(x.timeslot.end) > Date.parse(NOW),
  );
}

function sumNeeds(list: readonly ScalingSession[]): { need: Capacity; ports: number } {
  const need = { ...ZERO };
  let ports = 0;
  for (const x of list) {
    need.cpuCores += x.requirements.cpuCores;
    need.memoryGb += x.requirements.memoryGb;
    need.storageGb += x.requirements.storageGb;
    need.maxNodes += x.requirements.nodeCount;
    ports += x.portTemplate?.length ?? 0;
  }
  return { need, ports };
}

const RUNS = { numRuns: 300 };

describe('scaling properties', () => {
  it('scale-up never takes the fleet above maxWorkers or in-flight above maxConcurrentLaunches', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const plan = planUp(s);
        const before = fleetCounts(s.workers);
        const n = plan.actions.length;
        if (n > 0) {
          expect(before.fleetSize + n).toBeLessThanOrEqual(s.config.maxWorkers);
          expect(before.inFlight + n).toBeLessThanOrEqual(s.config.maxConcurrentLaunches);
        }
        const started = plan.actions.flatMap((a) => (a.kind === 'START_STOPPED' ? [a.workerId] : []));
        expect(new Set(started).size).toBe(started.length);
        for (const id of started) {
          const w = s.workers.find((x) => x.id === id)!;
          expect(w.status).toBe('STOPPED');
          expect(s.templates.find((t) => t.name === w.templateName)?.enabled).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('scale-down never takes the serving fleet below minWorkers nor drains more than its share', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const plan = planDown(s);
        const before = fleetCounts(s.workers);
        const drains = plan.actions.filter((a) => a.kind === 'DRAIN').length;
        if (drains > 0) {
          expect(before.serving - drains).toBeGreaterThanOrEqual(s.config.minWorkers);
          expect(drains).toBeLessThanOrEqual(
            Math.max(1, Math.floor(s.config.maxDrainShare * before.serving)),
          );
        }
        for (const a of plan.actions) {
          const w = s.workers.find((x) => x.id === a.workerId)!;
          expect(w.status).toBe(a.kind === 'DRAIN' ? 'RUNNING' : 'STOPPED');
        }
      }),
      RUNS,
    );
  });

  it('never drains a worker with an active or placed session, or one idle or launched too recently', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const nowMs = Date.parse(NOW);
        for (const a of planDown(s).actions) {
          if (a.kind !== 'DRAIN') continue;
          const w = s.workers.find((x) => x.id === a.workerId)!;
          expect(s.sessions.filter((x) => x.workerId === w.id && x.status !== 'TERMINATED')).toEqual([]);
          expect(w.allocatedCapacity).toEqual(ZERO);
          expect(w.leasedPortCount).toBe(0);
          const idleFrom = Date.parse(w.idleSince ?? w.launchedAt!);
          expect(nowMs - idleFrom).toBeGreaterThan(s.config.scaleDownIdleMinutes * 60_000);
          expect(nowMs - Date.parse(w.launchedAt!)).toBeGreaterThan(s.config.postLaunchGraceMinutes * 60_000);
        }
      }),
      RUNS,
    );
  });

  it('never launches or starts a worker for demand that running or launching supply already covers', () => {
    fc.assert(
      fc.property(scenarioArb, fc.constantFrom('RUNNING', 'PROVISIONING' as const), (s0, status) => {
        // All demand fits on one compatible worker with room for every session at once, so
        // whatever the order, each session fits somewhere: covered supply.
        const compatible = s0.sessions.map((x) => ({ ...x, licenseAffinity: [] as LicenseType[] }));
        const s1 = { ...s0, sessions: compatible };
        const { need, ports } = sumNeeds(demandOf(s1));
        const roomy: ScalingWorker = {
          id: 'w-roomy',
          templateName: 'roomy',
          status,
          license: { type: 'ENTERPRISE', status: 'REGISTERED' },
          podType: 'CML_ON_AWS',
          declaredCapacity: { ...need, maxNodes: need.maxNodes + 1 },
          allocatedCapacity: { ...ZERO },
          portRange: { start: 2000, end: 2000 + ports },
          leasedPortCount: 0,
          launchedAt: at(-5),
        };
        const s = { ...s1, workers: [...s1.workers, roomy] };
        const plan = planUp(s);
        expect(plan.actions.filter((a) => a.forSessions.length > 0)).toEqual([]);
        const counts = fleetCounts(s.workers);
        expect(plan.actions.length).toBeLessThanOrEqual(Math.max(0, s.config.minWorkers - counts.serving));
        expect(plan.summary.coveredBySupply).toBe(demandOf(s).length);
      }),
      RUNS,
    );
  });

  it("every launch's template fits the demand it was chosen for, and each session is served once", () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const plan = planUp(s);
        const demandIds = new Set(demandOf(s).map((x) => x.id));
        const served = plan.actions.flatMap((a) => a.forSessions);
        expect(new Set(served).size).toBe(served.length);
        for (const id of served) expect(demandIds.has(id)).toBe(true);
        for (const a of plan.actions) {
          const list = a.forSessions.map((id) => s.sessions.find((x) => x.id === id)!);
          const { need, ports } = sumNeeds(list);
          let capacity: Capacity;
          let portRoom: number;
          let license: LicenseType;
          if (a.kind === 'LAUNCH') {
            const t = s.templates.find((x) => x.name === a.templateName)!;
            expect(t.enabled).toBe(true);
            capacity = t.capacity;
            portRoom = t.portRange.end - t.portRange.start + 1;
            license = t.licenseType;
          } else {
            const w = s.workers.find((x) => x.id === a.workerId)!;
            capacity = {
              cpuCores: w.declaredCapacity.cpuCores - w.allocatedCapacity.cpuCores,
              memoryGb: w.declaredCapacity.memoryGb - w.allocatedCapacity.memoryGb,
              storageGb: w.declaredCapacity.storageGb - w.allocatedCapacity.storageGb,
              maxNodes: w.declaredCapacity.maxNodes - w.allocatedCapacity.maxNodes,
            };
            portRoom = w.portRange.end - w.portRange.start + 1 - w.leasedPortCount;
            license = w.license.type;
          }
          for (const d of ['cpuCores', 'memoryGb', 'storageGb', 'maxNodes'] as const) {
            expect(need[d]).toBeLessThanOrEqual(capacity[d] + 1e-9);
          }
          expect(ports).toBeLessThanOrEqual(portRoom);
          for (const x of list) {
            expect(x.licenseAffinity.length === 0 || x.licenseAffinity.includes(license)).toBe(true);
          }
        }
      }),
      RUNS,
    );
  });

  it('is deterministic and does not mutate its input', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const copy = structuredClone(s);
        const a = planUp(s);
        const b = planDown(s);
        expect(s).toEqual(copy);
        expect(planUp(copy)).toEqual(a);
        expect(planDown(copy)).toEqual(b);
      }),
      { numRuns: 100 },
    );
  });
});
