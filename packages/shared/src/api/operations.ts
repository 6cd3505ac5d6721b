import * as z from 'zod';
import { TOPOLOGY_BODY_MAX_BYTES } from '../catalogue/index.ts';
import { StreamFailureSchema } from '../events/index.ts';
import {
  CapacitySchema,
  PortLeaseSchema,
  ScalingDecisionSchema,
  SessionStatusSchema,
  StateTransitionSchema,
  WorkerSchema,
  WorkerTemplateSchema,
} from '../kernel/index.ts';
import {
  ApplyObservedBody,
  AvailabilityQuery,
  CreateDefinitionBody,
  CreateSessionBody,
  CreateTemplateBody,
  CreateUploadBody,
  CreateWorkerBody,
  DefinitionCostQuery,
  DefinitionIdParams,
  DefinitionIncludeQuery,
  DefinitionObservationsQuery,
  DefinitionVersionParams,
  ExtendSessionBody,
  FleetCostQuery,
  FleetUsageQuery,
  ListDefinitionsQuery,
  ListSessionsQuery,
  ListStreamFailuresQuery,
  ListWorkersQuery,
  PageQuery,
  pageOf,
  ReservationParams,
  SessionActionBody,
  SessionIdParams,
  StreamFailureIdParams,
  TemplateNameParams,
  UpdateDefinitionBody,
  UpdateTemplateBody,
  WorkerActionBody,
  WorkerIdParams,
} from './requests.ts';
import {
  ApplyObservedResultSchema,
  AvailabilityReplySchema,
  ContentSyncRequestResultSchema,
  DefinitionCostReplySchema,
  DefinitionObservationsSchema,
  ExtensionReplySchema,
  FleetCapacitySchema,
  FleetCostSchema,
  FleetPoolsSchema,
  FleetUsageReplySchema,
  ForceReleaseReplySchema,
  ObservationRequestResultSchema,
  RegradeReplySchema,
  SessionActionResultSchema,
  SessionViewSchema,
  UploadReplySchema,
} from './responses.ts';
import type { Permission } from './roles.ts';
import { DefinitionReplySchema, SessionReplySchema } from './views.ts';

/**
 * The API's operation catalogue: one entry per route. It drives the handlers' validation and
 * RBAC, the local HTTP server's routing, the CDK HTTP API routes (one Lambda per `group`) and the
 * generated OpenAPI document. Responses are the views of api/views.ts, never a stored entity.
 */
export interface Operation {
  readonly operationId: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** API Gateway path syntax: `/v1/workers/{id}`. */
  readonly path: string;
  /** Handler module `functions/api/<group>.ts`; one Lambda per group. */
  readonly group: string;
  /** null = public (no token needed). */
  readonly permission: Permission | null;
  readonly summary: string;
  /** More for the OpenAPI document (after the roles that may call it). */
  readonly description?: string;
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  readonly response?: z.ZodType;
  readonly successStatus: number;
  /** Another success status with the same body (e.g. 200 for an idempotent replay of a 201 create). */
  readonly alsoSucceeds?: { readonly status: number; readonly description: string };
  /** A 404 beyond the path's own resource (an entity the body names): when, appended to the description. */
  readonly notFoundWhen?: string;
  /** Accepts an Idempotency-Key header (POST commands). */
  readonly idempotent?: boolean;
  /** Largest request body in bytes (413 beyond); default MAX_BODY_BYTES, 256 KiB. */
  readonly maxBodyBytes?: number;
}

const op = <const O extends Operation>(o: O): O => o;

/** POST /v1/workers/{id}/<action>: literal operation ids so handlers get typed input. */
const workerAction = <const A extends 'start' | 'stop' | 'drain' | 'terminate'>(action: A) =>
  op({
    operationId: `${action}Worker` as `${A}Worker`,
    method: 'POST',
    path: `/v1/workers/{id}/${action}` as `/v1/workers/{id}/${A}`,
    group: 'workers',
    permission: 'workers:write',
    summary: `Request ${action} of a worker`,
    params: WorkerIdParams,
    body: WorkerActionBody,
    response: WorkerSchema,
    successStatus: 202,
    idempotent: true,
  });

