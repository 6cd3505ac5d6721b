import * as z from 'zod';
import { ConflictError } from './errors.ts';
import {
  Id,
  IsoDateTime,
  LicenseTypeSchema,
  PodTypeSchema,
  PortAllocationsSchema,
  PortTemplateSchema,
  ResourceRequirementsSchema,
} from './schemas.ts';

/**
 * Hot-start pools (issue 15, items 3 and 4): a definition with `warmPoolDepth` N > 0 keeps N labs
 * of its current version imported, started and converged on workers, owned by the pool (not by
 * a learner), for bookings that start now to claim. A pooled lab is placed and leased like a
 * session (the same worker and lease operations as the placement transaction); it lives
 *
 *   PLACED (capacity and ports held) → BOOTING (CML lab imported and started) → READY (converged)
 *   → CLAIMED (capacity, ports and lab moved to a session) or RELEASED (lab deleted, capacity and
 *   ports given back: trimmed, drained for a new version, emptied for a deprecated definition, or
 *   its worker lost).
 */
export const POOLED_LAB_STATUSES = ['PLACED', 'BOOTING', 'READY', 'CLAIMED', 'RELEASED'] as const;
export type PooledLabStatus = (typeof POOLED_LAB_STATUSES)[number];
/** The statuses of a pooled lab that holds capacity and ports on its worker. */
export const LIVE_POOLED_LAB_STATUSES: readonly PooledLabStatus[] = ['PLACED', 'BOOTING', 'READY'];
export const PooledLabStatusSchema = z.enum(POOLED_LAB_STATUSES);

export const PooledLabSchema = z.object({
  id: Id.describe('Pooled lab id (`pool-<ulid>`): the holder of its port leases.'),
  definitionId: Id.describe('The pooled definition.'),
  definitionVersion: z.number().int().min(1).describe('The one definition version the lab belongs to.'),
  status: PooledLabStatusSchema.describe('PLACED, BOOTING, READY, CLAIMED or RELEASED.'),
  requirements: ResourceRequirementsSchema.describe(
    'What the lab holds on its worker (from its definition version).',
  ),
  licenseAffinity: z.array(LicenseTypeSchema).default([]),
  podType: PodTypeSchema.default('CML_ON_AWS'),
  amiRequirement: z.string().max(256).optional(),
  portTemplate: PortTemplateSchema.default([]),
  nodeDefinitions: z.array(z.string().min(1).max(128)).max(200).optional(),
  imageDefinitions: z.array(z.string().min(1).max(256)).max(500).optional(),
  workerId: Id.describe('The worker it is placed on.'),
  allocatedPorts: PortAllocationsSchema.describe('Port name → outside port leased on the worker.'),
  cmlLabId: z.string().max(128).optional().describe('Its CML lab, once imported.'),
  /** When the boot is given up (lab not converged by then: released). */
  bootDeadline: IsoDateTime.optional(),
  placedAt: IsoDateTime.describe('When it took capacity (ISO 8601).'),
  readyAt: IsoDateTime.optional().describe('When its lab converged.'),
  /** When it stopped holding capacity for the pool: claimed or released. */
  endedAt: IsoDateTime.optional(),
  claimedBy: Id.optional().describe('The session that claimed it.'),
  releaseReason: z.string().max(1000).optional(),
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
  version: z.number().int().nonnegative(),
});
export type PooledLab = z.infer<typeof PooledLabSchema>;

/**
 * A claim lost its race (the pooled lab was claimed, released or changed since it was read, or its
 * worker left RUNNING): nothing was written; the session falls back to normal placement.
 */
export class PoolClaimConflictError extends ConflictError {
  constructor(labId: string, sessionId: string, reason: string) {
    super(`pooled lab ${labId} could not be claimed by session ${sessionId}: ${reason}`, {
      labId,
      sessionId,
      kind: 'pool-claim',
    });
  }
}
