import * as z from 'zod';
import type { DefinitionStore } from '../catalogue/index.ts';
import {
  aggregateObservations,
  detectPortDrift,
  portTemplateFromObservation,
  samePorts,
  topologyWithObservedTags,
} from '../catalogue/index.ts';
import type { PortLeaseStore, WorkerStore } from '../fleet/index.ts';
import type {
  LabletDefinition,
  LabletSession,
  ObservationRequest,
  PortConflict,
  PortDrift,
  ResourceObservation,
  ResourceRequirements,
  Worker,
} from '../kernel/index.ts';
import {
  ConflictError,
  type DefinitionChanges,
  DomainError,
  Id,
  IsoDateTime,
  LabletDefinitionSchema,
  NotFoundError,
  nextDefinitionVersion,
  OBSERVABLE_SESSION_STATUSES,
  ObservationRequestSchema,
  PortTemplateSchema,
  ResourceRequirementsSchema,
  VersionConflictError,
} from '../kernel/index.ts';
import type { CmlApi, CmlInterfaceInfo, CmlNodeInfo } from '../platform/index.ts';
import { nowIso, retryOnConflict } from '../platform/index.ts';
import type { SessionStore } from './session-store.ts';
import { observedPorts, observeNodes } from './steps/collect.ts';

/**
 * "Learn from live" (seeds/resource-port-observation-plan): what running labs really use, folded
 * back into definitions.
 *
 * - Manual observation: `requestObservation` (POST /v1/sessions/{id}/observe, RUNNING only)
 *   records a PENDING `observationRequest` on the session and returns; the table stream triggers
 *   `runObservationRequest`, which reads the lab from CML (`recordLabObservation`: nodes with
 *   cpu/ram, tags → observed ports, interfaces, simulation stats), stores the observation with
 *   `observer` = the requesting principal, detects port drift against the allocated ports and
 *   flags collisions with other sessions' leases on the worker on both sessions. The outbox turns
 *   an observation with drift into `session.port-drift-detected` (its data carries the conflicts).
 * - Review: `getDefinitionObservations` aggregates the newest N observed sessions of a definition
 *   across all its versions (max/avg/latest, drift count, per-session summaries).
 * - Apply: `applyObservedToDefinition` makes a new definition version whose resource
 *   requirements (and, when asked, port template) come from the observations.
 */

// ---------------------------------------------------------------------------------------------
// Observing a running lab

export interface ObserveDeps {
  sessions: Pick<SessionStore, 'getSession' | 'update' | 'addObservation'>;
  workers: Pick<WorkerStore, 'get'>;
  leases: Pick<PortLeaseStore, 'listByWorker'>;
  /** The CML client of a worker. */
  cml: (worker: Worker) => CmlApi;
  clock?: () => Date;
}

/** At most this many port conflicts are kept on a session (the newest). */
export const MAX_PORT_CONFLICTS = 100;

function interfaceSummary(byNode: ReadonlyArray<{ node: CmlNodeInfo; interfaces: CmlInterfaceInfo[] }>) {
  return byNode.map(({ node, interfaces }) => ({
    node: node.label,
    interfaces: interfaces.map((i) => ({
      label: i.label ?? i.id,
      ...(i.type ? { type: i.type } : {}),
      ...(typeof i.is_connected === 'boolean' ? { connected: i.is_connected } : {}),
      ...(i.state ? { state: i.state } : {}),
    })),
  }));
}

/**
 * Appends conflicts to a session's `portConflicts` (deduplicated on name, port, other session and
 * observing session; the newest MAX_PORT_CONFLICTS kept). A session that no longer exists is skipped.
 */