/** Tenancy, as the session operations' OpenAPI descriptions state it (sessions/rules/tenancy.ts). */
const OWN_SESSIONS =
  "A portal sees and acts on only the sessions its client booked (`bookedBy`: the token's `client_id`, " +
  "else `sub`); another client's session answers 404, exactly like a missing one. Operators, viewers and " +
  'admins see every session.';

/** What the operations that take topology YAML inline say about size (issue 11, item 1). */
const TOPOLOGY_SIZE =
  'The request body may have up to 6 MiB (other operations: 256 KiB): AWS Lambda takes at most 6 MB per ' +
  'synchronous invocation, event envelope included, so `topologyYaml` is at most 5.5 MiB. A larger topology ' +
  '(up to 50 MiB): POST /v1/uploads, PUT it to the URL, and name the upload in `topologyUploadId`. The ' +
  'topology is validated, stored in the content bucket by its SHA-256 and the definition holds `topology` ' +
  '(hash, size).';

const SessionHistory = z
  .array(StateTransitionSchema(SessionStatusSchema))
  .describe('Status changes, oldest first.');
const Problem = z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string() });
export const ProblemSchema = Problem.meta({ id: 'Problem' });
const StreamFailureReply = StreamFailureSchema.meta({ id: 'StreamFailure' });

