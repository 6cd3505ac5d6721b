import * as z from 'zod';
import {
  DefinitionFilterSchema,
  DefinitionUpdateSchema,
  NewDefinitionSchema,
  UPLOAD_MAX_BYTES,
} from '../catalogue/index.ts';
import { StreamFailureStatusSchema } from '../events/index.ts';
import {
  callerFields,
  Id,
  plainText,
  StateTransitionSchema,
  WorkerStatusSchema,
  WorkerTemplateSchema,
} from '../kernel/index.ts';
import {
  ApplyObservedInputSchema,
  AvailabilityInputSchema,
  DEFAULT_OBSERVATION_LIMIT,
  DefinitionCostInputSchema,
  ExtendSessionInputSchema,
  FleetCostInputSchema,
  FleetUsageInputSchema,
  MAX_OBSERVATION_LIMIT,
  NewSessionSchema,
  SessionFilterSchema,
} from '../sessions/index.ts';

/**
 * Request shapes of the HTTPS API: the use cases' own input schemas (which derive from the
 * entity schemas, so no constraint is restated here), made strict (unknown fields are a 400)
 * and named for the OpenAPI document, which is generated from these. What is the API's own is
 * said where it is: paging, path and query parameters (strings on the wire, hence coerced).
 */

/** A page of a listing; the API allows at most 100 items a page (the stores take up to 1,000). */
const Limit = z.coerce.number().int().min(1).max(100).describe('Items per page, 1 to 100.').default(25);
/** The opaque cursor of the previous page (a store's LastEvaluatedKey, base64url JSON). */
const Cursor = plainText(z.string().max(2048))
  .describe(
    "The previous page's `nextCursor`, to read the next page (a cursor belongs to the listing and filters that produced it).",
  )
  .optional();
/** Why, as recorded in the entity's history entry (worker) or terminationReason (session). */
const Reason = z.object({ reason: StateTransitionSchema(z.string()).shape.reason }).strict();

export const PageQuery = z.object({ limit: Limit, cursor: Cursor });

// worker templates
export const TemplateNameParams = z.object({
  name: WorkerTemplateSchema.shape.name.describe('The worker template name.'),
});
/** The template's own fields; createdAt, updatedAt and version are set by the store. */
const TEMPLATE_FIELDS = WorkerTemplateSchema.omit({ createdAt: true, updatedAt: true, version: true });
export const CreateTemplateBody = TEMPLATE_FIELDS.strict().meta({ id: 'CreateWorkerTemplate' });
/** Any field but the name (the template's key) may change; absent fields stay as they are. */
export const UpdateTemplateBody = z
  .object({
    ...callerFields(TEMPLATE_FIELDS.omit({ name: true }).shape, { all: true }),
    expectedVersion: WorkerTemplateSchema.shape.version
      .describe('The version the change is based on; another current version is a 409.')
      .optional(),
  })
  .strict()
  .meta({ id: 'UpdateWorkerTemplate' });

// workers
export const WorkerIdParams = z.object({ id: Id.describe('The worker id.') });
export const ListWorkersQuery = PageQuery.extend({
  status: WorkerStatusSchema.describe('Only workers in this status.').optional(),
});
export const CreateWorkerBody = z
  .object({ templateName: WorkerTemplateSchema.shape.name })
  .strict()
  .meta({ id: 'CreateWorker' });
export const WorkerActionBody = Reason.meta({ id: 'WorkerAction' });

// definitions
export const DefinitionIdParams = z.object({ id: Id.describe('The definition id.') });
/** A path parameter is a string: coerced, then checked like the entity's version (>= 1). */
export const DefinitionVersionParams = z.object({
  id: Id.describe('The definition id.'),
  version: z.coerce.number().int().min(1).describe('The version number (1 or more).'),
});
export const CreateDefinitionBody = NewDefinitionSchema.strict().meta({ id: 'CreateLabletDefinition' });
export const UpdateDefinitionBody = DefinitionUpdateSchema.strict().meta({ id: 'UpdateLabletDefinition' });
export const ListDefinitionsQuery = PageQuery.extend(DefinitionFilterSchema.shape);
/** GET /v1/definitions/{id}[/versions/{version}]: `include=topology` adds the topology YAML (or its URL). */
export const DefinitionIncludeQuery = z.object({
  include: z
    .enum(['topology'])
    .optional()
    .meta({
      description:
        '`topology`: the reply carries the CML topology, `topologyYaml` inline when it fits a reply ' +
        '(at most 5.5 MiB), else `topologyUrl`, a pre-signed GET URL valid for 15 minutes. Without it, ' +
        'only `topology` (hash and size). Lists never carry the YAML.',
    }),
});

