import * as z from 'zod';
import {
  DEFINITION_STATUSES,
  FAILURE_REASONS,
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
export const FailureReasonSchema = z
  .enum(FAILURE_REASONS)
  .describe(
    'Why the session ended early (kernel/enums.ts FAILURE_REASONS, docs/data-model.md); absent when it completed.',
  );
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
  cpuCores: nonNeg.max(10_000).describe('vCPU cores.'),
  memoryGb: nonNeg.max(100_000).describe('Memory in GB.'),
  storageGb: nonNeg.max(1_000_000).describe('Disk in GB.'),
  maxNodes: z
    .number()
    .int()
    .nonnegative()
    .max(100_000)
    .describe('CML nodes (a CML licence limits how many nodes run at once).'),
});
export type Capacity = z.infer<typeof CapacitySchema>;

/** What one session of a definition needs. */
export const ResourceRequirementsSchema = z.object({
  cpuCores: nonNeg.max(10_000).describe('vCPU cores one session needs.'),
  memoryGb: nonNeg.max(100_000).describe('Memory in GB one session needs.'),
  storageGb: nonNeg.max(1_000_000).describe('Disk in GB one session needs.'),
  nodeCount: z
    .number()
    .int()
    .nonnegative()
    .max(100_000)
    .describe("CML nodes the lab runs (each counts against the worker's maxNodes)."),
});
export type ResourceRequirements = z.infer<typeof ResourceRequirementsSchema>;

export const PortNumber = z.number().int().min(1).max(65_535);

/** A worker's range of outside ports for lab consoles (PATty default 2000–7999). */
export const PortRangeSchema = z
  .object({
    start: PortNumber.describe('First port of the range (inclusive).'),
    end: PortNumber.describe('Last port of the range (inclusive).'),
  })
  .refine((r) => r.end >= r.start, { message: 'end must be >= start', path: ['end'] });
export type PortRange = z.infer<typeof PortRangeSchema>;

/** One named port a definition needs, read from a PATty tag of a CML node. */
export const PortTemplateEntrySchema = z.object({
  name: plainText(z.string().min(1).max(160)).describe(
    "The port's name, unique in the definition (e.g. `R1_serial`, `iosv-0_ssh`); allocatedPorts and LDS devices refer to it.",
  ),
  nodeLabel: plainText(z.string().min(1).max(128)).describe('Label of the CML node the port belongs to.'),
  kind: PortKindSchema.describe('serial (a console line), vnc, tcp or udp (a forwarded port).'),
  /** Port inside the node (tcp/udp forwards) or console line (serial). */
  insidePort: z
    .number()
    .int()
    .min(0)
    .max(65_535)
    .describe('The port inside the node (tcp/udp forwards) or the console line number (serial).')
    .optional(),
  /** The outside port written in the topology; placement replaces it with a leased one. */
  templatePort: PortNumber.describe(
    'The outside port written in the topology; placement replaces it with a port leased on the worker.',
  ).optional(),
  /**
   * True for a console LCM derived from the node definition (the node has no PATty tag, issue 11
   * item 2): placement adds the tag (`serial:<port>`, `vnc:<port>`) to node `nodeId` on import.
   */
  derived: z
    .boolean()
    .describe('A console LCM derived from the node definition (the node had no tag); added on import.')
    .optional(),
  /** The topology node id of a derived entry (labels need not be unique). */
  nodeId: plainText(z.string().min(1).max(128))
    .describe('The topology node id of a derived entry.')
    .optional(),
});
export type PortTemplateEntry = z.infer<typeof PortTemplateEntrySchema>;
export const PortTemplateSchema = z.array(PortTemplateEntrySchema).max(500);
export type PortTemplate = z.infer<typeof PortTemplateSchema>;

/** name → leased outside port. */
export const PortAllocationsSchema = z.record(plainText(z.string().min(1).max(160)), PortNumber);
export type PortAllocations = z.infer<typeof PortAllocationsSchema>;

export const StateTransitionSchema = <S extends z.ZodType<string>>(status: S) =>
  z.object({
    from: status.describe('Status before the change.'),
    to: status.describe('Status after the change (the same as `from` for a recovery entry).'),
    at: IsoDateTime.describe('When it changed (ISO 8601).'),
    by: plainText(z.string().min(1).max(256)).describe(
      'Who changed it (a user, an API client, `workflow`, a sweep).',
    ),
    reason: plainText(z.string().max(2000), { multiline: true }).describe('Why, in words.').optional(),
  });

