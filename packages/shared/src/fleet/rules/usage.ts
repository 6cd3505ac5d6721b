import {
  addCapacity,
  type Capacity,
  LIVE_WORKER_STATUSES,
  WORKER_STATUSES,
  type WorkerStatus,
  ZERO_CAPACITY,
} from '../../kernel/index.ts';
import {
  billingStateOf,
  CostAccumulator,
  type CostSession,
  type CostWorker,
  costSlices,
  type Interval,
} from './cost.ts';

/**
 * Fleet usage over time (issue 13, item 5), pure: one point per step of a window, for charts.
 * The instantaneous figures (workers by status, declared and allocated capacity, sessions active,
 * cost rate) are sampled at the step's start; `sessionsHeld` and `costUsd` cover the whole step,
 * so a session shorter than the step still shows. Cost as in rules/cost.ts.
 */

/** A worker with its declared capacity. */
export interface UsageWorker extends CostWorker {
  declared: Capacity;
}

/** A session with what it allocated on its worker. */
export interface UsageSession extends CostSession {
  allocated: Capacity;
}

export interface UsagePoint {
  /** The step's start (ISO). */
  at: string;
  workersByStatus: Record<WorkerStatus, number>;
  /** Declared capacity of the live workers (RUNNING, DRAINING) at `at`. */
  declared: Capacity;
  /** Capacity held by the sessions placed at `at`. */
  allocated: Capacity;
  /** Sessions holding a placement at `at`. */
  sessionsActive: number;
  /** Sessions holding a placement at any time in the step. */
  sessionsHeld: number;
  /** USD per hour of the fleet at `at` (running workers at their price, stopped at their volumes'). */
  costRatePerHourUsd: number;
  /** What the fleet cost within the step. */
  costUsd: number;
}

const r6 = (n: number): number => Math.round(n * 1e6) / 1e6;

const statusAt = (w: CostWorker, t: number): WorkerStatus | undefined =>
  w.periods.find((p) => p.start <= t && t < p.end)?.status;

/** One point per `stepMs` from window.start (the last step may be short). */
export function fleetUsage(
  workers: readonly UsageWorker[],
  sessions: readonly UsageSession[],
  window: Interval,
  stepMs: number,
): UsagePoint[] {
  const starts: number[] = [];
  for (let t = window.start; t < window.end; t += stepMs) starts.push(t);
  const stepOf = (t: number): number => Math.floor((t - window.start) / stepMs);
  const costs = starts.map(() => new CostAccumulator());
  for (const slice of costSlices(workers, sessions, window, starts)) costs[stepOf(slice.start)]?.add(slice);
  const known = new Set(workers.map((w) => w.id));
  const placed = sessions.filter((s) => known.has(s.workerId));

  return starts.map((at, i) => {
    const end = Math.min(window.end, at + stepMs);
    const workersByStatus = Object.fromEntries(WORKER_STATUSES.map((s) => [s, 0])) as Record<
      WorkerStatus,
      number
    >;
    let declared: Capacity = { ...ZERO_CAPACITY };
    let rate = 0;
    for (const w of workers) {
      const status = statusAt(w, at);
      if (!status) continue;
      workersByStatus[status] += 1;
      if (LIVE_WORKER_STATUSES.includes(status)) declared = addCapacity(declared, w.declared);
      const state = billingStateOf(status);
      rate +=
        state === 'running' ? w.price.runningPerHourUsd : state === 'stopped' ? w.price.stoppedPerHourUsd : 0;
    }
    let allocated: Capacity = { ...ZERO_CAPACITY };
    let active = 0;
    let held = 0;
    for (const s of placed) {
      if (s.hold.start <= at && at < s.hold.end) {
        active += 1;
        allocated = addCapacity(allocated, s.allocated);
      }
      if (s.hold.start < end && s.hold.end > at) held += 1;
    }
    return {
      at: new Date(at).toISOString(),
      workersByStatus,
      declared,
      allocated,
      sessionsActive: active,
      sessionsHeld: held,
      costRatePerHourUsd: r6(rate),
      costUsd: costs[i]?.breakdown().totalUsd ?? 0,
    };
  });
}
