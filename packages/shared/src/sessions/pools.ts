import { ulid } from 'ulid';
import * as z from 'zod';
import { type DefinitionStore, rewriteTopologyPorts } from '../catalogue/index.ts';
import type { LeftoverLabStore, PlacementRequest, PortLeaseStore, WorkerStore } from '../fleet/index.ts';
import {
  type LabletDefinition,
  type LabletSession,
  LIVE_POOLED_LAB_STATUSES,
  NotFoundError,
  PoolClaimConflictError,
  type PooledLab,
  type Worker,
  type WorkerStatus,
} from '../kernel/index.ts';
import { allPages, type CmlApi, IntegrationError, nowOf, retryOnConflict } from '../platform/index.ts';
import { chooseWorkerAndPorts } from './place-session.ts';
import { MAX_PORTS_PER_SESSION } from './placement-store.ts';
import type { PoolStore } from './pool-store.ts';
import {
  claimCandidates,
  mayClaim,
  type PoolSlotDemand,
  planPools,
  poolDemand,
  poolHolds,
} from './rules/pools.ts';
import { labTitleOf } from './steps/deps.ts';

/**
 * Hot-start pools (issue 15, items 3 and 4): the pool reconciler (a schedule, functions/schedules/
 * pool-reconcile.ts) keeps `warmPoolDepth` labs of each ACTIVE definition's latest version placed,
 * imported, started and converged; a walk-in booking's PlaceSession step claims a READY one
 * (`claimPooledLab`). The decisions are the pure rules of rules/pools.ts; placement is the
 * sessions' (chooseWorkerAndPorts + the shared worker and lease operations).
 */

export interface PoolDeps {
  pools: PoolStore;
  definitions: Pick<DefinitionStore, 'listLatest' | 'getVersion' | 'readTopology'>;
  workers: Pick<WorkerStore, 'get' | 'listAllByStatus'>;
  leases: Pick<PortLeaseStore, 'listByWorker'>;
  /** A lab whose deletion failed on a live worker is recorded for the health sweep to delete. */
  leftoverLabs?: Pick<LeftoverLabStore, 'record'> | undefined;
  cml: (worker: Worker) => CmlApi;
  /** How long a pooled lab may take to converge before it is released (the session workflow's labBootTimeoutSeconds). */
  labBootTimeoutSeconds: number;
  clock?: (() => Date) | undefined;
  newId?: (() => string) | undefined;
}

/** Who the pool's work is attributed to (lease records, leftover labs, session history of a claim). */
export const POOL_ACTOR = 'pool-reconciler';