export const WorkerTemplateSchema = z.object({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and -')
    .describe('Template name (lower-case letters, digits, -); workers name their template.'),
  description: plainText(z.string().max(1000), { multiline: true })
    .describe('What the template is for.')
    .optional(),
  instanceType: plainText(z.string().min(1).max(64)).describe(
    'EC2 instance type (e.g. `m5zn.metal`; CML needs bare metal or nested virtualisation).',
  ),
  /**
   * How CML gets hardware virtualisation on `instanceType`: `metal` (bare metal) or `nested`
   * (nested virtualisation, enabled at launch). Checked against EC2's DescribeInstanceTypes when the
   * template is created or changed (422 otherwise). Absent on templates stored before the field
   * existed: `metal`, as their types were.
   */
  virtualisation: z
    .enum(VIRTUALISATIONS)
    .describe(
      'How CML gets hardware virtualisation: `metal` (a bare-metal type) or `nested` (nested virtualisation enabled at launch; c8i/m8i/r8i and flex). Checked with DescribeInstanceTypes.',
    )
    .default('metal'),
  capacity: CapacitySchema.describe('What one worker of this template offers to sessions.'),
  amiId: plainText(z.string().max(64)).describe('The AMI to launch (an id); or amiNamePattern.').optional(),
  amiNamePattern: plainText(z.string().max(256))
    .describe('AMI name pattern, the newest match is launched (when no amiId).')
    .optional(),
  costPerHourUsd: nonNeg
    .max(10_000)
    .describe('USD per hour while a worker of this template runs (cost reports, scale-up choice).'),
  /**
   * USD per hour of a STOPPED worker (its volumes). Absent: the template's storageGb at the default
   * volume price (fleet/rules/cost.ts, docs/cost.md).
   */
  stoppedCostPerHourUsd: nonNeg
    .max(10_000)
    .describe(
      "USD per hour of a STOPPED worker (its volumes). Absent: the template's storageGb at the default volume price (docs/cost.md).",
    )
    .optional(),
  licenseType: LicenseTypeSchema.describe(
    'The CML licence its workers carry; sessions with a licenseAffinity need a match.',
  ),
  podType: PodTypeSchema.describe('Kind of pod its workers form (CML_ON_AWS unless stated).').default(
    'CML_ON_AWS',
  ),
  bootMinutes: z
    .number()
    .int()
    .min(1)
    .max(240)
    .describe(
      'Expected minutes from launch to CML ready; the scaler starts workers this long ahead of reservations.',
    )
    .default(15),
  portRange: PortRangeSchema.describe('Outside ports for lab consoles on its workers.').default({
    start: 2000,
    end: 7999,
  }),
  enabled: z
    .boolean()
    .describe('false: no new workers are launched from it, and bookings are not admitted against it.')
    .default(true),
  createdAt: IsoDateTime.describe('When it was created (ISO 8601).'),
  updatedAt: IsoDateTime.describe('When it last changed (ISO 8601).'),
  version: z.number().int().nonnegative().describe('Optimistic-concurrency version, +1 on every change.'),
});
export type WorkerTemplate = z.infer<typeof WorkerTemplateSchema>;

export const WorkerLicenseSchema = z.object({
  type: LicenseTypeSchema.describe('The licence type.'),
  status: LicenseStatusSchema.describe('Registration status as CML reports it.'),
  /**
   * The deregistration attempted before the worker's instance was stopped or terminated (best
   * effort: a failure does not hold the stop). Cleared when the licence is registered again.
   */
  deregistration: z
    .object({
      at: IsoDateTime.describe('When it was attempted (ISO 8601).'),
      outcome: z
        .enum(LICENSE_DEREGISTRATION_OUTCOMES)
        .describe('DEREGISTERED (CML answered 204), LOCAL_ONLY (202: the host only), FAILED.'),
      error: z.string().max(2000).optional().describe('Why it failed (FAILED only).'),
    })
    .describe(
      'The deregistration attempted before the instance was stopped or terminated (best effort); cleared when the licence is registered again.',
    )
    .optional(),
});

export const WorkerMetricsSchema = z.object({
  collectedAt: IsoDateTime.describe('When the health sweep collected these (ISO 8601).'),
  cpuPercent: z.number().describe('CPU use of the host, percent.').optional(),
  memoryUsedGb: z.number().describe('Memory in use, GB.').optional(),
  memoryTotalGb: z.number().describe('Memory of the host, GB.').optional(),
  diskUsedGb: z.number().describe('Disk in use, GB.').optional(),
  diskTotalGb: z.number().describe('Disk of the host, GB.').optional(),
  runningNodes: z.number().int().describe('CML nodes running now.').optional(),
  totalNodes: z.number().int().describe('CML nodes defined on the host (running or not).').optional(),
  cmlVersion: z.string().describe('The CML version the host runs.').optional(),
  cmlReady: z.boolean().describe('Whether CML answered ready.').optional(),
  consecutiveFailures: z
    .number()
    .int()
    .nonnegative()
    .describe('Health checks failed in a row (the sweep acts after several).')
    .optional(),
});
export type WorkerMetrics = z.infer<typeof WorkerMetricsSchema>;

/**
 * What LCM knows about one CML node definition (docs/topology.md, "Node definitions"): the
 * defaults a node of it takes, its consoles and the image it boots. The shipped table
 * (catalogue/rules/node-definitions.ts) holds the reference platforms; the health sweep reads each
 * worker's `GET /node_definitions` and `GET /image_definitions` into `Worker.cmlDefinitions`.
 */
export const NodeDefinitionInfoSchema = z.object({
  id: plainText(z.string().min(1).max(128)).describe('The CML node definition id (e.g. `iosv`).'),
  cpus: nonNeg.max(128).describe('vCPUs a node of it takes by default.'),
  ramMb: nonNeg.max(1_048_576).describe('RAM a node of it takes by default, in MB.'),
  diskGb: nonNeg.max(100_000).describe('Disk a node of it takes, in GB.'),
  /** Seconds a node of it typically takes to boot (CML's `boot.timeout` when read from a worker). */
  bootSeconds: nonNeg
    .max(86_400)
    .describe("Seconds a node of it typically takes to boot (CML's `boot.timeout` when read from a worker)."),
  /** Serial console lines (0: none). */
  serialConsoles: z.number().int().nonnegative().max(64).describe('Serial console lines (0: none).'),
  vnc: z.boolean().describe('Whether it offers a VNC console.'),
  /** False for definitions that run no VM (unmanaged_switch, external_connector). */
  countsAsNode: z
    .boolean()
    .describe('False for definitions that run no VM (unmanaged_switch, external_connector).'),
  /** The image definition a node of it boots by default, when known. */
  image: plainText(z.string().max(256))
    .describe('The image definition a node of it boots by default, when known.')
    .optional(),
});
export type NodeDefinitionInfo = z.infer<typeof NodeDefinitionInfoSchema>;

