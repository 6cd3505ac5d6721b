import { describe, expect, it } from 'vitest';
import { cheapestMix, instants, perInstantBounds } from '../../bench/fleet/bounds.ts';
import { singleTemplateBound } from '../../bench/fleet/lower-bound.ts';
import { template } from './builders.ts';

/** The fleet benchmark's per-instant bounds (bench/fleet/bounds.ts) on cases small enough to check by hand. */

const cap = (cpuCores: number, memoryGb: number) => ({ cpuCores, memoryGb, storageGb: 1000, maxNodes: 1000 });
const need = (cpuCores: number, memoryGb: number) => ({ cpuCores, memoryGb, storageGb: 0, maxNodes: 0 });

// A CPU-heavy and a memory-heavy host at the same price: a 50/50 demand wants one of each.
const cpuHost = template({ name: 'cpu', capacity: cap(64, 128), costPerHourUsd: 2 });
const memHost = template({ name: 'mem', capacity: cap(16, 512), costPerHourUsd: 2 });

describe('per-instant integer bound', () => {
  it('mixes templates when a mix beats either alone', async () => {
    // 70 cores and 600 GB: cpu alone needs 5 hosts (memory), mem alone 5 (cores), one each falls
    // short (80 cores, 640 GB is enough: 64 + 16 = 80 ≥ 70, 128 + 512 = 640 ≥ 600).
    const demand = need(70, 600);
    const mix = await cheapestMix(demand, [cpuHost, memHost], 'integer');
    expect(mix.counts).toEqual({ cpu: 1, mem: 1 });
    expect(mix.costPerHour).toBeCloseTo(4, 9);
    expect((await cheapestMix(demand, [cpuHost], 'integer')).costPerHour).toBeCloseTo(10, 9);
    expect((await cheapestMix(demand, [memHost], 'integer')).costPerHour).toBeCloseTo(10, 9);
  });

  it('is above the LP bound when whole hosts waste capacity', async () => {
    // 65 cores on 64-core hosts at $2: the LP buys 65/64 of a host ($2.03), the integer bound 2.
    const demand = need(65, 10);
    const lp = await cheapestMix(demand, [cpuHost], 'fractional');
    const integer = await cheapestMix(demand, [cpuHost], 'integer');
    expect(lp.costPerHour).toBeCloseTo((65 / 64) * 2, 9);
    expect(integer.costPerHour).toBeCloseTo(4, 9);
    expect(lp.counts.cpu).toBeCloseTo(65 / 64, 9);
  });

  it('integrates each instant of a step function, and is below the single-template yardstick', async () => {
    // 0–60: 70 cores / 600 GB (one of each, $4/h); 60–90: only the memory part, 6 / 500 GB ($2/h).
    const intervals = [
      { from: 0, to: 60, need: need(64, 100) },
      { from: 0, to: 90, need: need(6, 500) },
    ];
    expect(instants(intervals).map((s) => [s.from, s.to, s.demand.cpuCores, s.demand.memoryGb])).toEqual([
      [0, 60, 70, 600],
      [60, 90, 6, 500],
    ]);
    const b = await perInstantBounds(intervals, [cpuHost, memHost]);
    expect(b.integer.cost).toBeCloseTo(4 * 1 + 2 * 0.5, 9);
    expect(b.integer.hostHours).toBeCloseTo(2 * 1 + 1 * 0.5, 9);
    expect(b.integer.hostHoursByTemplate).toEqual({ cpu: 1, mem: 1.5 });
    expect(b.fractional.cost).toBeLessThanOrEqual(b.integer.cost + 1e-9);
    expect(b.instants).toBe(2);
    // The yardstick rounds each dimension to whole hosts of its best template alone: 0–60 needs
    // 2 cpu hosts (cores) or 2 mem hosts (memory), i.e. $4; 60–90 one mem host.
    const yardstick = singleTemplateBound(intervals, [cpuHost, memHost]);
    expect(yardstick.cost).toBeGreaterThanOrEqual(b.integer.cost - 1e-9);
  });

  it('solves identical demand vectors once and leaves disabled or unpriced templates out', async () => {
    const free = template({ name: 'free', capacity: cap(1000, 10_000), costPerHourUsd: 0 });
    const off = template({ name: 'off', capacity: cap(1000, 10_000), costPerHourUsd: 0.01, enabled: false });
    const intervals = [
      { from: 0, to: 10, need: need(10, 10) },
      { from: 20, to: 30, need: need(10, 10) },
    ];
    const b = await perInstantBounds(intervals, [cpuHost, free, off]);
    expect(b.instants).toBe(3); // 0–10, 10–20 (nothing), 20–30
    expect(b.distinctDemands).toBe(2); // (10, 10) and zero
    expect(b.integer.cost).toBeCloseTo(2 * (20 / 60), 9);
  });
});
