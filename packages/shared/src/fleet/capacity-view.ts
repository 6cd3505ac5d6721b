import * as z from 'zod';
import type { Worker } from '../kernel/index.ts';
import {
  addCapacity,
  CapacitySchema,
  freeCapacity,
  Id,
  IsoDateTime,
  ServiceStatusSchema,
  utilisation,
  WORKER_STATUSES,
  type WorkerStatus,
  WorkerStatusSchema,
  ZERO_CAPACITY,
} from '../kernel/index.ts';
import type { WorkerStore } from './stores/worker-store.ts';
import { allWorkers } from './workers.ts';

/**
 * GET /v1/fleet/capacity: per-worker and fleet capacity, utilisation and counts by status, all
 * computed with the domain capacity functions from one read of the fleet.
 *
 * - `workers`: every worker that still exists (not TERMINATED), ordered by id.
 * - `totals`: the sum over those workers (a STOPPED or FAILED worker still counts: it is part
 *   of the fleet, not of what can be placed on now).
 * - `running`: the sum over RUNNING workers only, i.e. what placement can use.
 * - `countsByStatus`: every status, TERMINATED included, zero when none.
 * Utilisation is allocated / declared per dimension in [0, 1] (0 when nothing is declared).
 */

/** allocated / declared per dimension, in [0, 1]. */
const UtilisationSchema = z.object({
  cpuCores: z.number().min(0).max(1).describe('Allocated / declared vCPU, 0 to 1.'),
  memoryGb: z.number().min(0).max(1).describe('Allocated / declared memory, 0 to 1.'),
  storageGb: z.number().min(0).max(1).describe('Allocated / declared disk, 0 to 1.'),
  maxNodes: z.number().min(0).max(1).describe('Allocated / declared nodes, 0 to 1.'),
});

const CapacitySummarySchema = z.object({
  declared: CapacitySchema.describe('What is offered to sessions.'),
  allocated: CapacitySchema.describe('What sessions hold.'),
  free: CapacitySchema.describe('Declared minus allocated.'),
  utilisation: UtilisationSchema.describe('Allocated / declared per dimension.'),
});

export const FleetWorkerCapacitySchema = CapacitySummarySchema.extend({
  id: Id.describe('The worker id.'),
  templateName: z.string().describe('Its template.'),
  status: WorkerStatusSchema.describe('Its status.'),
  desiredStatus: WorkerStatusSchema.describe('The status asked for, while it gets there.').optional(),
  serviceStatus: ServiceStatusSchema.describe('Whether its CML answers.'),
  leasedPortCount: z.number().int().nonnegative().describe('Port leases held on it.'),
});
export type FleetWorkerCapacity = z.infer<typeof FleetWorkerCapacitySchema>;

const FleetTotalsSchema = CapacitySummarySchema.extend({
  workerCount: z.number().int().nonnegative().describe('How many workers are counted.'),
});
export type FleetTotals = z.infer<typeof FleetTotalsSchema>;

/** What getFleetCapacity returns (the API documents it as is). */
export const FleetCapacitySchema = z.object({
  generatedAt: IsoDateTime.describe('When the view was computed (ISO 8601).'),
  workers: z.array(FleetWorkerCapacitySchema).describe("Every worker's capacity."),
  totals: FleetTotalsSchema.describe('All workers together.'),
  running: FleetTotalsSchema.describe('The RUNNING workers together (what placement can use).'),
  countsByStatus: z
    .record(WorkerStatusSchema, z.number().int().nonnegative().describe('Workers in this status.'))
    .describe('Workers per status.'),
});
export type FleetCapacity = z.infer<typeof FleetCapacitySchema>;

export interface CapacityViewDeps {
  workers: Pick<WorkerStore, 'listAll'>;
  clock?: () => Date;
}

function workerCapacity(w: Worker): FleetWorkerCapacity {
  return {
    id: w.id,
    templateName: w.templateName,
    status: w.status,
    ...(w.desiredStatus !== undefined ? { desiredStatus: w.desiredStatus } : {}),
    serviceStatus: w.serviceStatus,
    leasedPortCount: w.leasedPortCount,
    declared: { ...w.declaredCapacity },
    allocated: { ...w.allocatedCapacity },
    free: freeCapacity(w.declaredCapacity, w.allocatedCapacity),
    utilisation: utilisation(w.declaredCapacity, w.allocatedCapacity),
  };
}

/** Sums per-worker summaries (free is the sum of each worker's free, never negative). */
export function totalsOf(workers: readonly FleetWorkerCapacity[]): FleetTotals {
  let declared = { ...ZERO_CAPACITY };
  let allocated = { ...ZERO_CAPACITY };
  let free = { ...ZERO_CAPACITY };
  for (const w of workers) {
    declared = addCapacity(declared, w.declared);
    allocated = addCapacity(allocated, w.allocated);
    free = addCapacity(free, w.free);
  }
  return {
    workerCount: workers.length,
    declared,
    allocated,
    free,
    utilisation: utilisation(declared, allocated),
  };
}

/** The fleet view from a list of workers (pure). */
export function fleetCapacityOf(fleet: readonly Worker[], now: Date): FleetCapacity {
  const countsByStatus = Object.fromEntries(WORKER_STATUSES.map((s) => [s, 0])) as Record<
    WorkerStatus,
    number
  >;
  for (const w of fleet) countsByStatus[w.status]++;
  const workers = fleet
    .filter((w) => w.status !== 'TERMINATED')
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map(workerCapacity);
  return {
    generatedAt: now.toISOString(),
    workers,
    totals: totalsOf(workers),
    running: totalsOf(workers.filter((w) => w.status === 'RUNNING')),
    countsByStatus,
  };
}

export async function getFleetCapacity(deps: CapacityViewDeps): Promise<FleetCapacity> {
  const fleet = await allWorkers(deps.workers);
  return fleetCapacityOf(fleet, deps.clock ? deps.clock() : new Date());
}