/** A worker's node and image definitions as its CML reported them to the last health sweep. */
export const WorkerCmlDefinitionsSchema = z.object({
  refreshedAt: IsoDateTime.describe('When the health sweep read them (ISO 8601).'),
  nodeDefinitions: z
    .array(NodeDefinitionInfoSchema)
    .max(500)
    .describe('The node definitions its CML offers.'),
  imageDefinitions: z
    .array(
      z.object({
        id: plainText(z.string().min(1).max(256)).describe('The image definition id.'),
        nodeDefinition: plainText(z.string().max(128))
          .describe('The node definition it is an image of.')
          .optional(),
      }),
    )
    .max(2000)
    .describe('The image definitions its CML offers.'),
});
export type WorkerCmlDefinitions = z.infer<typeof WorkerCmlDefinitionsSchema>;

export const DEFINITION_WARNING_CODES = [
  'UNKNOWN_NODE_DEFINITION',
  'NO_CONSOLE',
  'RAM_ABOVE_DEFAULT',
  'REQUIREMENTS_BELOW_TOPOLOGY',
  'NO_TEMPLATE_CAN_HOLD',
] as const;

/** Something about a definition an author should know (issue 11, item 4). */
export const DefinitionWarningSchema = z.object({
  code: z.enum(DEFINITION_WARNING_CODES).describe('What kind of warning.'),
  message: plainText(z.string().max(2000)).describe('The warning, for people.'),
  /** The node label it is about, when it is about one node. */
  node: plainText(z.string().max(128))
    .describe('The node label it is about, when about one node.')
    .optional(),
  nodeDefinition: plainText(z.string().max(128)).describe('The node definition it is about.').optional(),
  /** The definition field it is about (e.g. `resourceRequirements.nodeCount`). */
  field: plainText(z.string().max(128))
    .describe('The definition field it is about (e.g. `resourceRequirements.nodeCount`).')
    .optional(),
});
export type DefinitionWarning = z.infer<typeof DefinitionWarningSchema>;
/** How many launch failures and boots a worker keeps (the newest). */
export const WORKER_LAUNCH_RECORDS_KEPT = 10;

/**
 * One failed RunInstances of a worker's launch (issue 10, item 5): EC2 had no capacity for the type
 * in the subnet (InsufficientInstanceCapacity, ...), and the launch moved on to the next subnet, then
 * to the next-cheapest fitting template.
 */
export const LaunchFailureSchema = z.object({
  at: IsoDateTime.describe('When the launch attempt failed (ISO 8601).'),
  templateName: plainText(z.string().min(1).max(64)).describe('The template tried.'),
  instanceType: plainText(z.string().min(1).max(64)).describe('The instance type tried.'),
  subnetId: z.string().max(64).describe('The subnet tried.').optional(),
  /** EC2's error code (e.g. InsufficientInstanceCapacity). */
  error: z.string().max(128).describe("EC2's error code (e.g. InsufficientInstanceCapacity)."),
  message: z.string().max(500).describe("EC2's message.").optional(),
});
export type LaunchFailure = z.infer<typeof LaunchFailureSchema>;

/**
 * One boot of a worker, from the launch (or start) request to CML ready (issue 10, item 5): what the
 * scaler's look-ahead learns each template's boot duration from (fleet/rules/boot-durations.ts).
 */
export const BootRecordSchema = z.object({
  /** LAUNCH (RunInstances) or START (a stopped instance started again). */
  kind: z
    .enum(['LAUNCH', 'START'])
    .describe('LAUNCH (RunInstances) or START (a stopped instance started again).'),
  templateName: plainText(z.string().min(1).max(64)).describe('The template it booted as.'),
  instanceType: plainText(z.string().min(1).max(64)).describe('Its instance type.').optional(),
  /** When RunInstances / StartInstances was called (the worker's launchedAt then). */
  launchedAt: IsoDateTime.describe('When RunInstances / StartInstances was called (ISO 8601).'),
  /** When CML reported ready and the worker went RUNNING. */
  readyAt: IsoDateTime.describe('When CML reported ready and the worker went RUNNING (ISO 8601).'),
  seconds: nonNeg.describe('Seconds from the request to ready.'),
});
export type BootRecord = z.infer<typeof BootRecordSchema>;

