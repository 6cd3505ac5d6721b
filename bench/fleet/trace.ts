/**
 * Seeded reservation traces for the fleet simulator: working-hours waves in two regions, class
 * cohorts of 20–40 sessions booked together for the same start, individual bookings with lead
 * times from minutes to days, mixed definition sizes and durations of 1–4 h.
 */
import type { PortTemplate, ResourceRequirements, WorkerTemplate } from '@lcm/shared/kernel';

export const MINUTES_PER_DAY = 24 * 60;
export const MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY;

/** mulberry32: tiny, fast, reproducible from a seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
export type Rand = () => number;

/**
 * A 32-bit seed derived from a seed and a key (murmur3's finaliser over both), for streams that
 * must not depend on how many numbers other streams drew: `prng(subSeed(seed, k))`.
 */
export function subSeed(seed: number, key: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(key >>> 0, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Uniform integer in [lo, hi]. */
export const int = (rand: Rand, lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
export const logUniform = (rand: Rand, lo: number, hi: number): number =>
  Math.exp(Math.log(lo) + rand() * Math.log(hi / lo));
export function weighted<T>(rand: Rand, items: ReadonlyArray<{ weight: number; value: T }>): T {
  let r = rand() * items.reduce((s, i) => s + i.weight, 0);
  for (const i of items) {
    r -= i.weight;
    if (r < 0) return i.value;
  }
  return items[items.length - 1]!.value;
}

export interface SimDefinition {
  id: string;
  requirements: ResourceRequirements;
  portTemplate: PortTemplate;
  /** Share of individual bookings and of cohorts using this definition. */
  weight: number;
}

export interface Reservation {
  id: string;
  definitionId: string;
  /** Minutes from the trace start; negative = booked before the simulation began. */
  bookedAt: number;
  start: number;
  end: number;
  cohort?: string | undefined;
}

export interface Trace {
  seed: number;
  weeks: number;
  /** ISO instant of minute 0 (a Monday, 00:00 UTC). */
  epoch: string;
  templates: WorkerTemplate[];
  definitions: SimDefinition[];
  /** Sorted by booking time. */
  reservations: Reservation[];
}

export interface TraceOptions {
  seed: number;
  weeks: number;
  /** Class cohorts per weekday (uniform in the range). */
  cohortsPerWeekday: [number, number];
  cohortSize: [number, number];
  /** Individual bookings per weekday (uniform in the range); weekends get `weekendShare` of it. */
  individualsPerWeekday: [number, number];
  weekendShare: number;
}

export const DEFAULT_TRACE_OPTIONS: TraceOptions = {
  seed: 20260105,
  weeks: 3,
  cohortsPerWeekday: [4, 8],
  cohortSize: [20, 40],
  individualsPerWeekday: [150, 250],
  weekendShare: 0.15,
};

const EPOCH = '2026-01-05T00:00:00.000Z';
const AT = '2026-01-01T00:00:00.000Z';

export const ports = (n: number): PortTemplate =>
  Array.from({ length: n }, (_, i) => ({
    name: `n${i}_serial`,
    nodeLabel: `n${i}`,
    kind: 'serial' as const,
  }));

/**
 * Lab definitions with CML-like footprints (cores are the declared, lightly oversubscribed
 * vCPUs; memory dominates, as it does for IOSv/CSR/XRv/NX-OSv labs).
 */
export const SIM_DEFINITIONS: SimDefinition[] = [
  {
    id: 'ccna-basics',
    weight: 30,
    requirements: { cpuCores: 1, memoryGb: 4, storageGb: 16, nodeCount: 5 },
    portTemplate: ports(5),
  },
  {
    id: 'devnet-automation',
    weight: 15,
    requirements: { cpuCores: 2, memoryGb: 10, storageGb: 40, nodeCount: 6 },
    portTemplate: ports(6),
  },
  {
    id: 'ccnp-enterprise',
    weight: 30,
    requirements: { cpuCores: 4, memoryGb: 16, storageGb: 40, nodeCount: 10 },
    portTemplate: ports(10),
  },
  {
    id: 'ccnp-security',
    weight: 12,
    requirements: { cpuCores: 6, memoryGb: 28, storageGb: 80, nodeCount: 8 },
    portTemplate: ports(8),
  },
  {
    id: 'sp-xr',
    weight: 8,
    requirements: { cpuCores: 12, memoryGb: 48, storageGb: 100, nodeCount: 6 },
    portTemplate: ports(6),
  },
  {
    id: 'ccie-ei',
    weight: 5,
    requirements: { cpuCores: 16, memoryGb: 72, storageGb: 150, nodeCount: 30 },
    portTemplate: ports(30),
  },
];

export const simTemplate = (
  name: string,
  instanceType: string,
  capacity: WorkerTemplate['capacity'],
  costPerHourUsd: number,
): WorkerTemplate => ({
  name,
  instanceType,
  virtualisation: instanceType.includes('.metal') ? 'metal' : 'nested',
  capacity,
  amiNamePattern: 'cml-2.9.1-lcm-*',
  costPerHourUsd,
  licenseType: 'ENTERPRISE',
  podType: 'CML_ON_AWS',
  bootMinutes: 15,
  portRange: { start: 2000, end: 7999 },
  enabled: true,
  createdAt: AT,
  updatedAt: AT,
  version: 1,
});

/**
 * The default trace's worker templates, kept so its figures stay comparable with earlier runs:
 * illustrative us-east-1 on-demand prices. cml-96 (m5.metal) has the most capacity per dollar in
 * every dimension; cml-32 is the cheapest host; cml-48 (m5zn.metal, fast single-thread) is
 * dominated and should only win when nothing else fits the demand. cml-32 (m7i.8xlarge) could
 * not run CML (no bare metal, no nested virtualisation): templates.ts has CML-capable shapes.
 */
export const SIM_TEMPLATES: WorkerTemplate[] = [
  simTemplate('cml-96', 'm5.metal', { cpuCores: 96, memoryGb: 384, storageGb: 2000, maxNodes: 250 }, 4.608),
  simTemplate(
    'cml-48',
    'm5zn.metal',
    { cpuCores: 48, memoryGb: 192, storageGb: 1000, maxNodes: 120 },
    3.9641,
  ),
  simTemplate('cml-32', 'm7i.8xlarge', { cpuCores: 32, memoryGb: 128, storageGb: 600, maxNodes: 80 }, 1.6128),
];

/** Start of a cohort in one region's working day, in minutes after midnight UTC. */
interface Region {
  name: string;
  /** Cohort starts: on the hour or half hour within [first, last]. */
  cohortStart: [number, number];
  /** Individual starts: quarter hours within [first, last]. */
  individualStart: [number, number];
  share: number;
}

const REGIONS: Region[] = [
  { name: 'emea', cohortStart: [8 * 60, 14 * 60], individualStart: [7 * 60, 17 * 60], share: 0.55 },
  { name: 'amer', cohortStart: [14 * 60, 20 * 60], individualStart: [13 * 60, 23 * 60], share: 0.45 },
];

const COHORT_DURATIONS = [120, 180, 240];

/** Lead time of an individual booking: 65 % days ahead, 25 % hours ahead, 10 % minutes ahead. */
export function individualLead(rand: Rand): number {
  const r = rand();
  if (r < 0.65) return logUniform(rand, MINUTES_PER_DAY, 10 * MINUTES_PER_DAY);
  if (r < 0.9) return logUniform(rand, 60, MINUTES_PER_DAY);
  return logUniform(rand, 15, 60);
}

export function generateTrace(options: Partial<TraceOptions> = {}): Trace {
  const o = { ...DEFAULT_TRACE_OPTIONS, ...options };
  const rand = prng(o.seed);
  const defs = SIM_DEFINITIONS.map((d) => ({ weight: d.weight, value: d }));
  const regions = REGIONS.map((r) => ({ weight: r.share, value: r }));
  const out: Reservation[] = [];
  let n = 0;
  const id = (): string => `s-${String(++n).padStart(6, '0')}`;

  for (let day = 0; day < o.weeks * 7; day++) {
    const midnight = day * MINUTES_PER_DAY;
    const weekday = day % 7 < 5;
    if (weekday) {
      const cohorts = int(rand, o.cohortsPerWeekday[0], o.cohortsPerWeekday[1]);
      for (let c = 0; c < cohorts; c++) {
        const region = weighted(rand, regions);
        const slots = (region.cohortStart[1] - region.cohortStart[0]) / 30;
        const start = midnight + region.cohortStart[0] + 30 * int(rand, 0, slots);
        const end = start + COHORT_DURATIONS[int(rand, 0, COHORT_DURATIONS.length - 1)]!;
        const def = weighted(rand, defs);
        const size = int(rand, o.cohortSize[0], o.cohortSize[1]);
        const bookedAt = Math.round(start - logUniform(rand, MINUTES_PER_DAY, 14 * MINUTES_PER_DAY));
        const cohort = `c-${day}-${c}`;
        for (let i = 0; i < size; i++)
          out.push({ id: id(), definitionId: def.id, bookedAt, start, end, cohort });
      }
    }
    const base = int(rand, o.individualsPerWeekday[0], o.individualsPerWeekday[1]);
    const individuals = weekday ? base : Math.round(base * o.weekendShare);
    for (let i = 0; i < individuals; i++) {
      const region = weighted(rand, regions);
      const slots = (region.individualStart[1] - region.individualStart[0]) / 15;
      const start = midnight + region.individualStart[0] + 15 * int(rand, 0, slots);
      const end = start + 30 * int(rand, 2, 8);
      const bookedAt = Math.round(start - individualLead(rand));
      out.push({ id: id(), definitionId: weighted(rand, defs).id, bookedAt, start, end });
    }
  }
  out.sort((a, b) => a.bookedAt - b.bookedAt || a.start - b.start || (a.id < b.id ? -1 : 1));
  return {
    seed: o.seed,
    weeks: o.weeks,
    epoch: EPOCH,
    templates: SIM_TEMPLATES.map((t) => structuredClone(t)),
    definitions: SIM_DEFINITIONS,
    reservations: out,
  };
}
