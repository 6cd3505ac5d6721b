import type {
  Capacity,
  LabletDefinition,
  LabletSession,
  PooledLab,
  PooledLabStatus,
  WorkerStatus,
} from '../../kernel/index.ts';
import { LIVE_POOLED_LAB_STATUSES } from '../../kernel/index.ts';

/**
 * The hot-start pools' pure rules (issue 15, items 3 and 4): what the pool reconciler does with
 * the definitions and the pooled labs it read, which booking may claim which lab, and what the
 * pools hold for the scaler's demand and the capacity book.
 */

/** What the planner reads of a definition: its latest version. */
export type PoolDefinition = Pick<LabletDefinition, 'id' | 'version' | 'status' | 'warmPoolDepth'>;

export interface PoolPlan {
  /** New labs of the latest version to place, per definition. */
  place: Array<{ definitionId: string; definitionVersion: number; count: number }>;
  /** Live labs to release, each with why. */
  release: Array<{ lab: PooledLab; reason: string }>;
  /** Kept labs still on their way to READY (PLACED: import and start; BOOTING: check convergence). */
  progress: PooledLab[];
}

const isLive = (status: PooledLabStatus): boolean => LIVE_POOLED_LAB_STATUSES.includes(status);

/** Least advanced first (what a trim gives up first), newest first within a status. */
const TRIM_ORDER: Record<PooledLabStatus, number> = {
  PLACED: 0,
  BOOTING: 1,
  READY: 2,
  CLAIMED: 3,
  RELEASED: 4,
};

/**
 * The reconciliation of every pool:
 * - a live lab is released when its definition is gone, not ACTIVE (deprecated or archived: the
 *   pool is emptied), at another version than the latest (a new version drains the old pool), its
 *   worker is not RUNNING (drained, stopped or lost), or its boot deadline passed unconverged;
 * - of the remaining labs of an ACTIVE definition, those beyond `warmPoolDepth` are trimmed (least
 *   advanced first), and the missing ones are to be placed;
 * - the kept labs not yet READY progress.
 */
export function planPools(
  definitions: readonly PoolDefinition[],
  labs: readonly PooledLab[],
  workerStatus: (workerId: string) => WorkerStatus | undefined,
  nowMs: number,
): PoolPlan {
  const byId = new Map(definitions.map((d) => [d.id, d]));
  const plan: PoolPlan = { place: [], release: [], progress: [] };
  const kept = new Map<string, PooledLab[]>();
  for (const lab of labs) {
    if (!isLive(lab.status)) continue;
    const def = byId.get(lab.definitionId);
    const status = workerStatus(lab.workerId);
    let reason: string | undefined;
    if (!def) reason = `definition ${lab.definitionId} is gone`;
    else if (def.status !== 'ACTIVE') reason = `definition ${def.id} is ${def.status}: the pool is emptied`;
    else if (def.version !== lab.definitionVersion)
      reason = `definition ${def.id} v${def.version} supersedes v${lab.definitionVersion}: the old pool drains`;
    else if (status !== 'RUNNING') reason = `worker ${lab.workerId} is ${status ?? 'gone'}`;
    else if (
      lab.status === 'BOOTING' &&
      lab.bootDeadline !== undefined &&
      Date.parse(lab.bootDeadline) <= nowMs
    )
      reason = `lab ${lab.cmlLabId ?? '?'} did not converge by ${lab.bootDeadline}`;
    if (reason !== undefined) {
      plan.release.push({ lab, reason });
      continue;
    }
    const list = kept.get(lab.definitionId) ?? [];
    list.push(lab);
    kept.set(lab.definitionId, list);
  }
  for (const def of definitions) {
    const mine = kept.get(def.id) ?? [];
    const depth = def.status === 'ACTIVE' ? def.warmPoolDepth : 0;
    if (mine.length > depth) {
      const order = [...mine].sort(
        (a, b) => TRIM_ORDER[a.status] - TRIM_ORDER[b.status] || (a.placedAt < b.placedAt ? 1 : -1),
      );
      const surplus = order.slice(0, mine.length - depth);
      for (const lab of surplus)
        plan.release.push({ lab, reason: `pool depth of ${def.id} is ${depth}: trimmed` });
      const gone = new Set(surplus.map((l) => l.id));
      plan.progress.push(...mine.filter((l) => !gone.has(l.id) && l.status !== 'READY'));
      continue;
    }
    plan.progress.push(...mine.filter((l) => l.status !== 'READY'));
    if (mine.length < depth) {
      plan.place.push({ definitionId: def.id, definitionVersion: def.version, count: depth - mine.length });
    }
  }
  return plan;
}

