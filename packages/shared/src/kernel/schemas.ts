import * as z from 'zod';
import {
  DEFINITION_STATUSES,
  GRADING_STATUSES,
  LICENSE_DEREGISTRATION_OUTCOMES,
  LICENSE_STATUSES,
  LICENSE_TYPES,
  POD_TYPES,
  PORT_KINDS,
  SERVICE_STATUSES,
  SESSION_STATUSES,
  SYNC_STATUSES,
  USER_SESSION_STATUSES,
  VIRTUALISATIONS,
  WORKER_STATUSES,
} from './enums.ts';
import { plainText } from './text.ts';

/**
 * Zod schemas for every entity: the one definition used by persistence (parse on read),
 * the domain (types via z.infer) and the API (request/response validation, OpenAPI).
 */

export const Id = plainText(
  z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'letters, digits, . _ : -'),
);
export const IsoDateTime = z.iso.datetime({ offset: true });
export const Name = plainText(z.string().trim().min(1).max(128));

/** A field schema without its `.default()` / `.optional()` wrapper. */
type Bare<T> = T extends z.ZodDefault<infer I> ? I : T extends z.ZodOptional<infer I> ? I : T;
type OptionalFields<S extends z.ZodRawShape, K extends keyof S> = {
  [P in keyof S]: P extends K ? z.ZodOptional<Bare<S[P]>> : S[P];
};

const bare = (field: z.ZodType): z.ZodType =>
  field instanceof z.ZodDefault || field instanceof z.ZodOptional ? (field.unwrap() as z.ZodType) : field;

/**
 * Entity fields as a caller states them (input shapes built from the entity schemas instead of
 * restating their constraints): the fields with an entity default become optional without the
 * default, so an absent field stays absent — the store applies the default when it writes the
 * entity, and an update leaves the field as it is. (zod's `.partial()` alone would keep the
 * defaults and fill them in.) With `all`, every field becomes optional that way.
 */
export function callerFields<S extends z.ZodRawShape>(
  shape: S,
  opts?: { all?: false },
): OptionalFields<S, { [P in keyof S]: S[P] extends z.ZodDefault ? P : never }[keyof S]>;
export function callerFields<S extends z.ZodRawShape>(
  shape: S,
  opts: { all: true },
): OptionalFields<S, keyof S>;
export function callerFields(shape: z.ZodRawShape, opts: { all?: boolean } = {}): z.ZodRawShape {
  return Object.fromEntries(
    Object.entries(shape).map(([key, field]) => [
      key,
      opts.all || field instanceof z.ZodDefault ? bare(field as z.ZodType).optional() : field,
    ]),
  );
}

export const WorkerStatusSchema = z.enum(WORKER_STATUSES);
export const SessionStatusSchema = z.enum(SESSION_STATUSES);
export const ServiceStatusSchema = z.enum(SERVICE_STATUSES);
export const LicenseTypeSchema = z.enum(LICENSE_TYPES);
export const LicenseStatusSchema = z.enum(LICENSE_STATUSES);
export const PodTypeSchema = z.enum(POD_TYPES);
export const DefinitionStatusSchema = z.enum(DEFINITION_STATUSES);
export const SyncStatusSchema = z.enum(SYNC_STATUSES);
export const PortKindSchema = z.enum(PORT_KINDS);

const nonNeg = z.number().finite().nonnegative();

/** Capacity of a worker (declared) or what is in use on it (allocated). */
export const CapacitySchema = z.object({
  cpuCores: nonNeg.max(10_000),
  memoryGb: nonNeg.max(100_000),
  storageGb: nonNeg.max(1_000_000),
  maxNodes: z.number().int().nonnegative().max(100_000),
});
export type Capacity = z.infer<typeof CapacitySchema>;

/** What one session of a definition needs. */
export const ResourceRequirementsSchema = z.object({
  cpuCores: nonNeg.max(10_000),
  memoryGb: nonNeg.max(100_000),
  storageGb: nonNeg.max(1_000_000),
  nodeCount: z.number().int().nonnegative().max(100_000),
});
export type ResourceRequirements = z.infer<typeof ResourceRequirementsSchema>;

export const PortNumber = z.number().int().min(1).max(65_535);

