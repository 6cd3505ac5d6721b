import {
  billingStateOf,
  type CostSession,
  type CostWorker,
  capacityShare,
  costReport,
  dayCuts,
  fleetUsage,
  holdOf,
  sessionCharge,
  templatePrice,
  type UsageSession,
  type UsageWorker,
  workerPeriods,
} from '@lcm/shared/fleet';
import type { Capacity, SessionStatus, WorkerStatus } from '@lcm/shared/kernel';
import { describe, expect, it } from 'vitest';
import { COST_WORKED_EXAMPLE_TOTALS } from './builders.ts';

/**
 * The worked example of docs/cost.md (issue 13, item 4): two hosts, three sessions, one idle hour.
 * Window 08:00–14:00 UTC on 2030-03-02. Every figure below is computed by hand here.
 *
 * Host A, template a-big, $4.00/h, declares 16 cpu / 64 GB / 400 GB / 40 nodes. RUNNING since
 * 07:20, DRAINING 12:00, SHUTTING_DOWN 12:00, TERMINATED 12:00 → billed running 08:00–12:00 = 4 h
 * = $16.00 in the window.
 *   s1 (definition ospf) needs 8 cpu, 16 GB, 40 GB, 4 nodes: shares .5, .25, .1, .1 → share 0.5;
 *      placed 08:00 (PENDING → SCHEDULED), STOPPING → STOPPED 10:00 → holds 08:00–10:00.
 *   s2 (definition bgp) needs 4 cpu, 32 GB, 20 GB, 2 nodes: .25, .5, .05, .05 → share 0.5;
 *      holds 09:00–12:00.
 *   08–09 s1 alone:  s1 0.5 × $4 = $2;  unallocated (1 − 0.5) × $4 = $2
 *   09–10 s1 + s2:   s1 $2, s2 $2;       shares add up to 1: nothing unallocated
 *   10–12 s2 alone:  s2 0.5 × $4 × 2 h = $4; unallocated $4
 *   → s1 $4, s2 $6, unallocated $6, total $16, busy 0.5 h + 1 h + 1 h = 2.5 share-hours.
 *
 * Host B, template b-small, $2.00/h, stopped $0.05/h, declares 8 cpu / 32 GB / 200 GB / 20 nodes.
 * PENDING 07:00 → PROVISIONING 07:00 → STARTING 07:10 → RUNNING 07:30 → DRAINING 10:30 →
 * STOPPING 10:45 → STOPPED 11:00 → billed running 08:00–11:00 = 3 h = $6.00, stopped
 * 11:00–14:00 = 3 h × $0.05 = $0.15.
 *   s3 (definition ospf) needs 8 cpu (the whole host) → share 1; holds 08:00–10:00.
 *   08–10 s3: $2 × 2 h = $4;   10–11 nobody: the idle hour, $2;   11–14 stopped: $0.15.
 *   → busy 2 share-hours.
 *
 * Fleet: total 16 + 6 + 0.15 = $22.15 = attributed 14 − overlap 0 + unallocated 6 + idle 2 +
 * stopped 0.15. Running hours 4 + 3 = 7; utilisation (2.5 + 2) / 7 = 0.642857; idle share
 * 2 / 22.15 = 0.090293; 3 sessions, mean 14 / 3 = $4.666667.
 * By definition: ospf s1 $4 + s3 $4 = $8 over 2 sessions (mean $4); bgp $6 over 1.
 */

const T = (hhmm: string) => `2030-03-02T${hhmm}:00.000Z`;
const ms = (hhmm: string) => Date.parse(T(hhmm));
const WINDOW = { start: ms('08:00'), end: ms('14:00') };
const NOW = ms('15:00');
const cap = (cpuCores: number, memoryGb: number, storageGb: number, maxNodes: number): Capacity => ({
  cpuCores,
  memoryGb,
  storageGb,
  maxNodes,
});
const w = (from: WorkerStatus, to: WorkerStatus, hhmm: string) => ({ from, to, at: T(hhmm), by: 'test' });
const s = (from: SessionStatus, to: SessionStatus, hhmm: string) => ({ from, to, at: T(hhmm), by: 'test' });

const A_DECLARED = cap(16, 64, 400, 40);
const B_DECLARED = cap(8, 32, 200, 20);