export const OPERATIONS = [
  op({
    operationId: 'getHealth',
    method: 'GET',
    path: '/v1/health',
    group: 'health',
    permission: null,
    summary: 'Liveness and table reachability',
    successStatus: 200,
  }),
  op({
    operationId: 'getOpenApi',
    method: 'GET',
    path: '/v1/openapi.json',
    group: 'health',
    permission: null,
    summary: 'This API as an OpenAPI 3.1 document',
    successStatus: 200,
  }),

  // worker templates
  op({
    operationId: 'listWorkerTemplates',
    method: 'GET',
    path: '/v1/worker-templates',
    group: 'templates',
    permission: 'templates:read',
    summary: 'List worker templates',
    query: PageQuery,
    response: pageOf(WorkerTemplateSchema),
    successStatus: 200,
  }),
  op({
    operationId: 'createWorkerTemplate',
    method: 'POST',
    path: '/v1/worker-templates',
    group: 'templates',
    permission: 'templates:write',
    summary: 'Create a worker template',
    body: CreateTemplateBody,
    response: WorkerTemplateSchema,
    successStatus: 201,
    idempotent: true,
  }),
  op({
    operationId: 'getWorkerTemplate',
    method: 'GET',
    path: '/v1/worker-templates/{name}',
    group: 'templates',
    permission: 'templates:read',
    summary: 'Get a worker template',
    params: TemplateNameParams,
    response: WorkerTemplateSchema,
    successStatus: 200,
  }),
  op({
    operationId: 'updateWorkerTemplate',
    method: 'PATCH',
    path: '/v1/worker-templates/{name}',
    group: 'templates',
    permission: 'templates:write',
    summary: 'Update a worker template',
    params: TemplateNameParams,
    body: UpdateTemplateBody,
    response: WorkerTemplateSchema,
    successStatus: 200,
  }),
  op({
    operationId: 'disableWorkerTemplate',
    method: 'POST',
    path: '/v1/worker-templates/{name}/disable',
    group: 'templates',
    permission: 'templates:write',
    summary: 'Disable a worker template (no new workers)',
    params: TemplateNameParams,
    response: WorkerTemplateSchema,
    successStatus: 200,
  }),
  op({
    operationId: 'deleteWorkerTemplate',
    method: 'DELETE',
    path: '/v1/worker-templates/{name}',
    group: 'templates',
    permission: 'templates:write',
    summary: 'Delete a template no live worker uses',
    params: TemplateNameParams,
    successStatus: 204,
  }),

  // workers
  op({
    operationId: 'listWorkers',
    method: 'GET',
    path: '/v1/workers',
    group: 'workers',
    permission: 'workers:read',
    summary: 'List workers, optionally by status',
    query: ListWorkersQuery,
    response: pageOf(WorkerSchema),
    successStatus: 200,
  }),
  op({
    operationId: 'createWorker',
    method: 'POST',
    path: '/v1/workers',
    group: 'workers',
    permission: 'workers:write',
    summary: 'Create a worker from a template (PENDING)',
    body: CreateWorkerBody,
    response: WorkerSchema,
    successStatus: 201,
    idempotent: true,
  }),
  op({
    operationId: 'getWorker',
    method: 'GET',
    path: '/v1/workers/{id}',
    group: 'workers',
    permission: 'workers:read',
    summary: 'Get a worker',
    params: WorkerIdParams,
    response: WorkerSchema,
    successStatus: 200,
  }),
  workerAction('start'),
  workerAction('stop'),
  workerAction('drain'),
  workerAction('terminate'),
  op({
    operationId: 'listWorkerSessions',
    method: 'GET',
    path: '/v1/workers/{id}/sessions',
    group: 'workers',
    permission: 'workers:read',
    summary: 'Active sessions placed on a worker',
    params: WorkerIdParams,
    response: pageOf(SessionReplySchema),
    successStatus: 200,
  }),
  op({
    operationId: 'getWorkerCapacity',
    method: 'GET',
    path: '/v1/workers/{id}/capacity',
    group: 'workers',
    permission: 'workers:read',
    summary: 'Declared, allocated and free capacity of a worker',
    params: WorkerIdParams,
    response: z.object({ declared: CapacitySchema, allocated: CapacitySchema, free: CapacitySchema }),
    successStatus: 200,
  }),
  op({
    operationId: 'listWorkerPorts',
    method: 'GET',
    path: '/v1/workers/{id}/ports',
    group: 'workers',
    permission: 'workers:read',
    summary: 'Port leases on a worker',
    params: WorkerIdParams,
    response: pageOf(PortLeaseSchema),
    successStatus: 200,
  }),

  // definitions
  op({
    operationId: 'listDefinitions',
    method: 'GET',
    path: '/v1/definitions',
    group: 'definitions',
    permission: 'definitions:read',
    summary: 'List definitions (latest versions)',
    query: ListDefinitionsQuery,
    response: pageOf(DefinitionReplySchema),
    successStatus: 200,
  }),
  op({
    operationId: 'createDefinition',
    method: 'POST',
    path: '/v1/definitions',
    group: 'definitions',
    permission: 'definitions:write',
    summary: 'Create a definition (version 1)',
    description: TOPOLOGY_SIZE,
    body: CreateDefinitionBody,
    response: DefinitionReplySchema,
    successStatus: 201,
    idempotent: true,
    maxBodyBytes: TOPOLOGY_BODY_MAX_BYTES,
  }),
  op({
    operationId: 'getDefinition',
    method: 'GET',
    path: '/v1/definitions/{id}',
    group: 'definitions',
    permission: 'definitions:read',
    summary: 'Latest version of a definition',
    description:
      'With `?include=topology`, the CML topology too (inline YAML, or a pre-signed URL when large).',
    params: DefinitionIdParams,
    query: DefinitionIncludeQuery,
    response: DefinitionReplySchema,
    successStatus: 200,
  }),
  op({
    operationId: 'updateDefinition',
    method: 'PUT',
    path: '/v1/definitions/{id}',
    group: 'definitions',
    permission: 'definitions:write',
    summary: 'Create the next version of a definition',
    description: TOPOLOGY_SIZE,
    params: DefinitionIdParams,
    body: UpdateDefinitionBody,
    response: DefinitionReplySchema,
    successStatus: 200,
    maxBodyBytes: TOPOLOGY_BODY_MAX_BYTES,
  }),
  op({
    operationId: 'listDefinitionVersions',
    method: 'GET',
    path: '/v1/definitions/{id}/versions',
    group: 'definitions',
    permission: 'definitions:read',
    summary: 'All versions of a definition',
    params: DefinitionIdParams,
    response: pageOf(DefinitionReplySchema),
    successStatus: 200,
  }),
  op({
    operationId: 'getDefinitionVersion',
    method: 'GET',
    path: '/v1/definitions/{id}/versions/{version}',
    group: 'definitions',
    permission: 'definitions:read',
    summary: 'One version of a definition',
    description:
      'With `?include=topology`, the CML topology too (inline YAML, or a pre-signed URL when large).',
    params: DefinitionVersionParams,
    query: DefinitionIncludeQuery,
    response: DefinitionReplySchema,
    successStatus: 200,
  }),
  op({
    operationId: 'deprecateDefinition',
    method: 'POST',
    path: '/v1/definitions/{id}/deprecate',
    group: 'definitions',
    permission: 'definitions:write',
    summary: 'Deprecate (no new sessions)',
    params: DefinitionIdParams,
    response: DefinitionReplySchema,
    successStatus: 200,
  }),
  op({
    operationId: 'archiveDefinition',
    method: 'POST',
    path: '/v1/definitions/{id}/archive',
    group: 'definitions',
    permission: 'definitions:write',
    summary: 'Archive a definition',
    params: DefinitionIdParams,
    response: DefinitionReplySchema,
    successStatus: 200,
  }),

  op({
    operationId: 'getDefinitionObservations',
    method: 'GET',
    path: '/v1/definitions/{id}/observations',
    group: 'definitions',
    permission: 'definitions:read',
    summary: 'Observations of the newest observed sessions (all versions), aggregated',
    params: DefinitionIdParams,
    query: DefinitionObservationsQuery,
    response: DefinitionObservationsSchema,
    successStatus: 200,
  }),
  op({
    operationId: 'applyObservedToDefinition',
    method: 'POST',
    path: '/v1/definitions/{id}/apply-observed',
    group: 'definitions',
    permission: 'definitions:write',
    summary: 'New version with resource requirements (and port template) from observations',
    params: DefinitionIdParams,
    body: ApplyObservedBody,
    response: ApplyObservedResultSchema,
    successStatus: 200,
    idempotent: true,
  }),
  op({
    operationId: 'syncDefinitionContent',
    method: 'POST',
    path: '/v1/definitions/{id}/sync',
    group: 'definitions',
    permission: 'definitions:write',
    summary: 'Sync the content package at contentUri (asynchronous)',
    params: DefinitionIdParams,
    response: ContentSyncRequestResultSchema,
    successStatus: 202,
    idempotent: true,
  }),

  // uploads (issue 11, item 1)
  op({
    operationId: 'createUpload',
    method: 'POST',
    path: '/v1/uploads',
    group: 'definitions',
    permission: 'uploads:write',
    summary: 'A pre-signed URL to PUT large content (a topology of up to 50 MiB) to',
    description:
      'Returns `uploadId` and a pre-signed PUT `url` valid until `expiresAt` (15 minutes). PUT the topology YAML ' +
      'to it (no Authorization header), then create or update a definition with `topologyUploadId`: the ' +
      'upload is checked then (it exists, at most `maxBytes`, a valid CML topology; else 400 on ' +
      '`topologyUploadId`) and stored by its SHA-256. Uploads nobody names are deleted after a day. This is ' +
      'how topologies beyond the 6 MB Lambda payload limit of inline `topologyYaml` get in.',
    body: CreateUploadBody,
    response: UploadReplySchema,
    successStatus: 201,
  }),

  // sessions
  op({
    operationId: 'createSession',
    method: 'POST',
    path: '/v1/sessions',
    group: 'sessions',
    permission: 'sessions:create',
    summary: 'Reserve a session (idempotent per reservationId)',
    description:
      'The session records the calling client as `bookedBy`. Reservation ids are one namespace: a ' +
      'reservation another client booked is a 409 that names nothing of that session. A timeslot that ' +
      'starts beyond the booking horizon (default 180 days) is a 400 on `timeslot.start`; a definition no ' +
      'enabled worker template can hold is a 422 naming each failing dimension. A booking that would ' +
      'overflow the capacity book (the sessions holding capacity during its slot would need more than ' +
      '`maxWorkers` hosts) is a 409 of type `capacity-full` whose `details.firstOverflow` is the first ' +
      'minute that overflows; an operator or admin may send `force: true` to book anyway (recorded in the ' +
      'session history). A repeat for a reservation that has its session answers 200 with it; a repeat ' +
      'that differs in definition, version, user or timeslot is a 409 naming the fields (`details.fields`).',
    body: CreateSessionBody,
    response: SessionReplySchema,
    successStatus: 201,
    alsoSucceeds: {
      status: 200,
      description:
        'The reservation already has this session (the same definition, version, user and timeslot): the ' +
        'existing session, nothing booked again (idempotent per reservationId). A repeat that differs in any of ' +
        'those is a 409 naming the fields (`details.fields`, e.g. `timeslot.start`).',
    },
    notFoundWhen:
      'The definition (`definitionId`) or the pinned version (`definitionVersion`) does not exist: nothing is booked.',
  }),
  op({
    operationId: 'listSessions',
    method: 'GET',
    path: '/v1/sessions',
    group: 'sessions',
    permission: 'sessions:read',
    summary: 'List sessions with filters',
    description: `${OWN_SESSIONS} A portal's pages may come back short; only a missing nextCursor means the end.`,
    query: ListSessionsQuery,
    response: pageOf(SessionReplySchema),
    successStatus: 200,
  }),
  op({
    operationId: 'getSession',
    method: 'GET',
    path: '/v1/sessions/{id}',
    group: 'sessions',
    permission: 'sessions:read',
    summary: 'A session with its user session, grading, score, observations (and cost, for operators)',
    description:
      `${OWN_SESSIONS} userSession.loginUrl only for admins and the portal client that booked the session. ` +
      "`cost` (what the session's share of its worker cost, docs/cost.md) only for operators, viewers and admins.",
    params: SessionIdParams,
    response: SessionViewSchema,
    successStatus: 200,
  }),
  op({
    operationId: 'terminateSession',
    method: 'POST',
    path: '/v1/sessions/{id}/terminate',
    group: 'sessions',
    permission: 'sessions:operate',
    summary: 'Terminate a session (teardown always runs)',
    description: OWN_SESSIONS,
    params: SessionIdParams,
    body: SessionActionBody,
    response: SessionActionResultSchema,
    successStatus: 202,
    idempotent: true,
  }),
  op({
    operationId: 'finishSession',
    method: 'POST',
    path: '/v1/sessions/{id}/finish',
    group: 'sessions',
    permission: 'sessions:operate',
    summary: 'The learner is done',
    description: OWN_SESSIONS,
    params: SessionIdParams,
    body: SessionActionBody,
    response: SessionActionResultSchema,
    successStatus: 202,
    idempotent: true,
  }),
  op({
    operationId: 'extendSession',
    method: 'POST',
    path: '/v1/sessions/{id}/extend',
    group: 'sessions',
    permission: 'sessions:operate',
    summary: 'Give the learner more time: move the timeslot end later',
    description:
      `${OWN_SESSIONS} Only a READY or RUNNING session whose timeslot has not ended (else 409 naming the ` +
      'status). The definition version must allow it: `maxExtensionMinutes` (all extensions together; 0, ' +
      'the default, turns them off) and `maxDurationMinutes` (the new length); else a 409 of type ' +
      '`extension-not-allowed` whose `details.limit` names which. The capacity book must still hold every ' +
      "admitted booking with this session's end moved; else a 409 `capacity-full` with `details.firstOverflow`. " +
      'Granted: the timeslot end moves, the history records who asked and why, the event ' +
      '`io.lablet.lcm.session.extended.v1` is published, and the workflow waits until the new end. ' +
      'Each call adds its minutes: send an `Idempotency-Key` so that a retried request is answered with the ' +
      'first reply instead of extending twice.',
    params: SessionIdParams,
    body: ExtendSessionBody,
    response: ExtensionReplySchema,
    successStatus: 200,
    idempotent: true,
  }),
  op({
    operationId: 'observeSession',
    method: 'POST',
    path: '/v1/sessions/{id}/observe',
    group: 'sessions',
    permission: 'observations:write',
    summary: 'Observe the running lab now (asynchronous; RUNNING sessions only)',
    params: SessionIdParams,
    response: ObservationRequestResultSchema,
    successStatus: 202,
    idempotent: true,
  }),
  op({
    operationId: 'releaseSession',
    method: 'POST',
    path: '/v1/sessions/{id}/release',
    group: 'sessions',
    permission: 'sessions:recover',
    summary: 'Force-release a session whose teardown failed (TEARDOWN_FAILED)',
    description:
      'For a session with failureReason TEARDOWN_FAILED (its teardown could not finish within ' +
      '`lifecycle.teardownTimeoutSeconds`): its CML lab, if the worker is still there, is recorded for ' +
      'the health sweep to delete once CML answers; its capacity and port leases go back to the worker; ' +
      'the session becomes TERMINATED with a history entry naming who asked and what was released. ' +
      'Any other session is a 409 (terminate it instead). Safe to repeat.',
    params: SessionIdParams,
    body: SessionActionBody,
    response: ForceReleaseReplySchema,
    successStatus: 200,
    idempotent: true,
  }),
  op({
    operationId: 'regradeSession',
    method: 'POST',
    path: '/v1/sessions/{id}/grade',
    group: 'sessions',
    permission: 'sessions:recover',
    summary: 'Submit the evidence of a GRADING_FAILED or GRADING_TIMEOUT session to the Grading Engine again',
    description:
      "The session's recorded evidence is submitted again (a new grading session); its grading goes back " +
      'to SUBMITTED and the result event completes it (a score) or faults it again. The session keeps its ' +
      'status and failure reason. A session whose grading did not fail or time out, or is in progress, ' +
      'is a 409; a Grading Engine that does not take the submission is a 503 (retry) or 502.',
    params: SessionIdParams,
    response: RegradeReplySchema,
    successStatus: 202,
    idempotent: true,
  }),
  op({
    operationId: 'getSessionHistory',
    method: 'GET',
    path: '/v1/sessions/{id}/history',
    group: 'sessions',
    permission: 'sessions:read',
    summary: 'State history of a session',
    description: OWN_SESSIONS,
    params: SessionIdParams,
    response: z.object({ items: SessionHistory }),
    successStatus: 200,
  }),
  op({
    operationId: 'getAvailability',
    method: 'GET',
    path: '/v1/availability',
    group: 'sessions',
    permission: 'sessions:read',
    summary: 'Per slot start in a range: whether a booking of a definition fits, and how many more would',
    description:
      'The capacity book (docs/architecture.md, "Capacity book"): for each slot start in [from, to) every ' +
      "`stepMinutes`, a slot of `durationMinutes` (default the definition's maxDurationMinutes) fits when the " +
      'sessions holding capacity at every instant of it (from its placement lead to its release margin) still ' +
      "pack onto `maxWorkers` hosts with the scaler's packing. `additional` more fit (up to `maxAdditional`). " +
      'The same check POST /v1/sessions makes, so a slot that fits is bookable until someone else books it.',
    query: AvailabilityQuery,
    response: AvailabilityReplySchema,
    successStatus: 200,
  }),
  op({
    operationId: 'getReservation',
    method: 'GET',
    path: '/v1/reservations/{reservationId}',
    group: 'sessions',
    permission: 'reservations:read',
    summary: 'The session(s) of a reservation, each as GET /v1/sessions/{id} shows it',
    description:
      `${OWN_SESSIONS} Another client's reservation is a 404. Each item is what GET /v1/sessions/{id} ` +
      'answers the same caller (status, failureReason, userSession with the login URL for the booking ' +
      'portal and admins, grading, score, history), without `cost`: a portal needs only the reservation id.',
    params: ReservationParams,
    response: z.object({
      items: z
        .array(SessionViewSchema)
        .describe('The sessions of the reservation (one: a reservation has one session).'),
    }),
    successStatus: 200,
  }),

  // fleet
  op({
    operationId: 'getFleetCapacity',
    method: 'GET',
    path: '/v1/fleet/capacity',
    group: 'fleet',
    permission: 'fleet:read',
    summary: 'Per-worker and fleet capacity, utilisation, counts by status',
    response: FleetCapacitySchema,
    successStatus: 200,
  }),
  op({
    operationId: 'getFleetPools',
    method: 'GET',
    path: '/v1/fleet/pools',
    group: 'fleet',
    permission: 'fleet:read',
    summary: 'Hot-start pools: each pooled definition with its depth and live labs',
    description:
      'Every definition whose `warmPoolDepth` is above 0, or that still has live pooled labs (an older ' +
      'version draining, a deprecated definition emptying), with its labs that hold capacity: PLACED, ' +
      'BOOTING or READY. Claimed and released labs are not listed (their cost is in `GET /v1/fleet/cost`).',
    response: FleetPoolsSchema,
    successStatus: 200,
  }),
  op({
    operationId: 'getFleetScaling',
    method: 'GET',
    path: '/v1/fleet/scaling',
    group: 'fleet',
    permission: 'fleet:read',
    summary: 'Scaling decisions (inputs summarised, action, reason), newest first',
    query: PageQuery,
    response: pageOf(ScalingDecisionSchema),
    successStatus: 200,
  }),
  op({
    operationId: 'getFleetCost',
    method: 'GET',
    path: '/v1/fleet/cost',
    group: 'fleet',
    permission: 'fleet:read',
    summary: 'Fleet cost over a window: totals, per day / template / definition, idle share, utilisation',
    description:
      "Each worker's cost (its template's price while it runs, its volumes while STOPPED) is charged to the " +
      'sessions it held by capacity share × hours; idle, unallocated and stopped cost are reported separately ' +
      '(docs/cost.md). Reads the workers, the sessions starting from 8 days before `from` to 7 days after `to` ' +
      'and the histories of those that may have held capacity in the window; `read` says how many.',
    query: FleetCostQuery,
    response: FleetCostSchema,
    successStatus: 200,
  }),
  op({
    operationId: 'getDefinitionCost',
    method: 'GET',
    path: '/v1/definitions/{id}/cost',
    group: 'fleet',
    permission: 'fleet:read',
    summary: "A definition's cost over a window: its sessions, what they were charged, the mean per session",
    description:
      "The definition's group of GET /v1/fleet/cost?groupBy=definition (the same attribution and reads); 404 " +
      'for an unknown definition.',
    params: DefinitionIdParams,
    query: DefinitionCostQuery,
    response: DefinitionCostReplySchema,
    successStatus: 200,
  }),
  op({
    operationId: 'getFleetUsage',
    method: 'GET',
    path: '/v1/fleet/usage',
    group: 'fleet',
    permission: 'fleet:read',
    summary: 'Fleet usage per step: workers by status, declared and allocated capacity, sessions, cost rate',
    description:
      "Sampled at each step's start; sessionsHeld and costUsd cover the whole step. Reads what getFleetCost reads.",
    query: FleetUsageQuery,
    response: FleetUsageReplySchema,
    successStatus: 200,
  }),

  // stream failures (issue 11, item 5): table-stream records a consumer gave up on
  op({
    operationId: 'listStreamFailures',
    method: 'GET',
    path: '/v1/stream-failures',
    group: 'streams',
    permission: 'stream-failures:operate',
    summary: 'Table-stream records a consumer gave up on after its retries, oldest first',
    description:
      'A stream consumer (the outbox publisher, the triggers) that still fails on a record after its retries ' +
      'moves on and sends the record to its failure destination, so a poisoned record never blocks the ' +
      "shard and is never dropped silently. In AWS that is the consumer's SQS on-failure queue (Lambda " +
      'writes a description of the batch: shard and sequence numbers, not the records); this operation first ' +
      'moves what the queues hold into the table, one failure each (the queue-depth alarm fires until then), ' +
      'then lists. Locally: the file-backed queue of the stack. Replay one with ' +
      'POST /v1/stream-failures/{id}/replay.',
    query: ListStreamFailuresQuery,
    response: pageOf(StreamFailureReply),
    successStatus: 200,
  }),
  op({
    operationId: 'replayStreamFailure',
    method: 'POST',
    path: '/v1/stream-failures/{id}/replay',
    group: 'streams',
    permission: 'stream-failures:operate',
    summary: 'Hand the records of a stream failure to their consumer again',
    description:
      "The failure's records are read back (AWS: from the DynamoDB stream, GetShardIterator AT_SEQUENCE_NUMBER " +
      "and GetRecords up to the last sequence number; locally the queue holds them), filtered by the consumer's " +
      'filters and handed to the consumer as a DynamoDBStreamEvent (AWS: the consumer function is invoked). ' +
      'Handled: `status` becomes REPLAYED. The consumer failed again: 200 with `status` still PENDING and the ' +
      "replay's `outcome` FAILED and `error` (fix the cause, replay again). DynamoDB Streams keeps records " +
      '24 hours: a failure whose records are gone is a 410 (the attempt is recorded; nothing is left to ' +
      'replay, repair the item by hand). The consumers are idempotent (outbox events have deterministic ids), ' +
      'so replaying something already applied is harmless. Not idempotent by key: each call replays.',
    params: StreamFailureIdParams,
    response: StreamFailureReply,
    successStatus: 200,
  }),

  // events: partners push CloudEvents (HMAC-signed raw body, no JWT; functions/api/events.ts)
  op({
    operationId: 'ingestEvents',
    method: 'POST',
    path: '/v1/events',
    group: 'events',
    permission: null,
    summary:
      'Partner CloudEvents (HTTP binding: structured, binary or batch), signed (Standard Webhooks); published to the event bus',
    response: z.object({
      accepted: z.number().int().nonnegative().describe('How many events were published to the bus.'),
      events: z
        .array(
          z.object({
            id: z.string().describe('The CloudEvent id.'),
            source: z.string().describe('The CloudEvent source.'),
            type: z.string().describe('The CloudEvent type.'),
          }),
        )
        .describe('The events published, in the order received.'),
    }),
    successStatus: 202,
  }),
] as const satisfies readonly Operation[];

export type OperationId = (typeof OPERATIONS)[number]['operationId'];

export const operationById = (id: string): Operation | undefined =>
  OPERATIONS.find((o) => o.operationId === id);

/** `GET /v1/workers/{id}` — the API Gateway route key of an operation. */
export const routeKeyOf = (o: Pick<Operation, 'method' | 'path'>): string => `${o.method} ${o.path}`;