/** A worker's range of outside ports for lab consoles (PATty default 2000–7999). */
export const PortRangeSchema = z
  .object({ start: PortNumber, end: PortNumber })
  .refine((r) => r.end >= r.start, { message: 'end must be >= start', path: ['end'] });
export type PortRange = z.infer<typeof PortRangeSchema>;

/** One named port a definition needs, read from a PATty tag of a CML node. */
export const PortTemplateEntrySchema = z.object({
  name: plainText(z.string().min(1).max(160)),
  nodeLabel: plainText(z.string().min(1).max(128)),
  kind: PortKindSchema,
  /** Port inside the node (tcp/udp forwards) or console line (serial). */
  insidePort: z.number().int().min(0).max(65_535).optional(),
  /** The outside port written in the topology; placement replaces it with a leased one. */
  templatePort: PortNumber.optional(),
});
export type PortTemplateEntry = z.infer<typeof PortTemplateEntrySchema>;
export const PortTemplateSchema = z.array(PortTemplateEntrySchema).max(500);
export type PortTemplate = z.infer<typeof PortTemplateSchema>;

/** name → leased outside port. */
export const PortAllocationsSchema = z.record(plainText(z.string().min(1).max(160)), PortNumber);
export type PortAllocations = z.infer<typeof PortAllocationsSchema>;

export const StateTransitionSchema = <S extends z.ZodType<string>>(status: S) =>
  z.object({
    from: status,
    to: status,
    at: IsoDateTime,
    by: plainText(z.string().min(1).max(256)),
    reason: plainText(z.string().max(2000), { multiline: true }).optional(),
  });

export const WorkerTemplateSchema = z.object({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and -'),
  description: plainText(z.string().max(1000), { multiline: true }).optional(),
  instanceType: plainText(z.string().min(1).max(64)),
  /**
   * How CML gets hardware virtualisation on `instanceType`: `metal` (bare metal) or `nested`
   * (nested virtualisation, enabled at launch). Checked against EC2's DescribeInstanceTypes when the
   * template is created or changed (422 otherwise). Absent on templates stored before the field
   * existed: `metal`, as their types were.
   */
  virtualisation: z.enum(VIRTUALISATIONS).default('metal'),
  capacity: CapacitySchema,
  amiId: plainText(z.string().max(64)).optional(),
  amiNamePattern: plainText(z.string().max(256)).optional(),
  costPerHourUsd: nonNeg.max(10_000),
  /**
   * USD per hour of a STOPPED worker (its volumes). Absent: the template's storageGb at the default
   * volume price (fleet/rules/cost.ts, docs/cost.md).
   */
  stoppedCostPerHourUsd: nonNeg.max(10_000).optional(),
  licenseType: LicenseTypeSchema,
  podType: PodTypeSchema.default('CML_ON_AWS'),
  bootMinutes: z.number().int().min(1).max(240).default(15),
  portRange: PortRangeSchema.default({ start: 2000, end: 7999 }),
  enabled: z.boolean().default(true),
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
  version: z.number().int().nonnegative(),
});
export type WorkerTemplate = z.infer<typeof WorkerTemplateSchema>;

export const WorkerLicenseSchema = z.object({
  type: LicenseTypeSchema,
  status: LicenseStatusSchema,
  /**
   * The deregistration attempted before the worker's instance was stopped or terminated (best
   * effort: a failure does not hold the stop). Cleared when the licence is registered again.
   */
  deregistration: z
    .object({
      at: IsoDateTime,
      outcome: z.enum(LICENSE_DEREGISTRATION_OUTCOMES),
      error: z.string().max(2000).optional(),
    })
    .optional(),
});

export const WorkerMetricsSchema = z.object({
  collectedAt: IsoDateTime,
  cpuPercent: z.number().optional(),
  memoryUsedGb: z.number().optional(),
  memoryTotalGb: z.number().optional(),
  diskUsedGb: z.number().optional(),
  diskTotalGb: z.number().optional(),
  runningNodes: z.number().int().optional(),
  totalNodes: z.number().int().optional(),
  cmlVersion: z.string().optional(),
  cmlReady: z.boolean().optional(),
  consecutiveFailures: z.number().int().nonnegative().optional(),
});
export type WorkerMetrics = z.infer<typeof WorkerMetricsSchema>;

