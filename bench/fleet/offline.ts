/**
 * The offline optimum of a small trace: what a clairvoyant packer that knows every session in
 * advance would pay, solved as a mixed-integer program with HiGHS (within a time limit; the MIP
 * gap says how far from proven optimal the answer is).
 *
 * Time is cut into slots (15 min by default); a session occupies every slot its interval
 * touches. Sessions with the same slots and the same needs (a class cohort) form one group i of
 * n_i sessions. Hosts come from a pool per template. Variables:
 *   x[i,h] ∈ {0..n_i} sessions of group i that run on host h for their whole interval (sessions
 *                    do not move);
 *   y[h,s] ∈ {0,1}   host h is up (billed) in slot s;
 *   z[h,s] ∈ [0,1]   host h starts in slot s (it was down in s − 1): it pays its boot before.
 * Minimise Σ price·slot·y + Σ price·boot·z subject to
 *   Σ_h x[i,h] = n_i                                      every session placed once;
 *   Σ_{i in s} need[i,d]·x[i,h] ≤ cap[h,d]·y[h,s]          per host, slot and dimension;
 *   x[i,h] ≤ n_i·y[h,s] for s in i's slots                 (implied; tightens the relaxation);
 *   z[h,s] ≥ y[h,s] − y[h,s−1];
 *   Σ_h price[h]·y[h,s] ≥ the cheapest integer mix of slot s's demand (bounds.ts)   (implied:
 *                    the hosts up in a slot hold its demand; lifts the relaxation to the
 *                    per-instant integer bound on the slot grid).
 * Dimensions implied by another one for every fitting session are left out (with memory-heavy
 * labs, cores rarely bind). Hosts of one template are interchangeable, so the sessions of a group
 * may only use the first k + n_i hosts of a pool, where k is the number of sessions of earlier
 * groups that fit the template (relabel hosts by their first session: no optimum is lost).
 *
 * The pools are not proven large enough: each holds 1.5 × the most hosts of that template in any
 * slot's cheapest integer mix, plus 2; the result says how many of each were used, and a pool used
 * to the last host means a larger one might have found a cheaper answer.
 */
import type { Capacity, CapacityDimension, WorkerTemplate } from '@lcm/shared/kernel';
import { CAPACITY_DIMENSIONS } from '@lcm/shared/kernel';
import { billableTemplates, loadSolver, MixSolver } from './bounds.ts';
import { type DemandInterval, instants } from './lower-bound.ts';

export interface OfflineOptions {
  slotMinutes: number;
  timeLimitSeconds: number;
  /** Bill each host start its template's bootMinutes (a host is paid for while it boots). */
  bootCost: boolean;
  /** Add x ≤ y for every slot of a session (a tighter relaxation, many more rows). */
  linkingRows: boolean;
  /** Extra HiGHS options (snake_case names), e.g. for experiments with its heuristics. */
  solverOptions: Readonly<Record<string, boolean | number | string>>;
  /** HiGHS's log lines (set `output_flag: true` in solverOptions), e.g. to watch the gap close. */
  log?: (line: string) => void;
}

export const DEFAULT_OFFLINE_OPTIONS: OfflineOptions = {
  slotMinutes: 15,
  timeLimitSeconds: 120,
  bootCost: true,
  linkingRows: true,
  solverOptions: {},
};

export interface OfflineResult {
  /** Cost of the best solution found (dollars), and its split. */
  cost: number;
  upCost: number;
  bootCost: number;
  /** Best proven lower bound on the optimum of this model, and the relative gap to `cost`. */
  dualBound: number;
  mipGap: number;
  /** The per-instant integer bound on this model's slot grid (Σ over slots of the cheapest mix). */
  gridIntegerBound: number;
  /** 'optimal', or why HiGHS stopped ('time limit', …). */
  status: string;
  hostHours: number;
  hostStarts: number;
  /** Hosts of each template that ran at least one session, and the pool offered. */
  hostsUsed: Record<string, number>;
  pool: Record<string, number>;
  sessions: number;
  /** Groups of identical sessions (same slots, same needs). */
  groups: number;
  slots: number;
  columns: number;
  rows: number;
  nonzeros: number;
  solveSeconds: number;
}