// uploads (issue 11, item 1): large content through a pre-signed PUT
export const CreateUploadBody = z
  .object({
    purpose: z
      .enum(['topology'])
      .default('topology')
      .meta({ description: 'What the upload holds; a definition names it in `topologyUploadId`.' }),
    sizeBytes: z
      .number()
      .int()
      .min(1)
      .max(UPLOAD_MAX_BYTES)
      .optional()
      .meta({
        description:
          'The exact size of the body you will PUT, when known: the URL is then signed for that Content-Length ' +
          `and the bucket refuses any other. At most ${UPLOAD_MAX_BYTES} bytes (50 MiB) either way.`,
      }),
  })
  .strict()
  .meta({ id: 'CreateUpload' });

// definitions: learn from live (observations) and content sync
export const DefinitionObservationsQuery = z.object({
  /** How many of the newest observed sessions to aggregate (a query string, hence coerced). */
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_OBSERVATION_LIMIT)
    .describe(`How many of the newest observed sessions to aggregate (1 to ${MAX_OBSERVATION_LIMIT}).`)
    .default(DEFAULT_OBSERVATION_LIMIT),
});
/** Strict and checked (strategy vs resourceRequirements) by the use case's own schema. */
export const ApplyObservedBody = ApplyObservedInputSchema.meta({ id: 'ApplyObserved' });

// sessions
export const SessionIdParams = z.object({ id: Id.describe('The session id.') });
export const ReservationParams = z.object({
  reservationId: NewSessionSchema.shape.reservationId.describe("The portal's reservation id."),
});
export const CreateSessionBody = NewSessionSchema.extend({
  force: z
    .boolean()
    .optional()
    .meta({
      description:
        'Book even when the capacity book is full (the 409 `capacity-full` is waived and the override is ' +
        'recorded in the session history). Operators and admins only (`sessions:overbook`); a portal that ' +
        'sends `force: true` gets a 403 naming the field.',
    }),
})
  .strict()
  .meta({ id: 'CreateLabletSession' });
/** GET /v1/availability (issue 10, item 3): the use case's own query schema. */
export const AvailabilityQuery = AvailabilityInputSchema;
export const ListSessionsQuery = PageQuery.extend(SessionFilterSchema.shape);
export const SessionActionBody = Reason.meta({ id: 'SessionAction' });
/** POST /v1/sessions/{id}/extend (issue 15, item 1): the minutes wanted and why. */
export const ExtendSessionBody = ExtendSessionInputSchema.meta({ id: 'ExtendSession' });

// fleet: cost and usage (the use cases' own query schemas: window bounds, groupBy, step)
export const FleetCostQuery = FleetCostInputSchema;
export const DefinitionCostQuery = DefinitionCostInputSchema;
export const FleetUsageQuery = FleetUsageInputSchema;

/** Every list reply: a page of items and an opaque cursor for the next page. */
export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item).describe('This page of the listing.'),
    nextCursor: z
      .string()
      .optional()
      .describe('Pass it as `cursor` for the next page; absent at the end (only its absence means the end).'),
  });

// stream failures (issue 11, item 5)
export const ListStreamFailuresQuery = PageQuery.extend({
  status: StreamFailureStatusSchema.describe(
    'Only failures in this status (PENDING: not replayed yet, or its last replay failed; REPLAYED: a replay was handled).',
  ).optional(),
});
export const StreamFailureIdParams = z.object({
  id: z
    .string()
    .regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'a stream failure id (26 characters, Crockford base32)')
    .describe('The stream failure id (as GET /v1/stream-failures lists it).'),
});