/** How many launch failures and boots a worker keeps (the newest). */
export const WORKER_LAUNCH_RECORDS_KEPT = 10;

/**
 * One failed RunInstances of a worker's launch (issue 10, item 5): EC2 had no capacity for the type
 * in the subnet (InsufficientInstanceCapacity, ...), and the launch moved on to the next subnet, then
 * to the next-cheapest fitting template.
 */
export const LaunchFailureSchema = z.object({
  at: IsoDateTime,
  templateName: plainText(z.string().min(1).max(64)),
  instanceType: plainText(z.string().min(1).max(64)),
  subnetId: z.string().max(64).optional(),
  /** EC2's error code (e.g. InsufficientInstanceCapacity). */
  error: z.string().max(128),
  message: z.string().max(500).optional(),
});
export type LaunchFailure = z.infer<typeof LaunchFailureSchema>;

/**
 * One boot of a worker, from the launch (or start) request to CML ready (issue 10, item 5): what the
 * scaler's look-ahead learns each template's boot duration from (fleet/rules/boot-durations.ts).
 */
export const BootRecordSchema = z.object({
  /** LAUNCH (RunInstances) or START (a stopped instance started again). */
  kind: z.enum(['LAUNCH', 'START']),
  templateName: plainText(z.string().min(1).max(64)),
  instanceType: plainText(z.string().min(1).max(64)).optional(),
  /** When RunInstances / StartInstances was called (the worker's launchedAt then). */
  launchedAt: IsoDateTime,
  /** When CML reported ready and the worker went RUNNING. */
  readyAt: IsoDateTime,
  seconds: nonNeg,
});
export type BootRecord = z.infer<typeof BootRecordSchema>;

export const WorkerSchema = z.object({
  id: Id,
  templateName: plainText(z.string().min(1).max(64)),
  ec2InstanceId: z.string().max(64).optional(),
  ipAddress: z.string().max(64).optional(),
  /** Base URL of the CML API (https://<ip>/api/v0 in AWS; a simulator locally). */
  cmlBaseUrl: z.string().max(512).optional(),
  status: WorkerStatusSchema,
  desiredStatus: WorkerStatusSchema.optional(),
  serviceStatus: ServiceStatusSchema.default('UNAVAILABLE'),
  license: WorkerLicenseSchema,
  podType: PodTypeSchema.default('CML_ON_AWS'),
  amiId: z.string().max(64).optional(),
  amiName: z.string().max(256).optional(),
  declaredCapacity: CapacitySchema,
  allocatedCapacity: CapacitySchema,
  portRange: PortRangeSchema,
  /** Number of port leases held on this worker; kept in step by the placement transaction. */
  leasedPortCount: z.number().int().nonnegative().default(0),
  /**
   * Latest timeslot end of the sessions placed on this worker, kept by the placement transaction
   * (max on place; cleared when a release empties the worker). Placement prefers workers whose
   * sessions end with the new one (fleet/rules/placement.ts). May be stale-late, never early.
   */
  latestSessionEnd: IsoDateTime.optional(),
  metrics: WorkerMetricsSchema.optional(),
  lastActivityAt: IsoDateTime.optional(),
  idleSince: IsoDateTime.optional(),
  launchedAt: IsoDateTime.optional(),
  /** The worker's failed launch attempts (capacity), newest last, at most WORKER_LAUNCH_RECORDS_KEPT. */
  launchFailures: z.array(LaunchFailureSchema).max(WORKER_LAUNCH_RECORDS_KEPT).optional(),
  /** The worker's boots (launch or start → CML ready), newest last, at most WORKER_LAUNCH_RECORDS_KEPT. */
  boots: z.array(BootRecordSchema).max(WORKER_LAUNCH_RECORDS_KEPT).optional(),
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
  version: z.number().int().nonnegative(),
  stateHistory: z.array(StateTransitionSchema(WorkerStatusSchema)).default([]),
});
export type Worker = z.infer<typeof WorkerSchema>;