async function appendConflicts(
  deps: Pick<ObserveDeps, 'sessions'>,
  sessionId: string,
  add: PortConflict[],
): Promise<void> {
  if (add.length === 0) return;
  const keyOf = (c: PortConflict) =>
    `${c.name}\u0000${c.port}\u0000${c.otherSessionId}\u0000${c.observedSessionId}`;
  try {
    await retryOnConflict(
      async () => {
        const session = await deps.sessions.getSession(sessionId);
        const byKey = new Map((session.portConflicts ?? []).map((c) => [keyOf(c), c]));
        for (const c of add) {
          byKey.delete(keyOf(c));
          byKey.set(keyOf(c), c);
        }
        const portConflicts = [...byKey.values()].slice(-MAX_PORT_CONFLICTS);
        await deps.sessions.update(sessionId, { portConflicts }, session.version);
      },
      { maxAttempts: 10 },
    );
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
}

/**
 * Flags each collision on both sessions: on the observed one (`otherSessionId` = the lease
 * holder) and on the lease holder (`otherSessionId` = the observed session).
 */
export async function flagPortConflicts(
  deps: Pick<ObserveDeps, 'sessions'>,
  observedSessionId: string,
  conflicts: PortDrift['conflicts'],
  detectedAt: string,
): Promise<void> {
  if (conflicts.length === 0) return;
  await appendConflicts(
    deps,
    observedSessionId,
    conflicts.map((c) => ({
      name: c.name,
      port: c.port,
      otherSessionId: c.otherSessionId,
      observedSessionId,
      detectedAt,
    })),
  );
  const byOther = new Map<string, PortConflict[]>();
  for (const c of conflicts) {
    const list = byOther.get(c.otherSessionId) ?? [];
    list.push({
      name: c.name,
      port: c.port,
      otherSessionId: observedSessionId,
      observedSessionId,
      detectedAt,
    });
    byOther.set(c.otherSessionId, list);
  }
  for (const [other, list] of byOther) await appendConflicts(deps, other, list);
}

/**
 * One observation of the session's lab, attributed to `observer`: the nodes (cpu/ram as CML
 * runs them, CPU usage), the ports their PATty tags carry, interfaces and simulation stats, with
 * port drift against the allocated ports and collisions with other sessions' leases on the
 * worker (flagged on both sessions).
 */
export async function recordLabObservation(
  deps: ObserveDeps,
  session: LabletSession,
  observer: string,
): Promise<ResourceObservation> {
  if (!session.cmlLabId || !session.workerId) {
    throw new ConflictError(`session ${session.id} has no lab to observe`, { sessionId: session.id });
  }
  const labId = session.cmlLabId;
  const worker = await deps.workers.get(session.workerId);
  const cml = deps.cml(worker);
  const nodes = await cml.listNodes(labId);
  const [stats, interfaces, leases] = await Promise.all([
    cml.simulationStats(labId),
    Promise.all(nodes.map(async (node) => ({ node, interfaces: await cml.nodeInterfaces(labId, node.id) }))),
    deps.leases.listByWorker(session.workerId),
  ]);
  const { ports, error: tagError } = observedPorts(nodes);
  const otherLeases = leases.filter((l) => l.sessionId !== session.id);
  const drift = detectPortDrift(session.allocatedPorts ?? {}, ports, otherLeases);
  const { nodes: observedNodes, totals } = observeNodes(nodes, stats);
  const observedAt = nowIso(deps);
  const observation = await deps.sessions.addObservation({
    sessionId: session.id,
    definitionId: session.definitionId,
    definitionVersion: session.definitionVersion,
    workerId: session.workerId,
    cmlLabId: labId,
    observedAt,
    observer,
    nodes: observedNodes,
    totals,
    observedPorts: ports,
    drift,
    stats: {
      simulation: { nodes: stats.nodes, linkCount: Object.keys(stats.links).length },
      interfaces: interfaceSummary(interfaces),
      ...(tagError ? { tagError } : {}),
    },
  });
  await flagPortConflicts(deps, session.id, drift.conflicts, observedAt);
  return observation;
}

// ---------------------------------------------------------------------------------------------
// Manual trigger

/** What requestObservation returns: the request recorded (or the one already pending). */
export const ObservationRequestResultSchema = z.object({
  /** `already-requested`: a request is pending; nothing was changed. */
  outcome: z
    .enum(['requested', 'already-requested'])
    .describe('`requested`, or `already-requested`: a request was pending and nothing changed.'),
  sessionId: Id.describe('The session.'),
  request: ObservationRequestSchema.describe('The request as recorded on the session.'),
});
export type ObservationRequestResult = z.output<typeof ObservationRequestResultSchema>;

/**
 * Records a manual observation request on a RUNNING session (any other status → 409). The work
 * is done asynchronously by the stream-triggered task (`runObservationRequest`). Repeating while
 * a request is pending changes nothing.
 */
export async function requestObservation(
  deps: { sessions: Pick<SessionStore, 'getSession' | 'update'>; clock?: () => Date },
  sessionId: string,
  ctx: { by: string },
): Promise<ObservationRequestResult> {
  const { value } = await retryOnConflict(
    async () => {
      const session = await deps.sessions.getSession(sessionId);
      if (session.status !== 'RUNNING') {
        throw new ConflictError(
          `session ${sessionId} is ${session.status}; only a RUNNING session can be observed on request`,
          { sessionId, status: session.status },
        );
      }
      const pending = session.observationRequest;
      if (pending?.status === 'PENDING') {
        return { outcome: 'already-requested' as const, sessionId, request: pending };
      }
      const request: ObservationRequest = {
        status: 'PENDING',
        requestedBy: ctx.by,
        requestedAt: nowIso(deps),
      };
      await deps.sessions.update(sessionId, { observationRequest: request }, session.version);
      return { outcome: 'requested' as const, sessionId, request };
    },
    { maxAttempts: 10 },
  );
  return value;
}

export type ObservationRunResult =
  | { outcome: 'skipped'; reason: string }
  | { outcome: 'observed'; observation: ResourceObservation }
  | { outcome: 'failed'; error: string };

/**
 * Performs the pending observation request of a session (the stream-triggered task): observes
 * the lab with `observer` = the requesting principal, then removes the request. A request that
 * cannot be performed (the session left RUNNING/COLLECTING, CML unreachable) is marked FAILED
 * with the error, so it is visible on the session and not retried by the next change.
 */
export async function runObservationRequest(
  deps: ObserveDeps,
  sessionId: string,
): Promise<ObservationRunResult> {
  let session: LabletSession;
  try {
    session = await deps.sessions.getSession(sessionId);
  } catch (e) {
    if (e instanceof NotFoundError) return { outcome: 'skipped', reason: `session ${sessionId} not found` };
    throw e;
  }
  const request = session.observationRequest;
  if (request?.status !== 'PENDING') return { outcome: 'skipped', reason: 'no pending observation request' };

  /** Replaces (or removes, with null) the request, if it is still the one this run performed. */
  const settle = async (next: ObservationRequest | null): Promise<void> => {
    await retryOnConflict(
      async () => {
        const current = await deps.sessions.getSession(sessionId);
        const mine = current.observationRequest;
        if (mine?.status !== 'PENDING' || mine.requestedAt !== request.requestedAt) return;
        await deps.sessions.update(sessionId, { observationRequest: next }, current.version);
      },
      { maxAttempts: 10 },
    );
  };
  const fail = async (error: string): Promise<ObservationRunResult> => {
    const text = error.length <= 2000 ? error : `${error.slice(0, 1997)}...`;
    await settle({ ...request, status: 'FAILED', failedAt: nowIso(deps), error: text });
    return { outcome: 'failed', error: text };
  };

  if (!OBSERVABLE_SESSION_STATUSES.includes(session.status)) {
    return fail(`session is ${session.status}; its lab is no longer running`);
  }
  let observation: ResourceObservation;
  try {
    observation = await recordLabObservation(deps, session, request.requestedBy);
  } catch (e) {
    if (e instanceof VersionConflictError) throw e;
    return fail(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  }
  await settle(null);
  return { outcome: 'observed', observation };
}

// ---------------------------------------------------------------------------------------------
// Review: aggregation over the newest observed sessions

export interface ObservationQueryDeps {
  definitions: Pick<DefinitionStore, 'getLatest'>;
  sessions: Pick<SessionStore, 'listObservationsOfDefinition'>;
}

export const DEFAULT_OBSERVATION_LIMIT = 20;
/** The most observed sessions one aggregation or apply reads. */
export const MAX_OBSERVATION_LIMIT = 100;
/** How many of the newest observed sessions to aggregate (1..MAX_OBSERVATION_LIMIT). */
export const ObservationLimit = z.number().int().min(1).max(MAX_OBSERVATION_LIMIT);

const ObservedSessionSummarySchema = z.object({
  sessionId: Id.describe('The observed session.'),
  definitionVersion: LabletDefinitionSchema.shape.version.describe('The definition version it ran.'),
  observedAt: IsoDateTime.describe('Its newest observation (ISO 8601).'),
  totals: ResourceRequirementsSchema.describe('What its lab used.'),
  hasDrift: z.boolean().describe('Whether that observation reported port drift.'),
});

/** What getDefinitionObservations returns: the newest observed sessions, aggregated. */
export const DefinitionObservationsSchema = z.object({
  definitionId: Id.describe('The definition.'),
  /** The definition's latest version and its requirements, to compare with. */
  latestVersion: LabletDefinitionSchema.shape.version.describe('Its latest version, to compare with.'),
  current: ResourceRequirementsSchema.describe("The latest version's resource requirements."),
  /** How many sessions were asked for. */
  limit: z.number().int().min(1).describe('How many sessions were asked for.'),
  sessionCount: z
    .number()
    .int()
    .nonnegative()
    .describe('How many observed sessions were found (at most `limit`).'),
  /** Definition versions among the sessions, ascending. */
  versions: z
    .array(LabletDefinitionSchema.shape.version)
    .describe('Definition versions among the sessions, ascending.'),
  max: ResourceRequirementsSchema.describe(
    'The most each dimension used over the sessions (null: none observed).',
  ).nullable(),
  avg: ResourceRequirementsSchema.describe('The mean per dimension (null: none observed).').nullable(),
  latest: ResourceRequirementsSchema.describe('What the newest observation used (null: none).').nullable(),
  /** Sessions whose newest observation reported port drift. */
  driftSessions: z
    .number()
    .int()
    .nonnegative()
    .describe('Sessions whose newest observation reported port drift.'),
  /** Newest first. */
  sessions: z.array(ObservedSessionSummarySchema).describe('The sessions, newest first.'),
});
export type DefinitionObservations = z.output<typeof DefinitionObservationsSchema>;

/** Observation pages read at most while looking for `limit` distinct sessions. */
const MAX_OBSERVATION_PAGES = 20;

/**
 * The newest observation of each of the newest `limit` observed sessions of a definition (any
 * version), newest first. Reads the definition's observations (access pattern 8) page by page
 * until it has `limit` sessions.
 */
export async function newestObservedSessions(
  deps: Pick<ObservationQueryDeps, 'sessions'>,
  definitionId: string,
  limit: number,
): Promise<ResourceObservation[]> {
  const newest = new Map<string, ResourceObservation>();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_OBSERVATION_PAGES; page++) {
    const out = await deps.sessions.listObservationsOfDefinition(definitionId, 100, cursor);
    for (const o of out.items) {
      if (!newest.has(o.sessionId)) newest.set(o.sessionId, o);
      if (newest.size >= limit) return [...newest.values()];
    }
    cursor = out.cursor;
    if (!cursor) break;
  }
  return [...newest.values()];
}

export async function getDefinitionObservations(
  deps: ObservationQueryDeps,
  definitionId: string,
  query: { limit?: number | undefined } = {},
): Promise<DefinitionObservations> {
  const limit = query.limit ?? DEFAULT_OBSERVATION_LIMIT;
  const latest = await deps.definitions.getLatest(definitionId);
  const observations = await newestObservedSessions(deps, definitionId, limit);
  return {
    definitionId,
    latestVersion: latest.version,
    current: { ...latest.resourceRequirements },
    limit,
    ...aggregateObservations(observations, limit),
  };
}

// ---------------------------------------------------------------------------------------------
// Apply: a new version from what was observed

const STRATEGIES = ['max', 'latest', 'custom'] as const;

/**
 * What a caller states to apply observations. The strategy's rules are the use case's own:
 * `custom` needs at least one value in resourceRequirements, and only `custom` takes them.
 */
export const ApplyObservedInputSchema = z
  .object({
    /** max / latest of the observed sessions, or custom values (given in resourceRequirements). */
    strategy: z
      .enum(STRATEGIES)
      .describe('`max` or `latest` of the observed sessions, or `custom` (values in resourceRequirements).'),
    /** How many of the newest observed sessions to consider. */
    limit: ObservationLimit.describe('How many of the newest observed sessions to consider.').default(
      DEFAULT_OBSERVATION_LIMIT,
    ),
    /** strategy custom: the values to use; fields not given keep the latest version's. */
    resourceRequirements: ResourceRequirementsSchema.partial()
      .describe("strategy custom: the values to use; fields not given keep the latest version's.")
      .optional(),
    /** Also take the port template (and the topology's node tags) from the newest observation. */
    portTemplate: z
      .boolean()
      .describe("Also take the port template (and the topology's node tags) from the newest observation.")
      .default(false),
    /** Only if the latest version is still this one (409 otherwise). */
    expectedVersion: LabletDefinitionSchema.shape.version
      .describe('Only if the latest version is still this one (409 otherwise).')
      .optional(),
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
  });
export type ApplyObservedInput = z.output<typeof ApplyObservedInputSchema>;

const DefinitionShapeSchema = z.object({
  version: LabletDefinitionSchema.shape.version.describe('The version.'),
  resourceRequirements: ResourceRequirementsSchema.describe('Its resource requirements.'),
  portTemplate: PortTemplateSchema.describe('Its port template.'),
});
export type DefinitionShape = z.output<typeof DefinitionShapeSchema>;

/** What applyObservedToDefinition returns. */
export const ApplyObservedResultSchema = z.object({
  definitionId: Id.describe('The definition.'),
  strategy: z.enum(STRATEGIES).describe('The strategy applied.'),
  /** false: the observed values equal the latest version's; no version was created. */
  changed: z
    .boolean()
    .describe("false: the observed values equal the latest version's; no version was created."),
  before: DefinitionShapeSchema.describe('The latest version before the call.'),
  after: DefinitionShapeSchema.describe('The latest version after it.'),
  /** The observations used (null for a custom strategy without them). */
  basedOn: z
    .object({
      sessionCount: z.number().int().nonnegative().describe('How many sessions were used.'),
      versions: z.array(LabletDefinitionSchema.shape.version).describe('Their definition versions.'),
      sessionIds: z.array(Id).describe('The sessions.'),
      newestObservedAt: IsoDateTime.describe('The newest observation used (ISO 8601).'),
    })
    .describe('The observations used (null for a custom strategy without them).')
    .nullable(),
  /** The latest version after the call (the new one when `changed`). */
  definition: LabletDefinitionSchema.describe(
    'The latest version after the call (the new one when `changed`).',
  ),
});
export type ApplyObservedResult = z.output<typeof ApplyObservedResultSchema>;

const shapeOf = (d: LabletDefinition): DefinitionShape => ({
  version: d.version,
  resourceRequirements: { ...d.resourceRequirements },
  portTemplate: structuredClone(d.portTemplate),
});

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * A new version of the definition whose resource requirements come from its observations —
 * `max` or `latest` of the newest `limit` observed sessions, or `custom` values (fields not given
 * keep the latest version's) — and, with `portTemplate: true`, whose port template (and the
 * topology's node tags) come from the newest observation. Older versions are untouched; values
 * equal to the latest version's create nothing (`changed: false`). No observations → 409.
 */
export async function applyObservedToDefinition(
  deps: ObservationQueryDeps & {
    definitions: Pick<DefinitionStore, 'getLatest' | 'putNewVersion' | 'readTopology' | 'topologies'>;
    clock?: () => Date;
  },
  definitionId: string,
  input: ApplyObservedInput,
  ctx: { by: string },
): Promise<ApplyObservedResult> {
  await deps.definitions.getLatest(definitionId); // 404 before anything else
  const observations = await newestObservedSessions(deps, definitionId, input.limit);
  const aggregate = aggregateObservations(observations, input.limit);
  const newest = aggregate.sessions[0];
  const needsObservations = input.strategy !== 'custom' || input.portTemplate;
  if (needsObservations && !newest) {
    throw new ConflictError(`definition ${definitionId} has no observed sessions to apply`, { definitionId });
  }
  const newestObservation = newest
    ? observations.find((o) => o.sessionId === newest.sessionId && o.observedAt === newest.observedAt)
    : undefined;

  const { value } = await retryOnConflict(
    async () => {
      const prev = await deps.definitions.getLatest(definitionId);
      if (input.expectedVersion !== undefined && input.expectedVersion !== prev.version) {
        throw new VersionConflictError(
          'LabletDefinition',
          definitionId,
          `the latest version is ${prev.version}, expected ${input.expectedVersion}`,
        );
      }
      if (prev.status === 'ARCHIVED') {
        throw new ConflictError(
          `definition ${definitionId} is archived; an archived definition does not change`,
          {
            definitionId,
            status: prev.status,
          },
        );
      }
      const resourceRequirements: ResourceRequirements =
        input.strategy === 'max'
          ? { ...aggregate.max! }
          : input.strategy === 'latest'
            ? { ...aggregate.latest! }
            : { ...prev.resourceRequirements, ...input.resourceRequirements };
      const changes: DefinitionChanges = { resourceRequirements };
      if (input.portTemplate) {
        try {
          const observed = portTemplateFromObservation(newestObservation!);
          if (!samePorts(observed, prev.portTemplate)) {
            const prevYaml = await deps.definitions.readTopology(prev);
            if (prevYaml) {
              const tagged = topologyWithObservedTags(prevYaml, newestObservation!);
              // The rewritten topology goes to the content bucket; the version holds its reference.
              changes.portTemplate = tagged.portTemplate;
              changes.topology = await deps.definitions.topologies.put(tagged.topologyYaml);
              changes.topologyYaml = undefined;
            } else changes.portTemplate = observed;
          }
        } catch (e) {
          if (e instanceof ConflictError || !(e instanceof DomainError)) throw e;
          throw new ConflictError(`the newest observation's tags do not make a port template: ${e.message}`, {
            sessionId: newestObservation!.sessionId,
          });
        }
      }
      const before = shapeOf(prev);
      const unchanged =
        sameJson(resourceRequirements, prev.resourceRequirements) &&
        (changes.portTemplate === undefined || sameJson(changes.portTemplate, prev.portTemplate)) &&
        (changes.topology === undefined || changes.topology.hash === prev.topology?.hash);
      if (unchanged) return { changed: false, before, definition: prev };
      const next = nextDefinitionVersion(prev, changes, ctx.by, nowIso(deps));
      const definition = await deps.definitions.putNewVersion(prev, next);
      return { changed: true, before, definition };
    },
    { maxAttempts: input.expectedVersion === undefined ? 5 : 1 },
  );
  return {
    definitionId,
    strategy: input.strategy,
    changed: value.changed,
    before: value.before,
    after: shapeOf(value.definition),
    basedOn: newest
      ? {
          sessionCount: aggregate.sessionCount,
          versions: aggregate.versions,
          sessionIds: aggregate.sessions.map((s) => s.sessionId),
          newestObservedAt: newest.observedAt,
        }
      : null,
    definition: value.definition,
  };
}
