import * as z from 'zod';
import {
  CapacitySchema,
  GradingSessionSchema,
  Id,
  IsoDateTime,
  LabletDefinitionSchema,
  LabletSessionSchema,
  ObservationRequestSchema,
  PortTemplateSchema,
  ResourceObservationSchema,
  ResourceRequirementsSchema,
  ScoreReportSchema,
  ServiceStatusSchema,
  SessionStatusSchema,
  StateTransitionSchema,
  UserSessionSchema,
  WorkerStatusSchema,
} from '../kernel/index.ts';

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

/** POST /v1/sessions/{id}/observe: the request recorded (or already pending). */
export const ObservationRequestResultSchema = z
  .object({
    outcome: z.enum(['requested', 'already-requested']),
    sessionId: Id,
    request: ObservationRequestSchema,
  })
  .meta({ id: 'ObservationRequestResult' });

const ObservedSessionSummarySchema = z.object({
  sessionId: Id,
  definitionVersion: z.number().int().min(1),
  observedAt: IsoDateTime,
  totals: ResourceRequirementsSchema,
  hasDrift: z.boolean(),
});

/** GET /v1/definitions/{id}/observations: the newest observed sessions, aggregated. */
export const DefinitionObservationsSchema = z
  .object({
    definitionId: Id,
    latestVersion: z.number().int().min(1),
    /** The latest version's requirements, to compare with. */
    current: ResourceRequirementsSchema,
    limit: z.number().int().min(1),
    sessionCount: z.number().int().nonnegative(),
    /** Definition versions among the sessions, ascending. */
    versions: z.array(z.number().int().min(1)),
    max: ResourceRequirementsSchema.nullable(),
    avg: ResourceRequirementsSchema.nullable(),
    latest: ResourceRequirementsSchema.nullable(),
    /** Sessions whose newest observation reported port drift. */
    driftSessions: z.number().int().nonnegative(),
    /** Newest first. */
    sessions: z.array(ObservedSessionSummarySchema),
  })
  .meta({ id: 'DefinitionObservations' });

const DefinitionShapeSchema = z.object({
  version: z.number().int().min(1),
  resourceRequirements: ResourceRequirementsSchema,
  portTemplate: PortTemplateSchema,
});

/** POST /v1/definitions/{id}/apply-observed. */
export const ApplyObservedResultSchema = z
  .object({
    definitionId: Id,
    strategy: z.enum(['max', 'latest', 'custom']),
    /** false: nothing differed from the latest version; no version was created. */
    changed: z.boolean(),
    before: DefinitionShapeSchema,
    after: DefinitionShapeSchema,
    basedOn: z
      .object({
        sessionCount: z.number().int().nonnegative(),
        versions: z.array(z.number().int().min(1)),
        sessionIds: z.array(Id),
        newestObservedAt: IsoDateTime,
      })
      .nullable(),
    definition: LabletDefinitionSchema,
  })
  .meta({ id: 'ApplyObservedResult' });

/** POST /v1/definitions/{id}/sync. */
export const ContentSyncRequestResultSchema = z
  .object({
    outcome: z.enum(['requested', 'already-requested']),
    definition: LabletDefinitionSchema,
  })
  .meta({ id: 'ContentSyncRequestResult' });