/** A device LDS shows the learner: which node and which named port to reach it. */
export const DeviceSchema = z.object({
  name: plainText(z.string().min(1).max(128)),
  nodeLabel: plainText(z.string().min(1).max(128)).optional(),
  portName: plainText(z.string().min(1).max(160)).optional(),
  protocol: z.enum(['telnet', 'ssh', 'vnc', 'http', 'https', 'rdp', 'tcp', 'udp']).optional(),
  username: plainText(z.string().max(128)).optional(),
  password: plainText(z.string().max(128)).optional(),
});
export type Device = z.infer<typeof DeviceSchema>;

export const DefinitionSyncSchema = z.object({
  status: SyncStatusSchema,
  at: IsoDateTime.optional(),
  contentHash: z.string().max(128).optional(),
  diagnostic: z.string().max(4000).optional(),
});

export const LabletDefinitionSchema = z.object({
  id: Id,
  version: z.number().int().min(1),
  name: Name,
  description: plainText(z.string().max(4000), { multiline: true }).optional(),
  status: DefinitionStatusSchema,
  formQualifiedName: plainText(z.string().max(512)).optional(),
  topologyYaml: plainText(z.string().max(350_000), { multiline: true }).optional(),
  contentHash: z.string().max(128).optional(),
  contentUri: plainText(z.string().max(1024)).optional(),
  resourceRequirements: ResourceRequirementsSchema,
  licenseAffinity: z.array(LicenseTypeSchema).max(3).default([]),
  podType: PodTypeSchema.default('CML_ON_AWS'),
  amiRequirement: plainText(z.string().max(256)).optional(),
  portTemplate: PortTemplateSchema.default([]),
  devices: z.array(DeviceSchema).max(200).default([]),
  gradingRulesRef: plainText(z.string().max(1024)).optional(),
  maxDurationMinutes: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60),
  warmPoolDepth: z.number().int().nonnegative().max(1000).default(0),
  sync: DefinitionSyncSchema.optional(),
  createdAt: IsoDateTime,
  createdBy: plainText(z.string().max(256)),
});
export type LabletDefinition = z.infer<typeof LabletDefinitionSchema>;

export const OwnerSchema = z.object({
  userId: plainText(z.string().min(1).max(256)),
  username: plainText(z.string().max(256)).optional(),
  email: z.email().max(320).optional(),
});

export const TimeslotSchema = z
  .object({ start: IsoDateTime, end: IsoDateTime })
  .refine((t) => Date.parse(t.end) > Date.parse(t.start), {
    message: 'end must be after start',
    path: ['end'],
  });
export type Timeslot = z.infer<typeof TimeslotSchema>;

export const UserSessionSchema = z.object({
  ldsSessionId: z.string().max(256),
  loginUrl: z.string().max(2048).optional(),
  status: z.enum(USER_SESSION_STATUSES),
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
});
export type UserSession = z.infer<typeof UserSessionSchema>;

export const GradingSessionSchema = z.object({
  gradingSessionId: z.string().max(256).optional(),
  status: z.enum(GRADING_STATUSES),
  error: z.string().max(4000).optional(),
  submittedAt: IsoDateTime.optional(),
  completedAt: IsoDateTime.optional(),
  /** The evidence manifest the grading was submitted with (what a re-grade submits again). */
  evidenceUri: z.string().max(2048).optional(),
  /** 1 for the workflow's submission; each operator re-grade (POST .../grade) adds one. */
  attempt: z.number().int().min(1).optional(),
  /** Who asked for the current re-grade, and when (absent for the workflow's own submission). */
  regradeRequestedBy: z.string().max(256).optional(),
  regradeRequestedAt: IsoDateTime.optional(),
});
export type GradingSession = z.infer<typeof GradingSessionSchema>;

export const ScoreSectionSchema = z.object({
  name: z.string().max(256),
  score: z.number(),
  maxScore: z.number(),
  checks: z
    .array(
      z.object({ name: z.string().max(256), passed: z.boolean(), message: z.string().max(2000).optional() }),
    )
    .default([]),
});

export const ScoreReportSchema = z.object({
  score: z.number(),
  maxScore: z.number(),
  passed: z.boolean(),
  sections: z.array(ScoreSectionSchema).default([]),
  reportedAt: IsoDateTime,
});
export type ScoreReport = z.infer<typeof ScoreReportSchema>;

