import {
  ACTIVE_SESSION_STATUSES,
  CAPACITY_DIMENSIONS,
  type Capacity,
  INSTANCE_WORKER_STATUSES,
  type SessionStatus,
  type WorkerStatus,
} from '../../kernel/index.ts';

/**
 * Cost attribution (issue 13, item 4), pure: what each worker (host) cost over a time window, what
 * share of it each session it served is charged, and what nobody is charged (idle, unallocated,
 * stopped). The arithmetic, the definitions and a worked example are in docs/cost.md; the use case
 * that reads the stored histories is sessions/cost.ts.
 *
 * - A worker's **cost rate** follows its status (its `stateHistory`): every status that holds an
 *   instance (PROVISIONING … SHUTTING_DOWN, FAILED) but STOPPED is billed at the template's
 *   `costPerHourUsd`; STOPPED keeps only its volumes, billed at the template's
 *   `stoppedCostPerHourUsd` (default: the template's storage at DEFAULT_VOLUME_USD_PER_GB_MONTH);
 *   PENDING (no instance yet) and TERMINATED cost nothing.
 * - A session **holds** its worker from its placement (the history entry to SCHEDULED) until the
 *   first history entry that leaves the placement statuses (ACTIVE_SESSION_STATUSES: STOPPING is
 *   the last that holds one; the teardown releases before it moves on), or until now.
 * - Its **capacity share** is its dominant share: the largest of its requirements' fractions of the
 *   worker's declared capacity over cpu, memory, storage and nodes (capped at 1). A session pays
 *   rate × share for every hour it holds the worker while the worker is billed as running.
 * - What a running worker costs while it holds no session is **idle**; while it holds sessions whose
 *   shares add up to less than 1, the rest is **unallocated**; shares on different dimensions may
 *   add up to more than 1 (a cpu-heavy and a memory-heavy session side by side), and that excess
 *   is reported as **overlap**, so that always
 *   total = attributed − overlap + unallocated + idle + stopped.
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Default price of a stopped worker's volumes: gp3-like storage, USD per GB-month. */
export const DEFAULT_VOLUME_USD_PER_GB_MONTH = 0.08;
/** Hours in a billing month (AWS's convention: 730). */
export const HOURS_PER_MONTH = 730;

/** How a worker status is billed. */
export type BillingState = 'running' | 'stopped' | 'none';

export function billingStateOf(status: WorkerStatus): BillingState {
  if (status === 'STOPPED') return 'stopped';
  return INSTANCE_WORKER_STATUSES.includes(status) ? 'running' : 'none';
}

/** Hourly prices of a template's worker, running and stopped. */
export interface WorkerPrice {
  runningPerHourUsd: number;
  stoppedPerHourUsd: number;
}

/** The prices a template states; a stopped price not stated is its storage at the default volume price. */
export function templatePrice(t: {
  costPerHourUsd: number;
  stoppedCostPerHourUsd?: number | undefined;
  capacity: Pick<Capacity, 'storageGb'>;
}): WorkerPrice {
  return {
    runningPerHourUsd: t.costPerHourUsd,
    stoppedPerHourUsd:
      t.stoppedCostPerHourUsd ?? (t.capacity.storageGb * DEFAULT_VOLUME_USD_PER_GB_MONTH) / HOURS_PER_MONTH,
  };
}

/** A half-open interval of epoch milliseconds, [start, end). */
export interface Interval {
  start: number;
  end: number;
}

/** A stretch of a worker's life in one status. */
export interface StatusPeriod extends Interval {
  status: WorkerStatus;
}

interface Transition<S extends string> {
  from: S;
  to: S;
  at: string;
}

const byTime = <T extends { at: string }>(entries: readonly T[]): T[] =>
  [...entries].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));

/**
 * A worker's statuses over time from its creation: the first entry's `from` (or the status, when
 * the history is empty) since `createdAt`, then each transition's `to` from its `at`; the last
 * period runs until `now`.
 */