export const WorkerSchema = z.object({
  id: Id.describe('Worker id.'),
  templateName: plainText(z.string().min(1).max(64)).describe('The template it was launched from.'),
  ec2InstanceId: z.string().max(64).describe('Its EC2 instance (absent before launch).').optional(),
  ipAddress: z
    .string()
    .max(64)
    .describe('Its private IP address (absent before the instance runs).')
    .optional(),
  /** Base URL of the CML API (https://<ip>/api/v0 in AWS; a simulator locally). */
  cmlBaseUrl: z
    .string()
    .max(512)
    .describe('Base URL of its CML API (https://<ip>/api/v0 in AWS; a simulator locally).')
    .optional(),
  status: WorkerStatusSchema.describe(
    'Lifecycle status (kernel/transitions.ts says which changes are allowed).',
  ),
  desiredStatus: WorkerStatusSchema.describe(
    'The status an operator or the scaler asked for, while the worker gets there.',
  ).optional(),
  serviceStatus: ServiceStatusSchema.describe(
    'Whether its CML API answers: UNAVAILABLE, STARTING, AVAILABLE, ERROR.',
  ).default('UNAVAILABLE'),
  license: WorkerLicenseSchema.describe('Its CML licence.'),
  podType: PodTypeSchema.describe('Kind of pod (from its template).').default('CML_ON_AWS'),
  amiId: z.string().max(64).describe('The AMI it was launched from.').optional(),
  amiName: z.string().max(256).describe("That AMI's name.").optional(),
  declaredCapacity: CapacitySchema.describe('What it offers to sessions (from its template).'),
  allocatedCapacity: CapacitySchema.describe('What the sessions placed on it hold now.'),
  portRange: PortRangeSchema.describe('Its outside ports for lab consoles.'),
  /** Number of port leases held on this worker; kept in step by the placement transaction. */
  leasedPortCount: z
    .number()
    .int()
    .nonnegative()
    .describe('Port leases held on it; kept in step by the placement transaction.')
    .default(0),
  /**
   * Latest timeslot end of the sessions placed on this worker, kept by the placement transaction
   * (max on place; cleared when a release empties the worker). Placement prefers workers whose
   * sessions end with the new one (fleet/rules/placement.ts). May be stale-late, never early.
   */
  latestSessionEnd: IsoDateTime.describe(
    'Latest timeslot end of the sessions placed on it (placement prefers workers whose sessions end together); may be late, never early.',
  ).optional(),
  metrics: WorkerMetricsSchema.describe("The last health sweep's measurements.").optional(),
  /** Node and image definitions its CML offers, refreshed by the health sweep (issue 11, item 3). */
  cmlDefinitions: WorkerCmlDefinitionsSchema.describe(
    'Node and image definitions its CML offers, refreshed by the health sweep.',
  ).optional(),
  lastActivityAt: IsoDateTime.describe('Last placement or release on it (ISO 8601).').optional(),
  idleSince: IsoDateTime.describe(
    'Since when it holds no session (scale-down drains idle workers).',
  ).optional(),
  launchedAt: IsoDateTime.describe('When its instance was launched (ISO 8601).').optional(),
  /** The worker's failed launch attempts (capacity), newest last, at most WORKER_LAUNCH_RECORDS_KEPT. */
  launchFailures: z
    .array(LaunchFailureSchema)
    .max(WORKER_LAUNCH_RECORDS_KEPT)
    .describe('Its failed launch attempts (no capacity), newest last (at most 10).')
    .optional(),
  /** The worker's boots (launch or start → CML ready), newest last, at most WORKER_LAUNCH_RECORDS_KEPT. */
  boots: z
    .array(BootRecordSchema)
    .max(WORKER_LAUNCH_RECORDS_KEPT)
    .describe('Its boots (launch or start → CML ready), newest last (at most 10).')
    .optional(),
  createdAt: IsoDateTime.describe('When it was created (ISO 8601).'),
  updatedAt: IsoDateTime.describe('When it last changed (ISO 8601).'),
  version: z.number().int().nonnegative().describe('Optimistic-concurrency version, +1 on every change.'),
  stateHistory: z
    .array(StateTransitionSchema(WorkerStatusSchema))
    .describe('Its status changes, oldest first.')
    .default([]),
});
export type Worker = z.infer<typeof WorkerSchema>;

/** A device LDS shows the learner: which node and which named port to reach it. */
export const DeviceSchema = z.object({
  name: plainText(z.string().min(1).max(128)).describe("The device's name as LDS shows it to the learner."),
  nodeLabel: plainText(z.string().min(1).max(128)).describe('The CML node it reaches.').optional(),
  portName: plainText(z.string().min(1).max(160))
    .describe('The named port (portTemplate) it connects through.')
    .optional(),
  protocol: z
    .enum(['telnet', 'ssh', 'vnc', 'http', 'https', 'rdp', 'tcp', 'udp'])
    .describe('How LDS connects to it.')
    .optional(),
  username: plainText(z.string().max(128))
    .describe('Login user name (write-only: never in a reply).')
    .optional(),
  password: plainText(z.string().max(128))
    .describe('Login password (write-only: never in a reply).')
    .optional(),
});
export type Device = z.infer<typeof DeviceSchema>;

export const DefinitionSyncSchema = z.object({
  status: SyncStatusSchema.describe('NONE, PENDING (asked), SYNCING, SUCCEEDED or FAILED.'),
  at: IsoDateTime.describe('When the sync last changed status (ISO 8601).').optional(),
  contentHash: z
    .string()
    .max(128)
    .describe('SHA-256 of the package the last successful sync read.')
    .optional(),
  diagnostic: z.string().max(4000).describe('Why the last sync failed, or what it noticed.').optional(),
});

/**
 * Where a definition's CML topology lives (issue 11, item 1): the content bucket, addressed by the
 * SHA-256 of the YAML text (`topologies/sha256/<hex>.yaml`, catalogue/topology-store.ts). The item
 * holds this reference, never the YAML (DynamoDB items are at most 400 KB).
 */
export const TopologyRefSchema = z.object({
  hash: z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/)
    .meta({ description: '`sha256:<hex>` of the topology YAML (UTF-8): its address in the content bucket.' }),
  sizeBytes: z
    .number()
    .int()
    .nonnegative()
    .meta({ description: 'Size of the topology YAML in bytes (UTF-8).' }),
});
export type TopologyRef = z.infer<typeof TopologyRefSchema>;