/** One port seen on the running lab vs the one allocated to it. */
export const PortDriftSchema = z.object({
  added: z.array(z.object({ name: z.string(), port: PortNumber })),
  removed: z.array(z.object({ name: z.string(), port: PortNumber })),
  changed: z.array(z.object({ name: z.string(), allocated: PortNumber, observed: PortNumber })),
  hasDrift: z.boolean(),
  conflicts: z
    .array(z.object({ name: z.string(), port: PortNumber, otherSessionId: z.string() }))
    .default([]),
});
export type PortDrift = z.infer<typeof PortDriftSchema>;

export const ObservedNodeSchema = z.object({
  label: z.string(),
  nodeDefinition: z.string(),
  state: z.string().optional(),
  cpus: z.number().optional(),
  ramMb: z.number().optional(),
  cpuUsagePercent: z.number().optional(),
  tags: z.array(z.string()).default([]),
});

export const ResourceObservationSchema = z.object({
  sessionId: Id,
  definitionId: Id,
  definitionVersion: z.number().int().min(1),
  workerId: Id.optional(),
  cmlLabId: z.string().optional(),
  observedAt: IsoDateTime,
  observer: z.string().max(256),
  nodes: z.array(ObservedNodeSchema).default([]),
  totals: ResourceRequirementsSchema,
  observedPorts: PortAllocationsSchema.default({}),
  drift: PortDriftSchema.optional(),
  stats: z.record(z.string(), z.unknown()).optional(),
});
export type ResourceObservation = z.infer<typeof ResourceObservationSchema>;

/**
 * A manual observation request (POST /v1/sessions/{id}/observe), kept on the session until the
 * stream-triggered task has performed it (then removed) or could not (FAILED, with the error).
 */
export const ObservationRequestSchema = z.object({
  status: z.enum(['PENDING', 'FAILED']),
  requestedBy: plainText(z.string().min(1).max(256)),
  requestedAt: IsoDateTime,
  failedAt: IsoDateTime.optional(),
  error: z.string().max(2000).optional(),
});
export type ObservationRequest = z.infer<typeof ObservationRequestSchema>;

/**
 * A port this session's lab was seen using while another session on the same worker holds its
 * lease, flagged on both sessions. `observedSessionId` is the session whose observation saw it.
 */
export const PortConflictSchema = z.object({
  name: z.string().max(160),
  port: PortNumber,
  otherSessionId: Id,
  observedSessionId: Id,
  detectedAt: IsoDateTime,
});
export type PortConflict = z.infer<typeof PortConflictSchema>;

/**
 * What a teardown that could not finish left behind (failureReason TEARDOWN_FAILED): the lab on
 * its worker, the capacity and ports still held, and the last error. Cleared never: it stays as
 * the record of what went wrong, and a force-release says what it released.
 */
export const TeardownFailureSchema = z.object({
  at: IsoDateTime,
  /** The failure reason the session had before (null: it was completing normally). */
  previousReason: z.string().max(2000).nullable(),
  /** The teardown step that could not finish (DeleteLab, ReleaseCapacity, ...). */
  step: z.string().max(128),
  error: z.string().max(2000),
  workerId: Id.optional(),
  cmlLabId: z.string().max(128).optional(),
  /** The capacity and ports still held on the worker when the teardown gave up. */
  capacityHeld: CapacitySchema.optional(),
  portsHeld: z.array(PortNumber).max(200).default([]),
});
export type TeardownFailure = z.infer<typeof TeardownFailureSchema>;

/**
 * A CML lab left on a live worker (a session force-released while its lab could not be deleted),
 * kept until the health sweep deletes it once the worker's CML answers again.
 */
export const LeftoverLabSchema = z.object({
  workerId: Id,
  cmlLabId: z.string().min(1).max(128),
  sessionId: Id,
  recordedAt: IsoDateTime,
  recordedBy: z.string().min(1).max(256),
  /** Deletion attempts by the sweep so far, and the last one's error. */
  attempts: z.number().int().nonnegative().default(0),
  lastAttemptAt: IsoDateTime.optional(),
  lastError: z.string().max(2000).optional(),
});
export type LeftoverLab = z.infer<typeof LeftoverLabSchema>;

