/**
 * Demand intervals of a trace, and the single-template yardstick of its cost: for each instant,
 * each resource's total demand divided by the capacity of the template with the most of that
 * resource per dollar, rounded up to whole hosts; the most demanding resource sets the cost of
 * that instant; integrated over time.
 *
 * The yardstick is not a lower bound for a fleet of several templates: a cheaper mix (or one
 * small host at night) can undercut it. The bounds are in bounds.ts (per-instant integer and LP)
 * and offline.ts (the clairvoyant optimum of a small trace); the simulator still reports the
 * yardstick for comparison with the figures measured against it before.
 */

import type { Capacity, WorkerTemplate } from '@lcm/shared/kernel';
import { CAPACITY_DIMENSIONS, type CapacityDimension } from '@lcm/shared/kernel';
import type { Reservation, SimDefinition } from './trace.ts';

export interface SingleTemplateBound {
  cost: number;
  hostHours: number;
  /** Per dimension: the template with the most of it per dollar. */
  bestTemplate: Record<CapacityDimension, string>;
}

export interface DemandInterval {
  from: number;
  to: number;
  need: Capacity;
}

/**
 * `padBefore`/`padAfter` (minutes) widen each session's interval: the physical footprint of a
 * lab starts when it is instantiated (before the timeslot, so it is READY at the start) and ends
 * when its teardown has released the host. With both 0 the bound counts the timeslots only.
 */
export function sessionIntervals(
  reservations: readonly Reservation[],
  definitions: readonly SimDefinition[],
  padBefore: number,
  padAfter: number,
): DemandInterval[] {
  const byId = new Map(definitions.map((d) => [d.id, d]));
  return reservations.map((r) => {
    const req = byId.get(r.definitionId)!.requirements;
    return {
      from: r.start - padBefore,
      to: r.end + padAfter,
      need: {
        cpuCores: req.cpuCores,
        memoryGb: req.memoryGb,
        storageGb: req.storageGb,
        maxNodes: req.nodeCount,
      },
    };
  });
}

/** The demand of a trace as a step function: one entry per instant (interval between change points). */
export interface Instant {
  from: number;
  to: number;
  demand: Capacity;
}

export function instants(intervals: readonly DemandInterval[]): Instant[] {
  const changes = new Map<number, Capacity>();
  const bump = (at: number, c: Capacity, sign: 1 | -1): void => {
    const cur = changes.get(at) ?? { cpuCores: 0, memoryGb: 0, storageGb: 0, maxNodes: 0 };
    for (const d of CAPACITY_DIMENSIONS) cur[d] += sign * c[d];
    changes.set(at, cur);
  };
  for (const i of intervals) {
    if (i.to <= i.from) continue;
    bump(i.from, i.need, 1);
    bump(i.to, i.need, -1);
  }
  const times = [...changes.keys()].sort((a, b) => a - b);
  const total: Capacity = { cpuCores: 0, memoryGb: 0, storageGb: 0, maxNodes: 0 };
  const out: Instant[] = [];
  for (let k = 0; k < times.length - 1; k++) {
    const delta = changes.get(times[k]!)!;
    for (const d of CAPACITY_DIMENSIONS) total[d] += delta[d];
    out.push({ from: times[k]!, to: times[k + 1]!, demand: { ...total } });
  }
  return out;
}

export function singleTemplateBound(
  intervals: readonly DemandInterval[],
  templates: readonly WorkerTemplate[],
): SingleTemplateBound {
  const enabled = templates.filter((t) => t.enabled !== false && t.costPerHourUsd > 0);
  const best = {} as Record<CapacityDimension, WorkerTemplate>;
  for (const d of CAPACITY_DIMENSIONS) {
    let top: WorkerTemplate | undefined;
    for (const t of enabled) {
      if (t.capacity[d] <= 0) continue;
      if (top === undefined || t.capacity[d] / t.costPerHourUsd > top.capacity[d] / top.costPerHourUsd)
        top = t;
    }
    if (top !== undefined) best[d] = top;
  }
  const dims = CAPACITY_DIMENSIONS.filter((d) => best[d] !== undefined);

  let cost = 0;
  let hostHours = 0;
  for (const s of instants(intervals)) {
    const hours = (s.to - s.from) / 60;
    let instantCost = 0;
    let instantHosts = 0;
    for (const d of dims) {
      const t = best[d];
      const hosts = Math.ceil(Math.round((s.demand[d] / t.capacity[d]) * 1e6) / 1e6);
      const c = hosts * t.costPerHourUsd;
      if (c > instantCost) {
        instantCost = c;
        instantHosts = hosts;
      }
    }
    cost += instantCost * hours;
    hostHours += instantHosts * hours;
  }
  const bestTemplate = {} as Record<CapacityDimension, string>;
  for (const d of dims) bestTemplate[d] = best[d].name;
  return { cost, hostHours, bestTemplate };
}