const hostA: UsageWorker = {
  id: 'w-a',
  templateName: 'a-big',
  declared: A_DECLARED,
  price: templatePrice({ costPerHourUsd: 4, capacity: A_DECLARED }),
  periods: workerPeriods(
    {
      status: 'TERMINATED',
      createdAt: T('07:00'),
      stateHistory: [
        w('PENDING', 'PROVISIONING', '07:00'),
        w('PROVISIONING', 'STARTING', '07:05'),
        w('STARTING', 'RUNNING', '07:20'),
        w('RUNNING', 'DRAINING', '12:00'),
        w('DRAINING', 'SHUTTING_DOWN', '12:00'),
        w('SHUTTING_DOWN', 'TERMINATED', '12:00'),
      ],
    },
    NOW,
  ),
};
const hostB: UsageWorker = {
  id: 'w-b',
  templateName: 'b-small',
  declared: B_DECLARED,
  price: templatePrice({ costPerHourUsd: 2, stoppedCostPerHourUsd: 0.05, capacity: B_DECLARED }),
  periods: workerPeriods(
    {
      status: 'STOPPED',
      createdAt: T('07:00'),
      stateHistory: [
        w('PENDING', 'PROVISIONING', '07:00'),
        w('PROVISIONING', 'STARTING', '07:10'),
        w('STARTING', 'RUNNING', '07:30'),
        w('RUNNING', 'DRAINING', '10:30'),
        w('DRAINING', 'STOPPING', '10:45'),
        w('STOPPING', 'STOPPED', '11:00'),
      ],
    },
    NOW,
  ),
};

/** A whole happy-path history from placement at `placed` to STOPPED at `stopped`. */
const lifecycle = (placed: string, stopped: string) => [
  s('PENDING', 'SCHEDULED', placed),
  s('SCHEDULED', 'INSTANTIATING', placed),
  s('INSTANTIATING', 'READY', placed),
  s('READY', 'RUNNING', placed),
  s('RUNNING', 'STOPPING', stopped),
  s('STOPPING', 'STOPPED', stopped),
  s('STOPPED', 'ARCHIVED', stopped),
  s('ARCHIVED', 'TERMINATED', stopped),
];

const session = (
  id: string,
  definitionId: string,
  worker: UsageWorker,
  need: Capacity,
  history: ReturnType<typeof lifecycle>,
): UsageSession => {
  const hold = holdOf(history, NOW);
  if (!hold) throw new Error(`${id} was never placed`);
  return {
    id,
    definitionId,
    workerId: worker.id,
    share: capacityShare(need, worker.declared),
    hold,
    allocated: need,
  };
};

const s1 = session('s1', 'ospf', hostA, cap(8, 16, 40, 4), lifecycle('08:00', '10:00'));
const s2 = session('s2', 'bgp', hostA, cap(4, 32, 20, 2), lifecycle('09:00', '12:00'));
const s3 = session('s3', 'ospf', hostB, cap(8, 8, 10, 2), lifecycle('08:00', '10:00'));
const WORKERS = [hostA, hostB];
const SESSIONS = [s1, s2, s3];