export function workerPeriods(
  worker: { status: WorkerStatus; createdAt: string; stateHistory: readonly Transition<WorkerStatus>[] },
  now: number,
): StatusPeriod[] {
  const history = byTime(worker.stateHistory);
  const periods: StatusPeriod[] = [];
  let status: WorkerStatus = history[0]?.from ?? worker.status;
  let start = Date.parse(worker.createdAt);
  for (const entry of history) {
    const at = Date.parse(entry.at);
    if (at > start) periods.push({ status, start, end: at });
    status = entry.to;
    start = Math.max(start, at);
  }
  if (now > start) periods.push({ status, start, end: now });
  return periods;
}

/**
 * The time a session held its worker: from its placement (the first entry to SCHEDULED) until the
 * first later entry to a status that holds no placement, else until `now`. Undefined when it was
 * never placed.
 */
export function holdOf(history: readonly Transition<SessionStatus>[], now: number): Interval | undefined {
  const sorted = byTime(history);
  const placed = sorted.findIndex((e) => e.to === 'SCHEDULED');
  if (placed < 0) return undefined;
  const start = Date.parse(sorted[placed]?.at ?? '');
  const left = sorted.slice(placed + 1).find((e) => !ACTIVE_SESSION_STATUSES.includes(e.to));
  const end = left ? Date.parse(left.at) : Math.max(start, now);
  return { start, end: Math.max(start, end) };
}

/**
 * A session's capacity share of its worker: the largest fraction of the declared capacity its
 * requirements take in any dimension (cpu, memory, storage, nodes), capped at 1. A dimension the
 * worker declares none of counts as a full share when the session needs some of it.
 */
export function capacityShare(need: Capacity, declared: Capacity): number {
  let share = 0;
  for (const d of CAPACITY_DIMENSIONS) {
    if (need[d] <= 0) continue;
    share = Math.max(share, declared[d] > 0 ? need[d] / declared[d] : 1);
  }
  return Math.min(1, share);
}

/** A worker as cost attribution sees it. */
export interface CostWorker {
  id: string;
  templateName: string;
  price: WorkerPrice;
  periods: readonly StatusPeriod[];
}

/** A session as cost attribution sees it: where and how long it held capacity, and its share. */
export interface CostSession {
  id: string;
  definitionId: string;
  workerId: string;
  share: number;
  hold: Interval;
}

/** A stretch of one worker's time in which nothing changes (status, sessions held). */
export interface CostSlice extends Interval {
  workerId: string;
  templateName: string;
  state: BillingState;
  rateUsdPerHour: number;
  sessions: readonly Pick<CostSession, 'id' | 'definitionId' | 'share'>[];
}

const periodAt = (periods: readonly StatusPeriod[], t: number): StatusPeriod | undefined =>
  periods.find((p) => p.start <= t && t < p.end);

/**
 * Cuts every worker's time within `window` into slices at each status change, each session's
 * placement and release, and each of `cuts` (day or step boundaries). Sessions on a worker not
 * in `workers` are ignored.
 */