/** Which task token a waiting session holds (DESIGN §6). */
export const PendingWaitSchema = z.object({
  kind: z.enum(['LOGIN', 'END', 'GRADING']),
  taskToken: z.string().max(4096),
  since: IsoDateTime,
});

export const LabletSessionSchema = z.object({
  id: Id,
  definitionId: Id,
  definitionVersion: z.number().int().min(1),
  reservationId: plainText(z.string().min(1).max(256)),
  owner: OwnerSchema,
  /**
   * The API client that booked the session, its tenant: the token's `client_id`, else its `sub`.
   * A portal sees and acts on only the sessions its client booked; absent on sessions booked
   * before tenancy was recorded (operators and admins see those, portals do not).
   */
  bookedBy: z.string().min(1).max(256).optional(),
  timeslot: TimeslotSchema,
  status: SessionStatusSchema,
  /** Copied from the pinned definition version at creation, so placement needs one read. */
  requirements: ResourceRequirementsSchema,
  licenseAffinity: z.array(LicenseTypeSchema).default([]),
  podType: PodTypeSchema.default('CML_ON_AWS'),
  amiRequirement: plainText(z.string().max(256)).optional(),
  portTemplate: PortTemplateSchema.default([]),
  workerId: Id.optional(),
  allocatedPorts: PortAllocationsSchema.optional(),
  cmlLabId: z.string().max(128).optional(),
  executionArn: z.string().max(2048).optional(),
  pendingWait: PendingWaitSchema.optional(),
  placementRejections: z.record(z.string(), z.number().int()).optional(),
  failureReason: z.string().max(2000).optional(),
  /** Set by POST /sessions/{id}/terminate; the workflow's next step sees it and tears down. */
  terminationRequestedAt: IsoDateTime.optional(),
  terminationReason: z.string().max(2000).optional(),
  /** Set by POST /sessions/{id}/finish (the learner is done). */
  finishRequestedAt: IsoDateTime.optional(),
  /**
   * Learner events as seen (LDS CloudEvents), kept so an event that arrives before the
   * workflow parks on its wait is not lost: registering the wait finds the fact and resolves.
   */
  loginObservedAt: IsoDateTime.optional(),
  endObservedAt: IsoDateTime.optional(),
  pausedAt: IsoDateTime.optional(),
  /** A pending (or failed) manual observation request; see ObservationRequestSchema. */
  observationRequest: ObservationRequestSchema.optional(),
  /** Port collisions with other sessions' leases found by observations (newest last). */
  portConflicts: z.array(PortConflictSchema).max(100).optional(),
  /** When the teardown began (first wins): its bound (lifecycle.teardownTimeoutSeconds) counts from here. */
  teardownStartedAt: IsoDateTime.optional(),
  /** Set with failureReason TEARDOWN_FAILED: what the teardown left (see TeardownFailureSchema). */
  teardownFailure: TeardownFailureSchema.optional(),
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
  version: z.number().int().nonnegative(),
});
export type LabletSession = z.infer<typeof LabletSessionSchema>;

/** A session with its child records, as read in one query (access pattern 4). */
export interface LabletSessionAggregate {
  session: LabletSession;
  userSession?: UserSession | undefined;
  grading?: GradingSession | undefined;
  score?: ScoreReport | undefined;
  observations: ResourceObservation[];
  history: Array<z.infer<ReturnType<typeof StateTransitionSchema<typeof SessionStatusSchema>>>>;
}

export const PortLeaseSchema = z.object({
  workerId: Id,
  port: PortNumber,
  sessionId: Id,
  name: z.string(),
  leasedAt: IsoDateTime,
});
export type PortLease = z.infer<typeof PortLeaseSchema>;

export const ScalingDecisionSchema = z.object({
  id: Id,
  at: IsoDateTime,
  kind: z.enum(['SCALE_UP', 'START_STOPPED', 'DRAIN', 'TERMINATE', 'STOP', 'NONE']),
  workerId: Id.optional(),
  templateName: z.string().optional(),
  reason: z.string().max(2000),
  inputs: z.record(z.string(), z.unknown()).default({}),
});
export type ScalingDecision = z.infer<typeof ScalingDecisionSchema>;
