import { ValidationError } from './errors.ts';
import type { Capacity, ResourceRequirements } from './schemas.ts';

/** Capacity arithmetic. Values are rounded to 1/1000 so repeated add/subtract never drifts. */

export const ZERO_CAPACITY: Capacity = Object.freeze({ cpuCores: 0, memoryGb: 0, storageGb: 0, maxNodes: 0 });

const DIMENSIONS = ['cpuCores', 'memoryGb', 'storageGb', 'maxNodes'] as const;
export type CapacityDimension = (typeof DIMENSIONS)[number];
export const CAPACITY_DIMENSIONS: readonly CapacityDimension[] = DIMENSIONS;

const round = (n: number): number => Math.round(n * 1000) / 1000;

function check(c: Capacity, field: string): void {
  for (const d of DIMENSIONS) {
    const v = c[d];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new ValidationError(`${field}.${d}`, `must be a finite number >= 0, got ${String(v)}`);
    }
  }
}

/** A definition's requirements expressed in capacity units (nodeCount counts against maxNodes). */
export function requirementsAsCapacity(r: ResourceRequirements): Capacity {
  const c = { cpuCores: r.cpuCores, memoryGb: r.memoryGb, storageGb: r.storageGb, maxNodes: r.nodeCount };
  check(c, 'requirements');
  return c;
}

export function addCapacity(a: Capacity, b: Capacity): Capacity {
  check(a, 'a');
  check(b, 'b');
  return {
    cpuCores: round(a.cpuCores + b.cpuCores),
    memoryGb: round(a.memoryGb + b.memoryGb),
    storageGb: round(a.storageGb + b.storageGb),
    maxNodes: a.maxNodes + b.maxNodes,
  };
}

/** a − b; throws when the result would be negative (a release of more than was allocated). */
export function subtractCapacity(a: Capacity, b: Capacity): Capacity {
  check(a, 'a');
  check(b, 'b');
  const out: Capacity = {
    cpuCores: round(a.cpuCores - b.cpuCores),
    memoryGb: round(a.memoryGb - b.memoryGb),
    storageGb: round(a.storageGb - b.storageGb),
    maxNodes: a.maxNodes - b.maxNodes,
  };
  for (const d of DIMENSIONS) {
    if (out[d] < 0) throw new ValidationError(d, `would become negative (${out[d]})`);
  }
  return out;
}

/** What is left: declared − allocated, floored at zero per dimension. */
export function freeCapacity(declared: Capacity, allocated: Capacity): Capacity {
  return {
    cpuCores: Math.max(0, round(declared.cpuCores - allocated.cpuCores)),
    memoryGb: Math.max(0, round(declared.memoryGb - allocated.memoryGb)),
    storageGb: Math.max(0, round(declared.storageGb - allocated.storageGb)),
    maxNodes: Math.max(0, declared.maxNodes - allocated.maxNodes),
  };
}

/** True when `need` fits on top of `allocated` within `declared`, in every dimension. */
export function fits(declared: Capacity, allocated: Capacity, need: Capacity): boolean {
  for (const d of DIMENSIONS) {
    if (round(allocated[d] + need[d]) > declared[d]) return false;
  }
  return true;
}

/** The dimensions in which `need` does not fit (empty when it fits). */
export function shortfall(declared: Capacity, allocated: Capacity, need: Capacity): CapacityDimension[] {
  return DIMENSIONS.filter((d) => round(allocated[d] + need[d]) > declared[d]);
}

/** Utilisation per dimension in [0, 1]; a dimension with zero declared capacity counts as 0. */
export function utilisation(declared: Capacity, allocated: Capacity): Record<CapacityDimension, number> {
  const u = {} as Record<CapacityDimension, number>;
  for (const d of DIMENSIONS) u[d] = declared[d] > 0 ? Math.min(1, allocated[d] / declared[d]) : 0;
  return u;
}