/**
 * Whether a booking may claim a pooled lab now: PENDING with no worker, its timeslot not over and
 * starting within `bootSeconds` (the time the workflow gives a lab to boot before the slot:
 * `instantiateLeadSeconds`) — a walk-in booking.
 */
export function mayClaim(
  session: Pick<LabletSession, 'status' | 'workerId' | 'timeslot'>,
  nowMs: number,
  bootSeconds: number,
): boolean {
  return (
    session.status === 'PENDING' &&
    !session.workerId &&
    Date.parse(session.timeslot.end) > nowMs &&
    Date.parse(session.timeslot.start) - nowMs <= bootSeconds * 1000
  );
}

/**
 * The READY labs a session may claim, in the order to try them: its definition and exact version
 * only (a lab of another version runs another topology), the longest-ready first.
 */
export function claimCandidates(
  session: Pick<LabletSession, 'definitionId' | 'definitionVersion'>,
  labs: readonly PooledLab[],
): PooledLab[] {
  return labs
    .filter(
      (l) =>
        l.status === 'READY' &&
        l.definitionId === session.definitionId &&
        l.definitionVersion === session.definitionVersion,
    )
    .sort((a, b) => ((a.readyAt ?? a.placedAt) < (b.readyAt ?? b.placedAt) ? -1 : 1));
}

/** A pool's demand or hold, shaped as a booking the scaler's and the book's packers understand. */
export interface PoolSlotDemand {
  id: string;
  status: 'PENDING';
  timeslot: { start: string; end: string };
  requirements: LabletDefinition['resourceRequirements'];
  licenseAffinity: LabletDefinition['licenseAffinity'];
  podType: LabletDefinition['podType'];
  amiRequirement?: string | undefined;
  portTemplate: LabletDefinition['portTemplate'];
  placementRejections: Record<string, number>;
}

const slotOf = (
  def: Pick<
    LabletDefinition,
    'id' | 'resourceRequirements' | 'licenseAffinity' | 'podType' | 'amiRequirement' | 'portTemplate'
  >,
  i: number,
  start: string,
  end: string,
): PoolSlotDemand => ({
  id: `pool:${def.id}:${i}`,
  status: 'PENDING',
  timeslot: { start, end },
  requirements: { ...def.resourceRequirements },
  licenseAffinity: [...def.licenseAffinity],
  podType: def.podType,
  ...(def.amiRequirement !== undefined ? { amiRequirement: def.amiRequirement } : {}),
  portTemplate: def.portTemplate,
  // Waiting now: the scaler counts it as demand that needs capacity at once.
  placementRejections: {},
});

type PooledDefinition = Pick<
  LabletDefinition,
  | 'id'
  | 'version'
  | 'status'
  | 'warmPoolDepth'
  | 'resourceRequirements'
  | 'licenseAffinity'
  | 'podType'
  | 'amiRequirement'
  | 'portTemplate'
>;

/**
 * The scaler's demand of the pools: one waiting "session" per lab an ACTIVE pooled definition
 * lacks (its depth minus its live labs of the latest version), so the scaler launches hosts for
 * pools that cannot be filled. Placed labs hold capacity on their workers already.
 */
export function poolDemand(
  definitions: readonly PooledDefinition[],
  labs: readonly PooledLab[],
  nowMs: number,
): PoolSlotDemand[] {
  const start = new Date(nowMs).toISOString();
  const end = new Date(nowMs + 86_400_000).toISOString();
  const out: PoolSlotDemand[] = [];
  for (const def of definitions) {
    if (def.status !== 'ACTIVE' || def.warmPoolDepth <= 0) continue;
    const live = labs.filter(
      (l) => l.definitionId === def.id && l.definitionVersion === def.version && isLive(l.status),
    ).length;
    for (let i = live; i < def.warmPoolDepth; i++) out.push(slotOf(def, i, start, end));
  }
  return out;
}