export interface PoolReconcileResult {
  at: string;
  placed: string[];
  /** Labs a definition lacks that no RUNNING worker could take (the scaler's pool demand). */
  unplaced: Array<{ definitionId: string; count: number }>;
  booting: string[];
  ready: string[];
  released: Array<{ id: string; reason: string }>;
  failed: Array<{ id: string; error: string }>;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const notFound = (e: unknown): boolean => e instanceof IntegrationError && e.status === 404;

async function workerOrUndefined(deps: Pick<PoolDeps, 'workers'>, id: string): Promise<Worker | undefined> {
  try {
    return await deps.workers.get(id);
  } catch (e) {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
}

const latestDefinitions = (deps: {
  definitions: Pick<DefinitionStore, 'listLatest'>;
}): Promise<LabletDefinition[]> => allPages((p) => deps.definitions.listLatest(p));

/** One pass of the pool reconciler over every pool (idempotent; safe to run concurrently). */
export async function reconcilePools(deps: PoolDeps): Promise<PoolReconcileResult> {
  const now = nowOf(deps);
  const result: PoolReconcileResult = {
    at: now.toISOString(),
    placed: [],
    unplaced: [],
    booting: [],
    ready: [],
    released: [],
    failed: [],
  };
  const [definitions, labs] = await Promise.all([latestDefinitions(deps), deps.pools.listAll()]);
  const workers = new Map<string, Worker | undefined>();
  for (const lab of labs) {
    if (lab.status === 'CLAIMED' || lab.status === 'RELEASED' || workers.has(lab.workerId)) continue;
    workers.set(lab.workerId, await workerOrUndefined(deps, lab.workerId));
  }
  const plan = planPools(
    definitions,
    labs,
    (id) => workers.get(id)?.status as WorkerStatus | undefined,
    now.getTime(),
  );

  for (const { lab, reason } of plan.release) {
    try {
      await releasePooledLab(deps, lab, reason);
      result.released.push({ id: lab.id, reason });
    } catch (e) {
      result.failed.push({ id: lab.id, error: message(e) });
    }
  }
  const progress = [...plan.progress];
  const byId = new Map(definitions.map((d) => [d.id, d]));
  for (const want of plan.place) {
    const def = byId.get(want.definitionId)!;
    for (let i = 0; i < want.count; i++) {
      try {
        const lab = await placePooledLab(deps, def);
        if (!lab) {
          result.unplaced.push({ definitionId: def.id, count: want.count - i });
          break;
        }
        result.placed.push(lab.id);
        progress.push(lab);
      } catch (e) {
        result.failed.push({ id: `${def.id}#new`, error: message(e) });
        break;
      }
    }
  }
  for (const lab of progress) {
    try {
      const next = await progressPooledLab(deps, lab);
      if (next.status === 'READY') result.ready.push(next.id);
      else if (next.status === 'BOOTING') result.booting.push(next.id);
    } catch (e) {
      result.failed.push({ id: lab.id, error: message(e) });
    }
  }
  return result;
}

/** Places one new lab of the definition's version; undefined when no RUNNING worker can take it. */
export async function placePooledLab(deps: PoolDeps, def: LabletDefinition): Promise<PooledLab | undefined> {
  if (def.portTemplate.length > MAX_PORTS_PER_SESSION - 1) return undefined;
  const request: PlacementRequest = {
    requirements: def.resourceRequirements,
    licenseAffinity: def.licenseAffinity,
    podType: def.podType,
    amiRequirement: def.amiRequirement,
    portsNeeded: def.portTemplate.length,
    nodeDefinitions: def.nodeDefinitions,
    imageDefinitions: def.imageDefinitions,
  };
  const id = `pool-${(deps.newId?.() ?? ulid()).toLowerCase()}`;
  const { value } = await retryOnConflict(
    async () => {
      const choice = await chooseWorkerAndPorts(deps, request, def.portTemplate);
      if (!choice.placed) return undefined;
      const at = nowOf(deps).toISOString();
      return deps.pools.place(
        {
          id,
          definitionId: def.id,
          definitionVersion: def.version,
          status: 'PLACED',
          requirements: { ...def.resourceRequirements },
          licenseAffinity: [...def.licenseAffinity],
          podType: def.podType,
          ...(def.amiRequirement !== undefined ? { amiRequirement: def.amiRequirement } : {}),
          portTemplate: structuredClone(def.portTemplate),
          ...(def.nodeDefinitions ? { nodeDefinitions: [...def.nodeDefinitions] } : {}),
          ...(def.imageDefinitions ? { imageDefinitions: [...def.imageDefinitions] } : {}),
          workerId: choice.worker.id,
          allocatedPorts: choice.ports,
          placedAt: at,
          createdAt: at,
          updatedAt: at,
          version: 0,
        },
        choice.worker,
      );
    },
    { maxAttempts: 10 },
  );
  return value;
}

/**
 * PLACED → BOOTING: the definition version's topology with the lab's ports imported under the
 * lab's title (a retry finds it instead of importing twice) and started. BOOTING → READY once CML
 * says it converged. Returns the lab as it now is.
 */
export async function progressPooledLab(deps: PoolDeps, lab: PooledLab): Promise<PooledLab> {
  const worker = await deps.workers.get(lab.workerId);
  const cml = deps.cml(worker);
  let current = lab;
  if (current.status === 'PLACED') {
    const title = labTitleOf(current.id);
    let labId: string | undefined;
    for (const id of await cml.listLabs()) {
      if ((await cml.getLab(id).catch(() => undefined))?.lab_title === title) labId = id;
    }
    if (!labId) {
      const def = await deps.definitions.getVersion(current.definitionId, current.definitionVersion);
      const yaml = await deps.definitions.readTopology(def);
      if (!yaml) throw new Error(`definition ${def.id} v${def.version} has no CML topology`);
      labId = (
        await cml.importLab(rewriteTopologyPorts(yaml, current.portTemplate, current.allocatedPorts), title)
      ).id;
    }
    await cml.startLab(labId);
    const deadline = new Date(nowOf(deps).getTime() + deps.labBootTimeoutSeconds * 1000).toISOString();
    current = await deps.pools.advance(current, 'BOOTING', { cmlLabId: labId, bootDeadline: deadline });
  }
  if (current.status === 'BOOTING' && current.cmlLabId) {
    if (await cml.checkIfConverged(current.cmlLabId)) {
      current = await deps.pools.advance(current, 'READY', { readyAt: nowOf(deps).toISOString() });
    }
  }
  return current;
}

/**
 * Releases a live pooled lab: its CML lab stopped, wiped and deleted while its worker is live (a
 * failure is recorded as a leftover lab for the health sweep), then the release transaction:
 * RELEASED, the worker's capacity and the lab's leases given back (a worker no longer RUNNING or
 * DRAINING had them cleared by its drain or loss; only leases still held are deleted).
 */
export async function releasePooledLab(deps: PoolDeps, lab: PooledLab, reason: string): Promise<PooledLab> {
  const first = await workerOrUndefined(deps, lab.workerId);
  const live = (w: Worker | undefined): w is Worker => w?.status === 'RUNNING' || w?.status === 'DRAINING';
  if (live(first) && lab.cmlLabId) {
    const cml = deps.cml(first);
    const labId = lab.cmlLabId;
    try {
      for (const step of [() => cml.stopLab(labId), () => cml.wipeLab(labId), () => cml.deleteLab(labId)]) {
        try {
          await step();
        } catch (e) {
          if (notFound(e)) break;
          throw e;
        }
      }
    } catch {
      await deps.leftoverLabs?.record({
        workerId: first.id,
        cmlLabId: labId,
        sessionId: lab.id,
        by: POOL_ACTOR,
      });
    }
  }
  const { value } = await retryOnConflict(
    async () => {
      const current = await deps.pools.get(lab.id);
      if (current.status === 'CLAIMED' || current.status === 'RELEASED') return current;
      const worker = await workerOrUndefined(deps, current.workerId);
      const ports = (await deps.leases.listByWorker(current.workerId))
        .filter((l) => l.sessionId === current.id)
        .map((l) => l.port);
      return deps.pools.release(current, live(worker) ? worker : undefined, ports, reason);
    },
    { maxAttempts: 10 },
  );
  return value;
}

export interface ClaimDeps {
  pools: Pick<PoolStore, 'listOfDefinition' | 'get' | 'claim'>;
  definitions: Pick<DefinitionStore, 'getLatest'>;
  clock?: (() => Date) | undefined;
}

/**
 * A walk-in booking claims a READY pooled lab of its definition's current version: undefined
 * when it may not (not PENDING, not starting within `bootSeconds`, not the current version, no
 * pool) or when none could be claimed (each lost race — PoolClaimConflictError — tries the next
 * READY lab, up to three): the caller places it normally.
 */
export async function claimPooledLab(
  deps: ClaimDeps,
  session: LabletSession,
  bootSeconds: number,
  by: string,
): Promise<LabletSession | undefined> {
  if (!mayClaim(session, nowOf(deps).getTime(), bootSeconds)) return undefined;
  let def: LabletDefinition;
  try {
    def = await deps.definitions.getLatest(session.definitionId);
  } catch (e) {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
  if (def.status !== 'ACTIVE' || def.warmPoolDepth <= 0 || def.version !== session.definitionVersion) {
    return undefined;
  }
  const candidates = claimCandidates(session, await deps.pools.listOfDefinition(session.definitionId));
  for (const candidate of candidates.slice(0, 3)) {
    try {
      const lab = await deps.pools.get(candidate.id);
      if (lab.status !== 'READY') continue;
      return await deps.pools.claim(lab, session, by);
    } catch (e) {
      if (e instanceof PoolClaimConflictError || e instanceof NotFoundError) continue;
      throw e;
    }
  }
  return undefined;
}

/** The scaler's demand of the pools (rules/pools.ts `poolDemand`), read from the table. */
export async function readPoolDemand(deps: {
  pools: Pick<PoolStore, 'listAll'>;
  definitions: Pick<DefinitionStore, 'listLatest'>;
  clock?: (() => Date) | undefined;
}): Promise<PoolSlotDemand[]> {
  const [definitions, labs] = await Promise.all([latestDefinitions(deps), deps.pools.listAll()]);
  return poolDemand(definitions, labs, nowOf(deps).getTime());
}

/** What the pools hold in the capacity book over [fromMs, toMs) (rules/pools.ts `poolHolds`). */
export async function readPoolHolds(
  deps: { definitions: Pick<DefinitionStore, 'listLatest'> },
  fromMs: number,
  toMs: number,
): Promise<PoolSlotDemand[]> {
  return poolHolds(await latestDefinitions(deps), fromMs, toMs);
}

/** One pool as an operator sees it: its definition's depth and the labs that hold capacity for it. */
export const PoolViewSchema = z.object({
  definitionId: z.string().describe('The pooled definition.'),
  definitionVersion: z.number().int().describe('Its latest version: the one its pool is filled with.'),
  definitionStatus: z.string().describe('The definition status (a pool is filled only while ACTIVE).'),
  depth: z.number().int().describe("The definition's `warmPoolDepth`: how many labs the pool keeps."),
  counts: z
    .object({
      PLACED: z.number().int().describe('Labs holding capacity, not yet imported.'),
      BOOTING: z.number().int().describe('Labs imported and starting.'),
      READY: z.number().int().describe('Labs converged, ready to be claimed.'),
    })
    .describe('Live labs of the pool by status (any version: an older version drains).'),
  labs: z
    .array(
      z.object({
        id: z.string().describe('Pooled lab id.'),
        definitionVersion: z.number().int().describe('The version the lab belongs to.'),
        status: z.enum(['PLACED', 'BOOTING', 'READY']).describe('Where it is.'),
        workerId: z.string().describe('The worker it is placed on.'),
        ports: z.number().int().describe('Console ports it holds on the worker.'),
        placedAt: z.string().describe('When it took capacity (ISO 8601).'),
        readyAt: z.string().optional().describe('When its lab converged (ISO 8601).'),
      }),
    )
    .describe('The live labs, oldest first.'),
});
export type PoolView = z.infer<typeof PoolViewSchema>;

export const FleetPoolsSchema = z.object({
  pools: z
    .array(PoolViewSchema)
    .describe('Every definition with a pool depth above 0 or live pooled labs, by definition id.'),
});
export type FleetPools = z.infer<typeof FleetPoolsSchema>;

/**
 * GET /v1/fleet/pools: each hot-start pool with its depth and live labs (PLACED, BOOTING, READY).
 * Claimed and released labs are history (the pool cost reads them); they are not listed.
 */
export async function getFleetPools(deps: {
  pools: Pick<PoolStore, 'listAll'>;
  definitions: Pick<DefinitionStore, 'listLatest'>;
}): Promise<FleetPools> {
  const [definitions, labs] = await Promise.all([latestDefinitions(deps), deps.pools.listAll()]);
  const live = labs.filter((l) => LIVE_POOLED_LAB_STATUSES.includes(l.status));
  const pools: PoolView[] = [];
  for (const d of [...definitions].sort((a, b) => a.id.localeCompare(b.id))) {
    const own = live
      .filter((l) => l.definitionId === d.id)
      .sort((a, b) => a.placedAt.localeCompare(b.placedAt) || a.id.localeCompare(b.id));
    if ((d.warmPoolDepth ?? 0) === 0 && own.length === 0) continue;
    const count = (s: PooledLab['status']) => own.filter((l) => l.status === s).length;
    pools.push({
      definitionId: d.id,
      definitionVersion: d.version,
      definitionStatus: d.status,
      depth: d.warmPoolDepth ?? 0,
      counts: { PLACED: count('PLACED'), BOOTING: count('BOOTING'), READY: count('READY') },
      labs: own.map((l) => ({
        id: l.id,
        definitionVersion: l.definitionVersion,
        status: l.status as 'PLACED' | 'BOOTING' | 'READY',
        workerId: l.workerId,
        ports: Object.keys(l.allocatedPorts).length,
        placedAt: l.placedAt,
        ...(l.readyAt ? { readyAt: l.readyAt } : {}),
      })),
    });
  }
  return { pools };
}