/**
 * Idle auto-finish (issue 15, item 2): when LDS reports the learner paused for `limitMinutes`, LCM
 * warns (event `session.idle-warning`) and, `graceMinutes` later, finishes the session as if the
 * learner had (configs collected, graded). A learner who comes back (LDS `running`) cancels it.
 * Absent: off (the default).
 */
export const IdlePolicySchema = z.object({
  limitMinutes: z
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .describe('Minutes the learner may stay paused before LCM warns'),
  graceMinutes: z
    .number()
    .int()
    .min(0)
    .max(240)
    .default(5)
    .describe('Minutes from the warning to the finish (default 5)'),
});
export type IdlePolicy = z.infer<typeof IdlePolicySchema>;

export const LabletDefinitionSchema = z.object({
  id: Id.describe('Definition id (stable across versions).'),
  version: z
    .number()
    .int()
    .min(1)
    .describe(
      'Version number; every change makes a new immutable version, and a session pins the one it was booked with.',
    ),
  name: Name.describe('Display name.'),
  description: plainText(z.string().max(4000), { multiline: true })
    .describe('What the lab is about.')
    .optional(),
  status: DefinitionStatusSchema.describe('ACTIVE (bookable), DEPRECATED (no new sessions) or ARCHIVED.'),
  formQualifiedName: plainText(z.string().max(512))
    .describe('The LDS content id of the lab (what LDS shows the learner).')
    .optional(),
  /**
   * Only in items written before issue 11 (the YAML inline, at most 350,000 characters): read as
   * they are, moved to the content bucket by the next version written. New versions hold `topology`.
   */
  topologyYaml: plainText(z.string().max(350_000), { multiline: true })
    .describe(
      'The CML topology (YAML) inline: only in versions written before topologies moved to the content bucket.',
    )
    .optional(),
  topology: TopologyRefSchema.describe(
    'Where the topology YAML lives: its SHA-256 in the content bucket and its size (`?include=topology` returns it).',
  ).optional(),
  contentHash: z.string().max(128).describe('SHA-256 of the content the version was made from.').optional(),
  contentUri: plainText(z.string().max(1024))
    .describe('Where the content package lives (s3://...); POST .../sync reads it.')
    .optional(),
  resourceRequirements: ResourceRequirementsSchema.describe(
    'What one session needs (placement and capacity planning).',
  ),
  licenseAffinity: z
    .array(LicenseTypeSchema)
    .max(3)
    .describe('CML licence types a worker must carry (empty: any).')
    .default([]),
  podType: PodTypeSchema.describe('Kind of pod the lab runs on.').default('CML_ON_AWS'),
  amiRequirement: plainText(z.string().max(256))
    .describe('An AMI (id or name pattern) the worker must run, when the lab needs one.')
    .optional(),
  portTemplate: PortTemplateSchema.describe(
    "The named ports the lab needs, from the topology's node tags; placement leases one outside port for each.",
  ).default([]),
  devices: z
    .array(DeviceSchema)
    .max(200)
    .describe('The devices LDS shows the learner (usernames and passwords are write-only).')
    .default([]),
  gradingRulesRef: plainText(z.string().max(1024))
    .describe('Where the Grading Engine finds the rules (absent: the session is not graded).')
    .optional(),
  maxDurationMinutes: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .describe('Longest timeslot a session of this definition may book, in minutes.'),
  maxExtensionMinutes: z
    .number()
    .int()
    .nonnegative()
    .max(7 * 24 * 60)
    .describe(
      'Minutes a session of this definition may be extended by in all (POST /v1/sessions/{id}/extend), within maxDurationMinutes; 0 (the default): no extensions.',
    )
    .default(0),
  warmPoolDepth: z
    .number()
    .int()
    .nonnegative()
    .max(1000)
    .describe('Sessions to keep pre-instantiated (0: none).')
    .default(0),
  /** The CML node definitions the topology uses (derived; placement needs a worker offering them). */
  nodeDefinitions: z
    .array(plainText(z.string().min(1).max(128)))
    .max(200)
    .describe('The CML node definitions the topology uses (derived; placement needs a worker offering them).')
    .optional(),
  /** The image definitions the topology's nodes pin (`image_definition`), derived. */
  imageDefinitions: z
    .array(plainText(z.string().min(1).max(256)))
    .max(500)
    .describe("The image definitions the topology's nodes pin (derived).")
    .optional(),
  /** What an author should know about the topology and requirements (derived; issue 11, item 4). */
  warnings: z
    .array(DefinitionWarningSchema)
    .max(500)
    .describe('What an author should know about the topology and the requirements (derived).')
    .optional(),
  idlePolicy: IdlePolicySchema.describe('Idle auto-finish of paused learners (absent: off).').optional(),
  sync: DefinitionSyncSchema.describe("The content sync's state (definitions with a contentUri).").optional(),
  createdAt: IsoDateTime.describe('When this version was created (ISO 8601).'),
  createdBy: plainText(z.string().max(256)).describe('Who created this version.'),
});
export type LabletDefinition = z.infer<typeof LabletDefinitionSchema>;

export const OwnerSchema = z.object({
  userId: plainText(z.string().min(1).max(256)).describe("The learner's id in the portal."),
  username: plainText(z.string().max(256)).describe("The learner's user name.").optional(),
  email: z.email().max(320).describe("The learner's e-mail address.").optional(),
});

