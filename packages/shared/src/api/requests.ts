import * as z from 'zod';
import {
  CapacitySchema,
  DeviceSchema,
  Id,
  IsoDateTime,
  LicenseTypeSchema,
  OwnerSchema,
  PodTypeSchema,
  PortRangeSchema,
  PortTemplateSchema,
  ResourceRequirementsSchema,
  SessionStatusSchema,
  TimeslotSchema,
  WorkerStatusSchema,
  WorkerTemplateSchema,
} from '../kernel/index.ts';

/**
 * Request shapes of the HTTPS API, built from the entity schemas (one source of truth);
 * the OpenAPI document is generated from these.
 */

const Limit = z.coerce.number().int().min(1).max(100).default(25);
const Cursor = z.string().max(2048).optional();
const Reason = z.object({ reason: z.string().max(2000).optional() }).strict();

export const PageQuery = z.object({ limit: Limit, cursor: Cursor });

// worker templates
export const TemplateNameParams = z.object({ name: WorkerTemplateSchema.shape.name });
export const CreateTemplateBody = WorkerTemplateSchema.omit({
  createdAt: true,
  updatedAt: true,
  version: true,
})
  .strict()
  .meta({ id: 'CreateWorkerTemplate' });
export const UpdateTemplateBody = z
  .object({
    description: z.string().max(1000).optional(),
    instanceType: z.string().min(1).max(64).optional(),
    capacity: CapacitySchema.optional(),
    amiId: z.string().max(64).optional(),
    amiNamePattern: z.string().max(256).optional(),
    costPerHourUsd: z.number().finite().nonnegative().max(10_000).optional(),
    licenseType: LicenseTypeSchema.optional(),
    podType: PodTypeSchema.optional(),
    bootMinutes: z.number().int().min(1).max(240).optional(),
    portRange: PortRangeSchema.optional(),
    enabled: z.boolean().optional(),
    expectedVersion: z.number().int().nonnegative().optional(),
  })
  .strict()
  .meta({ id: 'UpdateWorkerTemplate' });

// workers
export const WorkerIdParams = z.object({ id: Id });
export const ListWorkersQuery = PageQuery.extend({ status: WorkerStatusSchema.optional() });
export const CreateWorkerBody = z
  .object({ templateName: WorkerTemplateSchema.shape.name })
  .strict()
  .meta({ id: 'CreateWorker' });
export const WorkerActionBody = Reason.meta({ id: 'WorkerAction' });

// definitions
export const DefinitionIdParams = z.object({ id: Id });
export const DefinitionVersionParams = z.object({ id: Id, version: z.coerce.number().int().min(1) });
const definitionFields = {
  name: z.string().trim().min(1).max(128),
  description: z.string().max(4000).optional(),
  formQualifiedName: z.string().max(512).optional(),
  topologyYaml: z.string().max(350_000).optional(),
  contentUri: z.string().max(1024).optional(),
  resourceRequirements: ResourceRequirementsSchema.optional(),
  licenseAffinity: z.array(LicenseTypeSchema).max(3).optional(),
  podType: PodTypeSchema.optional(),
  amiRequirement: z.string().max(256).optional(),
  portTemplate: PortTemplateSchema.optional(),
  devices: z.array(DeviceSchema).max(200).optional(),
  gradingRulesRef: z.string().max(1024).optional(),
  maxDurationMinutes: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60),
  warmPoolDepth: z.number().int().nonnegative().max(1000).optional(),
};
export const CreateDefinitionBody = z
  .object({ id: Id.optional(), ...definitionFields })
  .strict()
  .meta({ id: 'CreateLabletDefinition' });
export const UpdateDefinitionBody = z
  .object({ ...definitionFields, expectedVersion: z.number().int().min(1).optional() })
  .partial()
  .strict()
  .meta({ id: 'UpdateLabletDefinition' });
export const ListDefinitionsQuery = PageQuery.extend({
  status: z.enum(['ACTIVE', 'DEPRECATED', 'ARCHIVED']).optional(),
});

// definitions: learn from live (observations) and content sync
export const DefinitionObservationsQuery = z.object({
  /** How many of the newest observed sessions to aggregate. */
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
export const ApplyObservedBody = z
  .object({
    /** max / latest of the observed sessions, or custom values (given in resourceRequirements). */
    strategy: z.enum(['max', 'latest', 'custom']),
    /** How many of the newest observed sessions to consider. */
    limit: z.number().int().min(1).max(100).default(20),
    /** strategy custom: the values to use; fields not given keep the latest version's. */
    resourceRequirements: ResourceRequirementsSchema.partial().optional(),
    /** Also take the port template (and the topology's node tags) from the newest observation. */
    portTemplate: z.boolean().default(false),
    /** Only if the latest version is still this one (409 otherwise). */
    expectedVersion: z.number().int().min(1).optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    const given = b.resourceRequirements !== undefined && Object.keys(b.resourceRequirements).length > 0;
    if (b.strategy === 'custom' && !given) {
      ctx.addIssue({
        code: 'custom',
        path: ['resourceRequirements'],
        message: 'strategy custom needs at least one value',
      });
    }
    if (b.strategy !== 'custom' && b.resourceRequirements !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['resourceRequirements'],
        message: 'only with strategy custom',
      });
    }
  })
  .meta({ id: 'ApplyObserved' });

// sessions
export const SessionIdParams = z.object({ id: Id });
export const ReservationParams = z.object({ reservationId: z.string().min(1).max(256) });
export const CreateSessionBody = z
  .object({
    definitionId: Id,
    definitionVersion: z.number().int().min(1).optional(),
    reservationId: z.string().min(1).max(256),
    owner: OwnerSchema,
    timeslot: TimeslotSchema,
  })
  .strict()
  .meta({ id: 'CreateLabletSession' });
export const ListSessionsQuery = PageQuery.extend({
  status: SessionStatusSchema.optional(),
  reservationId: z.string().min(1).max(256).optional(),
  workerId: Id.optional(),
  definitionId: Id.optional(),
  startFrom: IsoDateTime.optional(),
  startTo: IsoDateTime.optional(),
});
export const SessionActionBody = Reason.meta({ id: 'SessionAction' });

/** Every list reply: a page of items and an opaque cursor for the next page. */
export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().optional() });
