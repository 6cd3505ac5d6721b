import type { PooledLab } from '@lcm/shared/kernel';
import { mayClaim, planPools, poolCost, poolDemand, poolHolds } from '@lcm/shared/sessions';
import { describe, expect, it } from 'vitest';

/** The hot-start pools' pure rules (issue 15, items 3 and 4): sessions/rules/pools.ts. */

const T0 = Date.parse('2030-01-01T08:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const REQ = { cpuCores: 4, memoryGb: 8, storageGb: 20, nodeCount: 2 };

const lab = (over: Partial<PooledLab>): PooledLab => ({
  id: 'pool-1',
  definitionId: 'd',
  definitionVersion: 1,
  status: 'READY',
  requirements: REQ,
  licenseAffinity: [],
  podType: 'CML_ON_AWS',
  portTemplate: [],
  workerId: 'w-1',
  allocatedPorts: {},
  placedAt: iso(T0),
  createdAt: iso(T0),
  updatedAt: iso(T0),
  version: 1,
  ...over,
});

const def = (
  over: Partial<{
    id: string;
    version: number;
    status: 'ACTIVE' | 'DEPRECATED' | 'ARCHIVED';
    warmPoolDepth: number;
  }> = {},
) => ({
  id: 'd',
  version: 1,
  status: 'ACTIVE' as const,
  warmPoolDepth: 2,
  resourceRequirements: REQ,
  licenseAffinity: [],
  podType: 'CML_ON_AWS' as const,
  portTemplate: [],
  ...over,
});

const running = () => 'RUNNING' as const;

describe('planPools', () => {
  it('places what a pool lacks and progresses what is not READY', () => {
    const plan = planPools([def()], [lab({ id: 'a', status: 'BOOTING' })], running, T0);
    expect(plan.place).toEqual([{ definitionId: 'd', definitionVersion: 1, count: 1 }]);
    expect(plan.progress.map((l) => l.id)).toEqual(['a']);
    expect(plan.release).toEqual([]);
  });

  it('drains an old version, empties a deprecated definition, releases labs on a worker that is not RUNNING', () => {
    const old = planPools([def({ version: 2 })], [lab({ id: 'a' })], running, T0);
    expect(old.release[0]?.reason).toContain('supersedes v1');
    expect(old.place).toEqual([{ definitionId: 'd', definitionVersion: 2, count: 2 }]);
    const deprecated = planPools([def({ status: 'DEPRECATED' })], [lab({ id: 'a' })], running, T0);
    expect(deprecated.release[0]?.reason).toContain('DEPRECATED');
    expect(deprecated.place).toEqual([]);
    const drained = planPools([def()], [lab({ id: 'a' })], () => 'DRAINING', T0);
    expect(drained.release[0]?.reason).toBe('worker w-1 is DRAINING');
    const gone = planPools([], [lab({ id: 'a' })], running, T0);
    expect(gone.release[0]?.reason).toContain('is gone');
  });

  it('trims the least advanced labs first when the depth drops; claimed and released labs count for nothing', () => {
    const labs = [
      lab({ id: 'ready' }),
      lab({ id: 'placed', status: 'PLACED' }),
      lab({ id: 'booting', status: 'BOOTING' }),
      lab({ id: 'claimed', status: 'CLAIMED' }),
      lab({ id: 'released', status: 'RELEASED' }),
    ];
    const plan = planPools([def({ warmPoolDepth: 1 })], labs, running, T0);
    expect(plan.release.map((r) => r.lab.id)).toEqual(['placed', 'booting']);
    expect(plan.place).toEqual([]);
  });

  it('releases a lab not converged by its boot deadline', () => {
    const plan = planPools(
      [def({ warmPoolDepth: 1 })],
      [lab({ id: 'a', status: 'BOOTING', bootDeadline: iso(T0 - 1) })],
      running,
      T0,
    );
    expect(plan.release[0]?.reason).toContain('did not converge');
    expect(plan.place[0]?.count).toBe(1);
  });
});

describe('claims, demand and holds', () => {
  it('a walk-in may claim: PENDING, unplaced, starting within the boot time, not over', () => {
    const slot = (startIn: number, endIn = 3_600_000) => ({ start: iso(T0 + startIn), end: iso(T0 + endIn) });
    expect(mayClaim({ status: 'PENDING', timeslot: slot(0) }, T0, 0)).toBe(true);
    expect(mayClaim({ status: 'PENDING', timeslot: slot(600_000) }, T0, 600)).toBe(true);
    expect(mayClaim({ status: 'PENDING', timeslot: slot(601_000) }, T0, 600)).toBe(false);
    expect(mayClaim({ status: 'PENDING', workerId: 'w', timeslot: slot(0) }, T0, 600)).toBe(false);
    expect(mayClaim({ status: 'SCHEDULED', timeslot: slot(0) }, T0, 600)).toBe(false);
    expect(mayClaim({ status: 'PENDING', timeslot: slot(-7_200_000, -1) }, T0, 600)).toBe(false);
  });

  it('the scaler sees the labs a pool lacks; the book holds the whole depth of ACTIVE pools', () => {
    expect(poolDemand([def()], [lab({})], T0)).toHaveLength(1);
    expect(poolDemand([def({ status: 'DEPRECATED' })], [], T0)).toEqual([]);
    const holds = poolHolds([def(), def({ id: 'e', status: 'ARCHIVED' })], T0, T0 + 60_000);
    expect(holds.map((h) => h.id)).toEqual(['pool:d:0', 'pool:d:1']);
    expect(holds[0]?.timeslot).toEqual({ start: iso(T0), end: iso(T0 + 60_000) });
  });
});

describe('poolCost', () => {
  const worker = {
    id: 'w-1',
    declared: { cpuCores: 16, memoryGb: 64, storageGb: 500, maxNodes: 50 },
    runningPerHourUsd: 4,
    periods: [
      { start: T0 - 3_600_000, end: T0 + 3_600_000, status: 'RUNNING' as const },
      { start: T0 + 3_600_000, end: T0 + 7_200_000, status: 'STOPPED' as const },
    ],
  };
  it('charges share × price × hours held while the worker ran, per definition, within the window', () => {
    const labs = [
      lab({ id: 'a', placedAt: iso(T0), endedAt: iso(T0 + 1_800_000) }),
      lab({ id: 'b', definitionId: 'e', placedAt: iso(T0 - 7_200_000) }),
    ];
    const cost = poolCost(
      labs,
      new Map([['w-1', worker]]),
      () => 0.25,
      { start: T0, end: T0 + 7_200_000 },
      T0 + 5_400_000,
    );
    // a: 0.5 h running; b: from T0 (window) to now (1.5 h), of which 1 h running.
    expect(cost.definitions).toEqual([
      { definitionId: 'd', costUsd: 0.5, labHours: 0.5, labs: 1 },
      { definitionId: 'e', costUsd: 1, labHours: 1.5, labs: 1 },
    ]);
    expect(cost.costUsd).toBe(1.5);
    expect(cost.labs).toBe(2);
  });
});