interface Host {
  t: WorkerTemplate;
  k: number;
  /** Column of y[h, 0]; y[h, s] = yCol + s, z[h, s] = zCol + s. */
  yCol: number;
  zCol: number;
  dims: CapacityDimension[];
}

const fits = (need: Capacity, t: WorkerTemplate): boolean =>
  CAPACITY_DIMENSIONS.every((d) => need[d] <= t.capacity[d]);

/** Dimensions of `t` that some fitting session could fill before every other kept dimension. */
function bindingDimensions(t: WorkerTemplate, needs: readonly Capacity[]): CapacityDimension[] {
  const kept = new Set<CapacityDimension>(CAPACITY_DIMENSIONS);
  for (const d of CAPACITY_DIMENSIONS) {
    const impliedBy = [...kept].find(
      (e) => e !== d && needs.every((n) => n[d] * t.capacity[e] <= n[e] * t.capacity[d]),
    );
    if (impliedBy !== undefined) kept.delete(d);
  }
  return [...kept];
}

interface Group {
  /** Slots [a, b). */
  a: number;
  b: number;
  need: Capacity;
  n: number;
}

export async function offlineOptimum(
  intervals: readonly DemandInterval[],
  templates: readonly WorkerTemplate[],
  options: Partial<OfflineOptions> = {},
): Promise<OfflineResult> {
  const o: OfflineOptions = { ...DEFAULT_OFFLINE_OPTIONS, ...options };
  const highs = await loadSolver();
  const fleet = billableTemplates(templates);
  const sessions = intervals.filter((i) => i.to > i.from);
  if (sessions.length === 0) throw new Error('offline optimum of an empty trace');
  const origin = Math.floor(Math.min(...sessions.map((i) => i.from)) / o.slotMinutes) * o.slotMinutes;
  const byKey = new Map<string, Group>();
  for (const i of sessions) {
    const a = Math.floor((i.from - origin) / o.slotMinutes);
    const b = Math.ceil((i.to - origin) / o.slotMinutes);
    const key = `${a},${b},${CAPACITY_DIMENSIONS.map((d) => i.need[d]).join(',')}`;
    const g = byKey.get(key);
    if (g) g.n++;
    else byKey.set(key, { a, b, need: i.need, n: 1 });
  }
  const groups = [...byKey.values()].sort((x, y) => x.a - y.a || x.b - y.b);
  const slots = Math.max(...groups.map((g) => g.b));
  for (const g of groups)
    if (!fleet.some((t) => fits(g.need, t)))
      throw new Error(`a session needing ${JSON.stringify(g.need)} fits no template`);

  // Each slot's cheapest integer mix (on the slot grid): the pools, and a cut per slot.
  const slotMixCost: number[] = Array.from({ length: slots }, () => 0);
  const mixPeak = new Map<string, number>();
  const mixes = new MixSolver(highs, fleet);
  try {
    const grid = groups.map((g) => ({ from: g.a, to: g.b, need: scale(g.need, g.n) }));
    for (const step of instants(grid)) {
      const mix = mixes.solve(step.demand, 'integer');
      for (let s = step.from; s < step.to; s++) slotMixCost[s] = mix.costPerHour;
      for (const [name, n] of Object.entries(mix.counts))
        mixPeak.set(name, Math.max(mixPeak.get(name) ?? 0, n));
    }
  } finally {
    mixes.dispose();
  }

  // Columns: per host y[0..slots) then z[0..slots); then x for each allowed (group, host).
  const hosts: Host[] = [];
  const pool: Record<string, number> = {};
  let col = 0;
  for (const t of fleet) {
    const fitting = groups.filter((g) => fits(g.need, t));
    const sessionsFitting = fitting.reduce((sum, g) => sum + g.n, 0);
    const size = Math.min(sessionsFitting, Math.ceil(1.5 * (mixPeak.get(t.name) ?? 0)) + 2);
    pool[t.name] = size;
    const dims = bindingDimensions(
      t,
      fitting.map((g) => g.need),
    );
    for (let k = 0; k < size; k++) {
      hosts.push({ t, k, yCol: col, zCol: col + slots, dims });
      col += 2 * slots;
    }
  }
  const colCost: number[] = [];
  const colUpper: number[] = [];
  const integrality: Array<0 | 1> = [];
  const column = (cost: number, upper: number, integer: boolean): number => {
    colCost.push(cost);
    colUpper.push(upper);
    integrality.push(integer ? 1 : 0);
    return colCost.length - 1;
  };
  for (const h of hosts) {
    for (let s = 0; s < slots; s++) column((h.t.costPerHourUsd * o.slotMinutes) / 60, 1, true);
    for (let s = 0; s < slots; s++)
      column(o.bootCost ? (h.t.costPerHourUsd * h.t.bootMinutes) / 60 : 0, 1, false);
  }
  /** x columns of each group: [host index, column]. */
  const xOf: Array<Array<[number, number]>> = groups.map(() => []);
  const rankIn = new Map<string, number>();
  for (const [i, g] of groups.entries()) {
    const ranks = new Map<string, number>();
    for (const t of fleet) {
      if (!fits(g.need, t)) continue;
      const r = rankIn.get(t.name) ?? 0;
      ranks.set(t.name, r);
      rankIn.set(t.name, r + g.n);
    }
    for (const [hi, h] of hosts.entries()) {
      const rank = ranks.get(h.t.name);
      if (rank === undefined || h.k > rank + g.n - 1) continue;
      xOf[i]!.push([hi, column(0, g.n, true)]);
    }
  }

  // Rows in CSR form.
  const starts: number[] = [0];
  const indices: number[] = [];
  const values: number[] = [];
  const rowLower: number[] = [];
  const rowUpper: number[] = [];
  const row = (entries: ReadonlyArray<[number, number]>, lo: number, up: number): void => {
    for (const [c, v] of entries) {
      indices.push(c);
      values.push(v);
    }
    starts.push(indices.length);
    rowLower.push(lo);
    rowUpper.push(up);
  };
  const inf = highs.infinity;
  for (const [i, xs] of xOf.entries()) {
    const n = groups[i]!.n;
    row(
      xs.map(([, c]) => [c, 1]),
      n,
      n,
    );
  }
  // Per host and slot: the x columns of the groups active then.
  const active: Array<Array<Array<[number, Group]>>> = hosts.map(() =>
    Array.from({ length: slots }, () => []),
  );
  for (const [i, xs] of xOf.entries()) {
    const g = groups[i]!;
    for (const [hi, c] of xs) for (let s = g.a; s < g.b; s++) active[hi]![s]!.push([c, g]);
  }
  for (const [hi, h] of hosts.entries()) {
    for (let s = 0; s < slots; s++) {
      const here = active[hi]![s]!;
      if (here.length === 0) continue;
      for (const d of h.dims) {
        const entries: Array<[number, number]> = here
          .filter(([, g]) => g.need[d] > 0)
          .map(([c, g]) => [c, g.need[d]]);
        if (entries.length > 0) row([...entries, [h.yCol + s, -h.t.capacity[d]]], -inf, 0);
      }
      if (o.linkingRows)
        for (const [c, g] of here)
          row(
            [
              [h.yCol + s, g.n],
              [c, -1],
            ],
            0,
            inf,
          );
    }
    for (let s = 0; s < slots; s++) {
      const entries: Array<[number, number]> = [
        [h.zCol + s, 1],
        [h.yCol + s, -1],
      ];
      if (s > 0) entries.push([h.yCol + s - 1, 1]);
      row(entries, 0, inf);
    }
  }
  for (let s = 0; s < slots; s++) {
    if (slotMixCost[s]! <= 0) continue;
    row(
      hosts.map((h) => [h.yCol + s, h.t.costPerHourUsd]),
      slotMixCost[s]!,
      inf,
    );
  }

  const numCols = colCost.length;
  const numRows = rowLower.length;
  const model = highs.createModel({
    numCols,
    numRows,
    colCost,
    colLower: colCost.map(() => 0),
    colUpper,
    rowLower,
    rowUpper,
    matrix: { format: 'csr', numRows, numCols, starts, indices, values },
    integrality,
  });
  try {
    model.options.set({ output_flag: false, time_limit: o.timeLimitSeconds, ...o.solverOptions });
    const began = performance.now();
    const log = o.log;
    model.run(
      log
        ? {
            [highs.constants.callbackType.logging](event) {
              if (event.message) log(event.message.trimEnd());
              return undefined;
            },
          }
        : undefined,
    );
    const solveSeconds = (performance.now() - began) / 1000;
    const statusCode = model.getModelStatus();
    const statusName =
      Object.entries(highs.constants.modelStatus).find(([, v]) => v === statusCode)?.[0] ?? `${statusCode}`;
    if (Number(model.info.get('primal_solution_status')) !== 2)
      throw new Error(`HiGHS found no feasible schedule (status ${statusName})`);
    const v = model.getSolution().colValue;
    const count = (c: number): number => Math.round(v[c] ?? 0);

    // Read the schedule back and price it independently of the objective.
    let upCost = 0;
    let bootCost = 0;
    let upSlots = 0;
    let hostStarts = 0;
    const hostsUsed: Record<string, number> = {};
    const used = new Set<number>();
    for (const [i, xs] of xOf.entries()) {
      const placed = xs.reduce((sum, [, c]) => sum + count(c), 0);
      if (placed !== groups[i]!.n)
        throw new Error(`group ${i}: ${placed} of ${groups[i]!.n} sessions placed`);
      for (const [hi, c] of xs) if (count(c) > 0) used.add(hi);
    }
    for (const [hi, h] of hosts.entries()) {
      for (let s = 0; s < slots; s++) {
        const held = active[hi]![s]!.filter(([c]) => count(c) > 0);
        const up = count(h.yCol + s) === 1;
        if (!up) {
          if (held.length > 0)
            throw new Error(`host ${h.t.name}#${h.k} holds sessions while down (slot ${s})`);
          continue;
        }
        upSlots++;
        upCost += (h.t.costPerHourUsd * o.slotMinutes) / 60;
        if (s === 0 || count(h.yCol + s - 1) === 0) {
          hostStarts++;
          if (o.bootCost) bootCost += (h.t.costPerHourUsd * h.t.bootMinutes) / 60;
        }
        for (const d of CAPACITY_DIMENSIONS) {
          const load = held.reduce((sum, [c, g]) => sum + count(c) * g.need[d], 0);
          if (load > h.t.capacity[d]) throw new Error(`host ${h.t.name}#${h.k} over ${d} in slot ${s}`);
        }
      }
      if (used.has(hi)) hostsUsed[h.t.name] = (hostsUsed[h.t.name] ?? 0) + 1;
    }
    return {
      cost: upCost + bootCost,
      upCost,
      bootCost,
      dualBound: Number(model.info.get('mip_dual_bound')),
      gridIntegerBound: slotMixCost.reduce((sum, c) => sum + (c * o.slotMinutes) / 60, 0),
      mipGap: Number(model.info.get('mip_gap')),
      status: statusName,
      hostHours: (upSlots * o.slotMinutes) / 60,
      hostStarts,
      hostsUsed,
      pool,
      sessions: sessions.length,
      groups: groups.length,
      slots,
      columns: numCols,
      rows: numRows,
      nonzeros: indices.length,
      solveSeconds,
    };
  } finally {
    model.dispose();
  }
}

const scale = (c: Capacity, n: number): Capacity => ({
  cpuCores: c.cpuCores * n,
  memoryGb: c.memoryGb * n,
  storageGb: c.storageGb * n,
  maxNodes: c.maxNodes * n,
});