export const TimeslotSchema = z
  .object({
    start: IsoDateTime.describe("When the learner's time starts (ISO 8601 with offset)."),
    end: IsoDateTime.describe(
      'When it ends; the lab is collected and torn down then (ISO 8601 with offset).',
    ),
  })
  .refine((t) => Date.parse(t.end) > Date.parse(t.start), {
    message: 'end must be after start',
    path: ['end'],
  });
export type Timeslot = z.infer<typeof TimeslotSchema>;

export const UserSessionSchema = z.object({
  ldsSessionId: z.string().max(256).describe('The LDS session id.'),
  loginUrl: z.string().max(2048).describe("The learner's login URL.").optional(),
  status: z
    .enum(USER_SESSION_STATUSES)
    .describe('PROVISIONED, ACTIVE (logged in), PAUSED, ENDED or ARCHIVED.'),
  createdAt: IsoDateTime.describe('When LDS provisioned it (ISO 8601).'),
  updatedAt: IsoDateTime.describe('When it last changed (ISO 8601).'),
});
export type UserSession = z.infer<typeof UserSessionSchema>;

export const GradingSessionSchema = z.object({
  gradingSessionId: z.string().max(256).describe("The Grading Engine's id of the submission.").optional(),
  status: z.enum(GRADING_STATUSES).describe('PENDING, SUBMITTED, COMPLETED or FAULTED.'),
  error: z.string().max(4000).describe('Why it faulted.').optional(),
  submittedAt: IsoDateTime.describe('When the evidence was submitted (ISO 8601).').optional(),
  completedAt: IsoDateTime.describe('When the result arrived (ISO 8601).').optional(),
  /** The evidence manifest the grading was submitted with (what a re-grade submits again). */
  evidenceUri: z
    .string()
    .max(2048)
    .describe('The evidence manifest submitted (a re-grade submits it again).')
    .optional(),
  /** 1 for the workflow's submission; each operator re-grade (POST .../grade) adds one. */
  attempt: z
    .number()
    .int()
    .min(1)
    .describe("1 for the workflow's submission; each operator re-grade adds one.")
    .optional(),
  /** Who asked for the current re-grade, and when (absent for the workflow's own submission). */
  regradeRequestedBy: z.string().max(256).describe('Who asked for the current re-grade.').optional(),
  regradeRequestedAt: IsoDateTime.describe('When the current re-grade was asked for (ISO 8601).').optional(),
});
export type GradingSession = z.infer<typeof GradingSessionSchema>;

export const ScoreSectionSchema = z.object({
  name: z.string().max(256).describe('Section name.'),
  score: z.number().describe('Points scored in the section.'),
  maxScore: z.number().describe('Points possible in the section.'),
  checks: z
    .array(
      z.object({
        name: z.string().max(256).describe('Check name.'),
        passed: z.boolean().describe('Whether the check passed.'),
        message: z.string().max(2000).optional().describe('What the check found.'),
      }),
    )
    .describe("The section's checks.")
    .default([]),
});

export const ScoreReportSchema = z.object({
  score: z.number().describe('Points scored.'),
  maxScore: z.number().describe('Points possible.'),
  passed: z.boolean().describe('Whether the learner passed.'),
  sections: z.array(ScoreSectionSchema).describe('Score per section.').default([]),
  reportedAt: IsoDateTime.describe('When the Grading Engine reported it (ISO 8601).'),
});
export type ScoreReport = z.infer<typeof ScoreReportSchema>;

/** One port seen on the running lab vs the one allocated to it. */
export const PortDriftSchema = z.object({
  added: z
    .array(z.object({ name: z.string().describe('Port name.'), port: PortNumber.describe('Outside port.') }))
    .describe('Ports the lab uses that were not allocated.'),
  removed: z
    .array(z.object({ name: z.string().describe('Port name.'), port: PortNumber.describe('Outside port.') }))
    .describe('Allocated ports the lab no longer uses.'),
  changed: z
    .array(
      z.object({
        name: z.string().describe('Port name.'),
        allocated: PortNumber.describe('The outside port allocated.'),
        observed: PortNumber.describe('The outside port seen.'),
      }),
    )
    .describe('Ports whose outside port differs from the allocation.'),
  hasDrift: z.boolean().describe('Whether anything differs.'),
  conflicts: z
    .array(
      z.object({
        name: z.string().describe('Port name.'),
        port: PortNumber.describe('Outside port.'),
        otherSessionId: z.string().describe('The session that holds its lease.'),
      }),
    )
    .describe('Ports the lab uses that another session on the worker holds.')
    .default([]),
});
export type PortDrift = z.infer<typeof PortDriftSchema>;

export const ObservedNodeSchema = z.object({
  label: z.string().describe('Node label.'),
  nodeDefinition: z.string().describe('Its CML node definition (e.g. iosv).'),
  state: z.string().describe('Its CML state (e.g. BOOTED).').optional(),
  cpus: z.number().describe('vCPUs it was given.').optional(),
  ramMb: z.number().describe('RAM it was given, MB.').optional(),
  cpuUsagePercent: z.number().describe('CPU use at observation, percent.').optional(),
  tags: z.array(z.string()).describe('Its CML tags.').default([]),
});