export function costSlices(
  workers: readonly CostWorker[],
  sessions: readonly CostSession[],
  window: Interval,
  cuts: readonly number[] = [],
): CostSlice[] {
  const onWorker = new Map<string, CostSession[]>();
  for (const s of sessions) {
    const list = onWorker.get(s.workerId) ?? [];
    list.push(s);
    onWorker.set(s.workerId, list);
  }
  const inside = (t: number) => t > window.start && t < window.end;
  const out: CostSlice[] = [];
  for (const w of workers) {
    const held = onWorker.get(w.id) ?? [];
    const edges = new Set<number>([window.start, window.end]);
    for (const p of w.periods) for (const t of [p.start, p.end]) if (inside(t)) edges.add(t);
    for (const s of held) for (const t of [s.hold.start, s.hold.end]) if (inside(t)) edges.add(t);
    for (const t of cuts) if (inside(t)) edges.add(t);
    const sorted = [...edges].sort((a, b) => a - b);
    for (let i = 0; i + 1 < sorted.length; i++) {
      const start = sorted[i] as number;
      const end = sorted[i + 1] as number;
      const period = periodAt(w.periods, start);
      const state = period ? billingStateOf(period.status) : 'none';
      const rateUsdPerHour =
        state === 'running' ? w.price.runningPerHourUsd : state === 'stopped' ? w.price.stoppedPerHourUsd : 0;
      const present = held
        .filter((s) => s.hold.start <= start && end <= s.hold.end)
        .map(({ id, definitionId, share }) => ({ id, definitionId, share }));
      out.push({
        workerId: w.id,
        templateName: w.templateName,
        start,
        end,
        state,
        rateUsdPerHour,
        sessions: present,
      });
    }
  }
  return out;
}

/** Cost figures of a set of slices. USD and hours are rounded to 1e-6. */
export interface CostBreakdown {
  /** What the workers cost: running plus stopped. */
  totalUsd: number;
  /** Charged to sessions: Σ share × rate × hours while running. */
  attributedUsd: number;
  /** Running with no session held. */
  idleUsd: number;
  /** Running with sessions whose shares add up to less than 1: the rest. */
  unallocatedUsd: number;
  /** Running with sessions whose shares add up to more than 1: the excess charged. */
  overlapUsd: number;
  /** Stopped workers' volumes. */
  stoppedUsd: number;
  runningHours: number;
  idleHours: number;
  stoppedHours: number;
  /** Share-weighted busy time: Σ min(1, Σ shares) × hours / running hours (0 without running time). */
  utilisation: number;
  /** idleUsd / totalUsd (0 when nothing cost anything). */
  idleShare: number;
}

const r6 = (n: number): number => Math.round(n * 1e6) / 1e6;

/** Accumulates slices into a breakdown and per-session charges. */
export class CostAccumulator {
  private running = 0;
  private stopped = 0;
  private attributed = 0;
  private idle = 0;
  private unallocated = 0;
  private overlap = 0;
  private runningMs = 0;
  private idleMs = 0;
  private stoppedMs = 0;
  private busyMs = 0;
  /** session id → USD charged. */
  readonly charged = new Map<string, number>();

  add(slice: CostSlice): void {
    const ms = slice.end - slice.start;
    const usd = (slice.rateUsdPerHour * ms) / HOUR_MS;
    if (slice.state === 'stopped') {
      this.stopped += usd;
      this.stoppedMs += ms;
      return;
    }
    if (slice.state !== 'running') return;
    this.running += usd;
    this.runningMs += ms;
    if (slice.sessions.length === 0) {
      this.idle += usd;
      this.idleMs += ms;
      return;
    }
    let shares = 0;
    for (const s of slice.sessions) {
      shares += s.share;
      const charge = usd * s.share;
      this.attributed += charge;
      this.charged.set(s.id, (this.charged.get(s.id) ?? 0) + charge);
    }
    this.unallocated += usd * Math.max(0, 1 - shares);
    this.overlap += usd * Math.max(0, shares - 1);
    this.busyMs += ms * Math.min(1, shares);
  }

  breakdown(): CostBreakdown {
    const total = this.running + this.stopped;
    return {
      totalUsd: r6(total),
      attributedUsd: r6(this.attributed),
      idleUsd: r6(this.idle),
      unallocatedUsd: r6(this.unallocated),
      overlapUsd: r6(this.overlap),
      stoppedUsd: r6(this.stopped),
      runningHours: r6(this.runningMs / HOUR_MS),
      idleHours: r6(this.idleMs / HOUR_MS),
      stoppedHours: r6(this.stoppedMs / HOUR_MS),
      utilisation: this.runningMs > 0 ? r6(this.busyMs / this.runningMs) : 0,
      idleShare: total > 0 ? r6(this.idle / total) : 0,
    };
  }

