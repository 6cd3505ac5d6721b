import { z } from 'zod';
import {
  CapacitySchema,
  GradingSessionSchema,
  Id,
  IsoDateTime,
  LabletSessionSchema,
  ResourceObservationSchema,
  ScoreReportSchema,
  ServiceStatusSchema,
  SessionStatusSchema,
  StateTransitionSchema,
  UserSessionSchema,
  WorkerStatusSchema,
} from '../domain/schemas.ts';

/** Reply shapes that are not plain entities; the OpenAPI document is generated from them. */

const UtilisationSchema = z.object({
  cpuCores: z.number().min(0).max(1),
  memoryGb: z.number().min(0).max(1),
  storageGb: z.number().min(0).max(1),
  maxNodes: z.number().min(0).max(1),
});

const CapacitySummarySchema = z.object({
  declared: CapacitySchema,
  allocated: CapacitySchema,
  free: CapacitySchema,
  utilisation: UtilisationSchema,
});

export const FleetWorkerCapacitySchema = CapacitySummarySchema.extend({
  id: Id,
  templateName: z.string(),
  status: WorkerStatusSchema,
  desiredStatus: WorkerStatusSchema.optional(),
  serviceStatus: ServiceStatusSchema,
  leasedPortCount: z.number().int().nonnegative(),
});
export type FleetWorkerCapacity = z.infer<typeof FleetWorkerCapacitySchema>;

const FleetTotalsSchema = CapacitySummarySchema.extend({ workerCount: z.number().int().nonnegative() });
export type FleetTotals = z.infer<typeof FleetTotalsSchema>;

/** The reply of getFleetCapacity. */
export const FleetCapacitySchema = z
  .object({
    generatedAt: IsoDateTime,
    workers: z.array(FleetWorkerCapacitySchema),
    totals: FleetTotalsSchema,
    running: FleetTotalsSchema,
    countsByStatus: z.record(WorkerStatusSchema, z.number().int().nonnegative()),
  })
  .meta({ id: 'FleetCapacity' });
export type FleetCapacity = z.infer<typeof FleetCapacitySchema>;

/** GET /v1/sessions/{id}: the session with its child records and history. */
export const SessionViewSchema = LabletSessionSchema.extend({
  userSession: UserSessionSchema.nullable(),
  grading: GradingSessionSchema.nullable(),
  score: ScoreReportSchema.nullable(),
  observations: z.array(ResourceObservationSchema),
  history: z.array(StateTransitionSchema(SessionStatusSchema)),
}).meta({ id: 'LabletSessionView' });

/** POST /v1/sessions/{id}/terminate and /finish. */
export const SessionActionResultSchema = z
  .object({ outcome: z.enum(['terminated', 'requested', 'noop']), session: LabletSessionSchema })
  .meta({ id: 'SessionActionResult' });