export const ResourceObservationSchema = z.object({
  sessionId: Id.describe('The observed session.'),
  definitionId: Id.describe('Its definition.'),
  definitionVersion: z.number().int().min(1).describe('Its pinned definition version.'),
  workerId: Id.describe('The worker it ran on.').optional(),
  cmlLabId: z.string().describe('Its CML lab.').optional(),
  observedAt: IsoDateTime.describe('When it was observed (ISO 8601).'),
  observer: z.string().max(256).describe('Who observed (`workflow` or the operator who asked).'),
  nodes: z.array(ObservedNodeSchema).describe("The lab's nodes as CML reported them.").default([]),
  totals: ResourceRequirementsSchema.describe('What the lab used in total.'),
  observedPorts: PortAllocationsSchema.describe(
    'Named ports seen on the running lab → outside port.',
  ).default({}),
  drift: PortDriftSchema.describe('Observed ports vs the allocation.').optional(),
  stats: z.record(z.string(), z.unknown()).describe('Further figures the observer recorded.').optional(),
});
export type ResourceObservation = z.infer<typeof ResourceObservationSchema>;

/**
 * A manual observation request (POST /v1/sessions/{id}/observe), kept on the session until the
 * stream-triggered task has performed it (then removed) or could not (FAILED, with the error).
 */
export const ObservationRequestSchema = z.object({
  status: z.enum(['PENDING', 'FAILED']).describe('PENDING (not yet performed) or FAILED (see error).'),
  requestedBy: plainText(z.string().min(1).max(256)).describe('Who asked.'),
  requestedAt: IsoDateTime.describe('When it was asked (ISO 8601).'),
  failedAt: IsoDateTime.describe('When it failed (ISO 8601).').optional(),
  error: z.string().max(2000).describe('Why it failed.').optional(),
});
export type ObservationRequest = z.infer<typeof ObservationRequestSchema>;

/**
 * A port this session's lab was seen using while another session on the same worker holds its
 * lease, flagged on both sessions. `observedSessionId` is the session whose observation saw it.
 */
export const PortConflictSchema = z.object({
  name: z.string().max(160).describe("The port's name."),
  port: PortNumber.describe('The outside port.'),
  otherSessionId: Id.describe('The session that holds its lease.'),
  observedSessionId: Id.describe('The session whose observation saw it.'),
  detectedAt: IsoDateTime.describe('When it was found (ISO 8601).'),
});
export type PortConflict = z.infer<typeof PortConflictSchema>;

/**
 * What a teardown that could not finish left behind (failureReason TEARDOWN_FAILED): the lab on
 * its worker, the capacity and ports still held, and the last error. Cleared never: it stays as
 * the record of what went wrong, and a force-release says what it released.
 */
export const TeardownFailureSchema = z.object({
  at: IsoDateTime.describe('When the teardown gave up (ISO 8601).'),
  /** The failure reason the session had before (null: it was completing normally). */
  previousReason: z
    .string()
    .max(2000)
    .describe('The failure reason the session had before (null: it was completing normally).')
    .nullable(),
  /** The teardown step that could not finish (DeleteLab, ReleaseCapacity, ...). */
  step: z
    .string()
    .max(128)
    .describe('The teardown step that could not finish (DeleteLab, ReleaseCapacity, ...).'),
  error: z.string().max(2000).describe('The last error of that step.'),
  workerId: Id.describe('The worker the session was on.').optional(),
  cmlLabId: z.string().max(128).describe('The CML lab left on it.').optional(),
  /** The capacity and ports still held on the worker when the teardown gave up. */
  capacityHeld: CapacitySchema.describe(
    'Capacity still held on the worker when the teardown gave up.',
  ).optional(),
  portsHeld: z
    .array(PortNumber)
    .max(200)
    .describe('Outside ports still leased on the worker then.')
    .default([]),
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
  kind: z
    .enum(['LOGIN', 'END', 'GRADING'])
    .describe(
      'What the workflow waits for: LOGIN (the learner), END (the learner done or the slot over), GRADING (the result).',
    ),
  taskToken: z.string().max(4096).describe('Never in a reply.'),
  since: IsoDateTime.describe('Since when it waits (ISO 8601).'),
});