  /** Sessions charged anything (or holding capacity with a zero rate). */
  sessionCount(): number {
    return this.charged.size;
  }
}

export const COST_GROUP_BYS = ['day', 'template', 'definition'] as const;
export type CostGroupBy = (typeof COST_GROUP_BYS)[number];

/** One group of a cost report. `day` and `template` groups are hosts' costs; `definition` groups are what their sessions were charged. */
export interface CostGroup {
  key: string;
  /** day, template: what the group's hosts cost (totalUsd); definition: what its sessions were charged. */
  costUsd: number;
  attributedUsd: number;
  /** Sessions charged in the group. */
  sessions: number;
  /** attributedUsd / sessions (0 without sessions). */
  meanCostPerSessionUsd: number;
  /** The host breakdown; day and template groups only. */
  breakdown?: CostBreakdown;
}

export interface CostReport {
  from: string;
  to: string;
  groupBy: CostGroupBy;
  totals: CostBreakdown & { sessions: number; meanCostPerSessionUsd: number };
  groups: CostGroup[];
}

/** UTC midnights strictly inside the window. */
export function dayCuts(window: Interval): number[] {
  const cuts: number[] = [];
  for (let t = Math.floor(window.start / DAY_MS) * DAY_MS + DAY_MS; t < window.end; t += DAY_MS) cuts.push(t);
  return cuts;
}

const dayKey = (t: number): string => new Date(t).toISOString().slice(0, 10);

/** The cost report of `window`, grouped by UTC day, by template or by definition. */
export function costReport(
  workers: readonly CostWorker[],
  sessions: readonly CostSession[],
  window: Interval,
  groupBy: CostGroupBy,
): CostReport {
  const slices = costSlices(workers, sessions, window, groupBy === 'day' ? dayCuts(window) : []);
  const all = new CostAccumulator();
  const groups = new Map<string, CostAccumulator>();
  const group = (key: string): CostAccumulator => {
    let acc = groups.get(key);
    if (!acc) {
      acc = new CostAccumulator();
      groups.set(key, acc);
    }
    return acc;
  };
  for (const slice of slices) {
    all.add(slice);
    if (groupBy === 'day') group(dayKey(slice.start)).add(slice);
    else if (groupBy === 'template') group(slice.templateName).add(slice);
    else {
      // Each definition's sessions as if alone on the slice: their own charges, nothing else.
      for (const s of slice.sessions) group(s.definitionId).add({ ...slice, sessions: [s] });
    }
  }
  if (groupBy === 'day') for (const t of [window.start, ...dayCuts(window)]) group(dayKey(t));
  const mean = (usd: number, n: number) => (n > 0 ? r6(usd / n) : 0);
  const totals = all.breakdown();
  return {
    from: new Date(window.start).toISOString(),
    to: new Date(window.end).toISOString(),
    groupBy,
    totals: {
      ...totals,
      sessions: all.sessionCount(),
      meanCostPerSessionUsd: mean(totals.attributedUsd, all.sessionCount()),
    },
    groups: [...groups.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, acc]) => {
        const b = acc.breakdown();
        const n = acc.sessionCount();
        return {
          key,
          costUsd: groupBy === 'definition' ? b.attributedUsd : b.totalUsd,
          attributedUsd: b.attributedUsd,
          sessions: n,
          meanCostPerSessionUsd: mean(b.attributedUsd, n),
          ...(groupBy === 'definition' ? {} : { breakdown: b }),
        };
      }),
  };
}

/** What one session was charged (within `window`, by default its whole hold). */
export function sessionCharge(
  worker: CostWorker,
  session: CostSession,
  window: Interval = session.hold,
): number {
  const acc = new CostAccumulator();
  for (const slice of costSlices([worker], [session], window)) {
    if (slice.sessions.length > 0) acc.add(slice);
  }
  return r6(acc.charged.get(session.id) ?? 0);
}