/**
 * What the pools hold in the capacity book over [fromMs, toMs): `warmPoolDepth` labs of every
 * ACTIVE pooled definition, for the whole window (a pool is refilled as soon as a lab is claimed,
 * so its depth is held at all times, beside the sessions that claimed from it).
 */
export function poolHolds(
  definitions: readonly PooledDefinition[],
  fromMs: number,
  toMs: number,
): PoolSlotDemand[] {
  const start = new Date(fromMs).toISOString();
  const end = new Date(toMs).toISOString();
  const out: PoolSlotDemand[] = [];
  for (const def of definitions) {
    if (def.status !== 'ACTIVE') continue;
    for (let i = 0; i < def.warmPoolDepth; i++) out.push(slotOf(def, i, start, end));
  }
  return out;
}

/** What the pool cost needs of a worker: its declared capacity, running price and status periods. */
export interface PoolCostWorker {
  id: string;
  declared: Capacity;
  runningPerHourUsd: number;
  /** Its statuses over time ([start, end) in epoch ms); only RUNNING and DRAINING ones are charged. */
  periods: ReadonlyArray<{ start: number; end: number; status: WorkerStatus }>;
}

export interface PoolCost {
  /** Σ capacity share × running price × hours a pooled lab held capacity (placed until claimed or released). */
  costUsd: number;
  labHours: number;
  labs: number;
  definitions: Array<{ definitionId: string; costUsd: number; labHours: number; labs: number }>;
}

const HOUR = 3_600_000;
const CHARGED: ReadonlySet<WorkerStatus> = new Set<WorkerStatus>(['RUNNING', 'DRAINING']);

/**
 * What the hot-start pools cost in [start, end): every pooled lab is charged like a session, its
 * capacity share of its worker (`share`) × the worker's running price × the hours it held capacity
 * (placedAt until endedAt, or `nowMs` while live) while the worker ran; a claimed lab's time after
 * the claim is its session's.
 */
export function poolCost(
  labs: readonly Pick<
    PooledLab,
    'id' | 'definitionId' | 'workerId' | 'requirements' | 'placedAt' | 'endedAt'
  >[],
  workers: ReadonlyMap<string, PoolCostWorker>,
  share: (need: PooledLab['requirements'], declared: PoolCostWorker['declared']) => number,
  window: { start: number; end: number },
  nowMs: number,
): PoolCost {
  const byDef = new Map<string, { costUsd: number; labHours: number; labs: number }>();
  let costUsd = 0;
  let labHours = 0;
  let counted = 0;
  for (const lab of labs) {
    const worker = workers.get(lab.workerId);
    const from = Math.max(window.start, Date.parse(lab.placedAt));
    const to = Math.min(window.end, lab.endedAt ? Date.parse(lab.endedAt) : nowMs);
    if (!(to > from)) continue;
    let heldMs = 0;
    let runningMs = 0;
    if (worker) {
      for (const p of worker.periods) {
        const overlap = Math.min(to, p.end) - Math.max(from, p.start);
        if (overlap <= 0) continue;
        heldMs += overlap;
        if (CHARGED.has(p.status)) runningMs += overlap;
      }
    } else heldMs = to - from;
    const cost = worker
      ? share(lab.requirements, worker.declared) * worker.runningPerHourUsd * (runningMs / HOUR)
      : 0;
    costUsd += cost;
    labHours += heldMs / HOUR;
    counted++;
    const d = byDef.get(lab.definitionId) ?? { costUsd: 0, labHours: 0, labs: 0 };
    d.costUsd += cost;
    d.labHours += heldMs / HOUR;
    d.labs++;
    byDef.set(lab.definitionId, d);
  }
  return {
    costUsd,
    labHours,
    labs: counted,
    definitions: [...byDef.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([definitionId, v]) => ({ definitionId, ...v })),
  };
}