export const LabletSessionSchema = z.object({
  id: Id.describe('Session id (ULID).'),
  definitionId: Id.describe('The booked definition.'),
  definitionVersion: z.number().int().min(1).describe('The definition version the session is pinned to.'),
  reservationId: plainText(z.string().min(1).max(256)).describe(
    "The portal's reservation id (unique: a reservation has one session).",
  ),
  owner: OwnerSchema.describe('The learner.'),
  /**
   * The API client that booked the session, its tenant: the token's `client_id`, else its `sub`.
   * A portal sees and acts on only the sessions its client booked; absent on sessions booked
   * before tenancy was recorded (operators and admins see those, portals do not).
   */
  bookedBy: z.string().min(1).max(256).optional(),
  timeslot: TimeslotSchema.describe("The learner's booked time."),
  status: SessionStatusSchema.describe('Lifecycle status (kernel/transitions.ts).'),
  /** Copied from the pinned definition version at creation, so placement needs one read. */
  requirements: ResourceRequirementsSchema.describe('What the session needs, from its definition version.'),
  licenseAffinity: z
    .array(LicenseTypeSchema)
    .describe('CML licence types its worker must carry (empty: any).')
    .default([]),
  podType: PodTypeSchema.describe('Kind of pod it runs on.').default('CML_ON_AWS'),
  amiRequirement: plainText(z.string().max(256)).describe('An AMI its worker must run.').optional(),
  portTemplate: PortTemplateSchema.describe(
    'The named ports it needs (from its definition version).',
  ).default([]),
  /** Copied from the definition: the node and image definitions a worker's CML must offer. */
  nodeDefinitions: z
    .array(z.string().min(1).max(128))
    .max(200)
    .describe("The node definitions its worker's CML must offer (from its definition version).")
    .optional(),
  imageDefinitions: z
    .array(z.string().min(1).max(256))
    .max(500)
    .describe("The image definitions its worker's CML must offer (from its definition version).")
    .optional(),
  workerId: Id.describe('The worker it is (or was) placed on.').optional(),
  allocatedPorts: PortAllocationsSchema.describe(
    'Port name → outside port leased on the worker (empty for a lab without consoles).',
  ).optional(),
  cmlLabId: z.string().max(128).describe('Its CML lab.').optional(),
  /** Set when the session claimed a READY lab of its definition's hot-start pool (issue 15, item 3). */
  pooledLabId: Id.describe('The pooled lab it claimed (hot-start pool), when it did.').optional(),
  executionArn: z.string().max(2048).describe('Its workflow execution.').optional(),
  pendingWait: PendingWaitSchema.describe('What its workflow waits for.').optional(),
  placementRejections: z
    .record(z.string(), z.number().int())
    .describe('Why placement found no worker yet: rejection category → number of workers rejected for it.')
    .optional(),
  failureReason: FailureReasonSchema.optional(),
  /** Set by POST /sessions/{id}/terminate; the workflow's next step sees it and tears down. */
  terminationRequestedAt: IsoDateTime.describe('When termination was asked for (ISO 8601).').optional(),
  terminationReason: z.string().max(2000).describe('Why termination was asked for.').optional(),
  /** Set by POST /sessions/{id}/finish (the learner is done). */
  finishRequestedAt: IsoDateTime.describe(
    'When the learner (or the portal) said it is done (ISO 8601).',
  ).optional(),
  /**
   * Learner events as seen (LDS CloudEvents), kept so an event that arrives before the
   * workflow parks on its wait is not lost: registering the wait finds the fact and resolves.
   */
  loginObservedAt: IsoDateTime.describe("When LDS reported the learner's login (ISO 8601).").optional(),
  endObservedAt: IsoDateTime.describe(
    "When LDS reported the end of the learner's work (ISO 8601).",
  ).optional(),
  /** When the learner's current pause began (LDS `paused`); cleared when LDS reports them back. */
  pausedAt: IsoDateTime.describe(
    "When the learner's current pause began (LDS `paused`; cleared when LDS reports them back), ISO 8601.",
  ).optional(),
  /** The definition's idle policy, copied at booking (see IdlePolicySchema). */
  idlePolicy: IdlePolicySchema.describe("The definition's idle policy, copied at booking.").optional(),
  /** Minutes the timeslot end was moved by extensions, in all (POST /v1/sessions/{id}/extend). */
  extendedMinutes: z
    .number()
    .int()
    .nonnegative()
    .describe('Minutes the timeslot end was moved by extensions, in all (absent: never extended).')
    .optional(),
  /** When LCM warned that the paused session will be finished (the idle sweep); cleared on resume. */
  idleWarnedAt: IsoDateTime.describe(
    'When LCM warned that the paused session will be finished (ISO 8601); cleared when the learner is back.',
  ).optional(),
  /** A pending (or failed) manual observation request; see ObservationRequestSchema. */
  observationRequest: ObservationRequestSchema.describe(
    'A pending (or failed) manual observation request.',
  ).optional(),
  /** Port collisions with other sessions' leases found by observations (newest last). */
  portConflicts: z
    .array(PortConflictSchema)
    .max(100)
    .describe("Port collisions with other sessions' leases found by observations (newest last).")
    .optional(),
  /** When the teardown began (first wins): its bound (lifecycle.teardownTimeoutSeconds) counts from here. */
  teardownStartedAt: IsoDateTime.describe(
    'When the teardown began (ISO 8601); its bound counts from here.',
  ).optional(),
  /** Set with failureReason TEARDOWN_FAILED: what the teardown left (see TeardownFailureSchema). */
  teardownFailure: TeardownFailureSchema.describe(
    'What a teardown that could not finish left (failureReason TEARDOWN_FAILED).',
  ).optional(),
  createdAt: IsoDateTime.describe('When it was booked (ISO 8601).'),
  updatedAt: IsoDateTime.describe('When it last changed (ISO 8601).'),
  version: z.number().int().nonnegative().describe('Optimistic-concurrency version, +1 on every change.'),
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
  workerId: Id.describe('The worker.'),
  port: PortNumber.describe('The outside port leased.'),
  sessionId: Id.describe('The session holding it.'),
  name: z.string().describe("The session's port name it serves."),
  leasedAt: IsoDateTime.describe('When it was leased (ISO 8601).'),
});
export type PortLease = z.infer<typeof PortLeaseSchema>;

export const ScalingDecisionSchema = z.object({
  id: Id.describe('Decision id.'),
  at: IsoDateTime.describe('When it was decided (ISO 8601).'),
  kind: z
    .enum(['SCALE_UP', 'START_STOPPED', 'DRAIN', 'TERMINATE', 'STOP', 'NONE'])
    .describe('What the scaler did: SCALE_UP, START_STOPPED, DRAIN, TERMINATE, STOP or NONE.'),
  workerId: Id.describe('The worker it acted on.').optional(),
  templateName: z.string().describe('The template it launched from.').optional(),
  reason: z.string().max(2000).describe('Why, in words.'),
  inputs: z
    .record(z.string(), z.unknown())
    .describe('What the decision was computed from (demand, fleet, settings).')
    .default({}),
});
export type ScalingDecision = z.infer<typeof ScalingDecisionSchema>;