describe('cost attribution: the worked example (two hosts, three sessions, one idle hour)', () => {
  it('reads the histories: billed periods, holds and shares', () => {
    expect(hostB.periods.map((p) => [p.status, new Date(p.start).toISOString().slice(11, 16)])).toEqual([
      ['PROVISIONING', '07:00'],
      ['STARTING', '07:10'],
      ['RUNNING', '07:30'],
      ['DRAINING', '10:30'],
      ['STOPPING', '10:45'],
      ['STOPPED', '11:00'],
    ]);
    expect(hostB.periods.at(-1)?.end).toBe(NOW);
    expect([s1.share, s2.share, s3.share]).toEqual([0.5, 0.5, 1]);
    expect(s1.hold).toEqual({ start: ms('08:00'), end: ms('10:00') });
    expect(s2.hold).toEqual({ start: ms('09:00'), end: ms('12:00') });
    // The default stopped price: 400 GB × $0.08 per GB-month / 730 h.
    expect(hostA.price.stoppedPerHourUsd).toBeCloseTo((400 * 0.08) / 730, 12);
  });

  it('fleet totals: $22.15 = attributed 14 + unallocated 6 + idle 2 + stopped 0.15', () => {
    const report = costReport(WORKERS, SESSIONS, WINDOW, 'template');
    expect(report.totals).toEqual(COST_WORKED_EXAMPLE_TOTALS);
    expect(report.from).toBe(T('08:00'));
    expect(report.to).toBe(T('14:00'));
  });

  it('per template: the hosts of each', () => {
    const { groups } = costReport(WORKERS, SESSIONS, WINDOW, 'template');
    expect(
      groups.map((g) => [g.key, g.costUsd, g.attributedUsd, g.sessions, g.meanCostPerSessionUsd]),
    ).toEqual([
      ['a-big', 16, 10, 2, 5],
      ['b-small', 6.15, 4, 1, 4],
    ]);
    expect(groups[0]?.breakdown).toMatchObject({
      idleUsd: 0,
      unallocatedUsd: 6,
      runningHours: 4,
      utilisation: 0.625,
    });
    expect(groups[1]?.breakdown).toMatchObject({
      idleUsd: 2,
      idleHours: 1,
      stoppedUsd: 0.15,
      utilisation: 0.666667,
    });
  });

  it('per definition: what its sessions were charged, and the mean per session', () => {
    const { groups, totals } = costReport(WORKERS, SESSIONS, WINDOW, 'definition');
    expect(groups).toEqual([
      { key: 'bgp', costUsd: 6, attributedUsd: 6, sessions: 1, meanCostPerSessionUsd: 6 },
      { key: 'ospf', costUsd: 8, attributedUsd: 8, sessions: 2, meanCostPerSessionUsd: 4 },
    ]);
    expect(totals.totalUsd).toBe(22.15);
  });

  it('per session: s1 $4, s2 $6, s3 $4, whatever window the question is asked in', () => {
    expect(sessionCharge(hostA, s1)).toBe(4);
    expect(sessionCharge(hostA, s2)).toBe(6);
    expect(sessionCharge(hostB, s3)).toBe(4);
    // Within 09:30–11:00 only: s2 holds 1.5 h of it at 0.5 × $4.
    expect(sessionCharge(hostA, s2, { start: ms('09:30'), end: ms('11:00') })).toBe(3);
  });

  it('per day: a window over midnight splits at 00:00 UTC', () => {
    const late: UsageWorker = {
      ...hostB,
      id: 'w-night',
      periods: workerPeriods(
        { status: 'RUNNING', createdAt: '2030-03-02T22:00:00.000Z', stateHistory: [] },
        Date.parse('2030-03-03T02:00:00.000Z'),
      ),
    };
    const window = {
      start: Date.parse('2030-03-02T23:00:00.000Z'),
      end: Date.parse('2030-03-03T03:00:00.000Z'),
    };
    expect(dayCuts(window)).toEqual([Date.parse('2030-03-03T00:00:00.000Z')]);
    const { groups } = costReport([late], [], window, 'day');
    // 23:00–00:00 one hour, 00:00–02:00 two hours (the worker's history ends at "now", 02:00).
    expect(groups.map((g) => [g.key, g.costUsd, g.breakdown?.idleHours])).toEqual([
      ['2030-03-02', 2, 1],
      ['2030-03-03', 4, 2],
    ]);
  });

  it('shares on different dimensions may add up to more than 1: the excess is overlap', () => {
    const cpuHeavy = { ...s1, id: 'cpu', share: capacityShare(cap(12, 8, 0, 0), A_DECLARED) }; // 0.75
    const memHeavy = { ...s1, id: 'mem', share: capacityShare(cap(2, 48, 0, 0), A_DECLARED) }; // 0.75
    const { totals } = costReport(
      [hostA],
      [cpuHeavy, memHeavy],
      { start: ms('08:00'), end: ms('10:00') },
      'day',
    );
    // 2 h × $4 = $8; each is charged 0.75 × 8 = $6; 12 − 8 = $4 overlap; utilisation capped at 1.
    expect(totals).toMatchObject({
      totalUsd: 8,
      attributedUsd: 12,
      overlapUsd: 4,
      unallocatedUsd: 0,
      utilisation: 1,
    });
    expect(
      totals.attributedUsd - totals.overlapUsd + totals.unallocatedUsd + totals.idleUsd + totals.stoppedUsd,
    ).toBe(totals.totalUsd);
  });
});

describe('cost rules', () => {
  it('bills every status holding an instance as running, STOPPED as volumes, PENDING and TERMINATED not', () => {
    expect(
      (
        [
          'PENDING',
          'PROVISIONING',
          'STARTING',
          'RUNNING',
          'DRAINING',
          'STOPPING',
          'STOPPED',
          'SHUTTING_DOWN',
          'TERMINATED',
          'FAILED',
        ] as const
      ).map(billingStateOf),
    ).toEqual([
      'none',
      'running',
      'running',
      'running',
      'running',
      'running',
      'stopped',
      'running',
      'none',
      'running',
    ]);
  });

  it('a session never placed holds nothing; one still placed holds until now', () => {
    expect(holdOf([s('PENDING', 'TERMINATED', '08:00')], NOW)).toBeUndefined();
    expect(
      holdOf([s('PENDING', 'SCHEDULED', '08:00'), s('SCHEDULED', 'INSTANTIATING', '08:01')], NOW),
    ).toEqual({
      start: ms('08:00'),
      end: NOW,
    });
    // Failed while placed: TERMINATED straight from READY ends the hold.
    expect(holdOf([s('PENDING', 'SCHEDULED', '08:00'), s('READY', 'TERMINATED', '08:30')], NOW)).toEqual({
      start: ms('08:00'),
      end: ms('08:30'),
    });
  });

  it('capacity share: the dominant dimension, capped at 1; a dimension the host lacks is a full share', () => {
    expect(capacityShare(cap(1, 2, 3, 4), cap(10, 10, 100, 100))).toBe(0.2);
    expect(capacityShare(cap(0, 0, 0, 0), cap(10, 10, 100, 100))).toBe(0);
    expect(capacityShare(cap(0, 0, 0, 1), cap(10, 10, 100, 0))).toBe(1);
    expect(capacityShare(cap(20, 0, 0, 0), cap(10, 10, 100, 100))).toBe(1);
  });
});

describe('fleet usage over time', () => {
  it('hourly points of the worked example', () => {
    const points = fleetUsage(WORKERS, SESSIONS, WINDOW, 3_600_000);
    expect(points.map((p) => p.at.slice(11, 16))).toEqual([
      '08:00',
      '09:00',
      '10:00',
      '11:00',
      '12:00',
      '13:00',
    ]);
    // 08:00: both RUNNING; s1 and s3 placed; $4 + $2 an hour; the hour cost $6.
    expect(points[0]).toMatchObject({
      workersByStatus: expect.objectContaining({ RUNNING: 2, STOPPED: 0 }),
      declared: cap(24, 96, 600, 60),
      allocated: cap(16, 24, 50, 6),
      sessionsActive: 2,
      sessionsHeld: 2,
      costRatePerHourUsd: 6,
      costUsd: 6,
    });
    // 10:00: s2 alone; B running idle (DRAINING from 10:30 is still billed) → held s2 only.
    expect(points[2]).toMatchObject({
      sessionsActive: 1,
      sessionsHeld: 1,
      costUsd: 6,
      allocated: cap(4, 32, 20, 2),
    });
    // 11:00: B STOPPED ($0.05), A RUNNING with s2.
    expect(points[3]).toMatchObject({
      workersByStatus: expect.objectContaining({ RUNNING: 1, STOPPED: 1 }),
      declared: A_DECLARED,
      costRatePerHourUsd: 4.05,
      costUsd: 4.05,
    });
    // 12:00: A TERMINATED, B STOPPED: only volumes.
    expect(points[4]).toMatchObject({
      workersByStatus: expect.objectContaining({ TERMINATED: 1, STOPPED: 1 }),
      sessionsActive: 0,
      costRatePerHourUsd: 0.05,
      costUsd: 0.05,
    });
    // The steps add up to the report's total.
    const sum = points.reduce((a, p) => a + p.costUsd, 0);
    expect(sum).toBeCloseTo(22.15, 9);
  });

  it('a session shorter than the step still shows as held', () => {
    const brief: UsageSession = { ...s1, id: 'brief', hold: { start: ms('08:10'), end: ms('08:20') } };
    const [first] = fleetUsage([hostA], [brief], { start: ms('08:00'), end: ms('09:00') }, 3_600_000);
    expect(first).toMatchObject({ sessionsActive: 0, sessionsHeld: 1 });
  });

  it('the cost rules see only what they are given', () => {
    const none: CostWorker[] = [];
    const nobody: CostSession[] = [];
    expect(costReport(none, nobody, WINDOW, 'day').totals.totalUsd).toBe(0);
  });
});
