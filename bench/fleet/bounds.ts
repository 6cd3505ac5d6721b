/**
 * Per-instant cost bounds of a trace, solved exactly with HiGHS (the `highs` package: HiGHS
 * compiled to WebAssembly).
 *
 * Demand is piecewise constant between consecutive change points (a session's interval starting
 * or ending). For each such instant, the cheapest fleet that could hold that instant's total
 * demand in all four dimensions (cpuCores, memoryGb, storageGb, maxNodes) costs at least
 *
 *   integer bound:    min Σ_t price_t · n_t  s.t.  Σ_t cap_{t,d} · n_t ≥ demand_d  (every d),  n_t ∈ ℕ
 *   fractional bound: the same with n_t ≥ 0 real (the LP relaxation)
 *
 * over the enabled templates t; integrated over time. Neither bound knows that a session sits on
 * one host (it pools each instant's demand) nor that hosts boot, so any policy, even a
 * clairvoyant one, costs at least the integer bound, and the integer bound is at least the
 * fractional one. Identical demand vectors are solved once.
 */

import type { Capacity, WorkerTemplate } from '@lcm/shared/kernel';
import { CAPACITY_DIMENSIONS } from '@lcm/shared/kernel';
import type { Highs, InitOptions, Model } from 'highs';
import * as HiGHS from 'highs';
import { type DemandInterval, instants } from './lower-bound.ts';

export { type Instant, instants } from './lower-bound.ts';

/**
 * The loader. The package's types describe a CommonJS module (so TypeScript sees its default
 * export one level down), while Node loads its ES module build, whose default export is the
 * loader itself.
 */
const loadHighs = (HiGHS as unknown as { default: (options?: InitOptions) => Promise<Highs> }).default;

let runtime: Promise<Highs> | undefined;
/** The HiGHS runtime, loaded once per process (loading compiles the WebAssembly module). */
export function loadSolver(): Promise<Highs> {
  runtime ??= loadHighs();
  return runtime;
}

/**
 * Options that keep a tiny MIP fast and exact: the feasibility-jump heuristic alone costs ~25 ms
 * per 4-row model in this build (~2 ms without it); gaps of 0 make "optimal" mean optimal.
 */
const EXACT_MIP = {
  output_flag: false,
  presolve: 'off',
  mip_heuristic_run_feasibility_jump: false,
  mip_rel_gap: 0,
  mip_abs_gap: 0,
} as const;

/** The billable templates of a fleet: enabled and priced. */
export function billableTemplates(templates: readonly WorkerTemplate[]): WorkerTemplate[] {
  return templates.filter((t) => t.enabled !== false && t.costPerHourUsd > 0);
}

export interface Mix {
  /** Dollars per hour of the mix. */
  costPerHour: number;
  /** Hosts per template name (fractional for the LP relaxation); templates not used are omitted. */
  counts: Record<string, number>;
  hosts: number;
}

/**
 * Cheapest mix of templates covering a demand vector, integer or fractional. Holds one
 * persistent HiGHS model per kind and changes only the row bounds between solves; call
 * `dispose()` when done (HiGHS memory is not garbage collected).
 */
export class MixSolver {
  private readonly models: Record<'integer' | 'fractional', Model>;
  private readonly cache = new Map<string, Mix>();
  solves = 0;

  constructor(
    private readonly highs: Highs,
    readonly templates: readonly WorkerTemplate[],
  ) {
    if (templates.length === 0) throw new Error('no billable template to cover demand with');
    const n = templates.length;
    const dims = CAPACITY_DIMENSIONS.length;
    const data = {
      numCols: n,
      numRows: dims,
      colCost: templates.map((t) => t.costPerHourUsd),
      colLower: templates.map(() => 0),
      colUpper: templates.map(() => highs.infinity),
      rowLower: CAPACITY_DIMENSIONS.map(() => 0),
      rowUpper: CAPACITY_DIMENSIONS.map(() => highs.infinity),
      matrix: {
        format: 'csr' as const,
        numRows: dims,
        numCols: n,
        starts: CAPACITY_DIMENSIONS.map((_, d) => d * n).concat(dims * n),
        indices: CAPACITY_DIMENSIONS.flatMap(() => templates.map((_, j) => j)),
        values: CAPACITY_DIMENSIONS.flatMap((d) => templates.map((t) => t.capacity[d])),
      },
    };
    const integer = highs.createModel({
      ...data,
      integrality: templates.map(() => highs.constants.variableType.integer),
    });
    integer.options.set(EXACT_MIP);
    const fractional = highs.createModel(data);
    fractional.options.set({ output_flag: false });
    this.models = { integer, fractional };
  }

  solve(demand: Capacity, kind: 'integer' | 'fractional'): Mix {
    const key = `${kind}:${CAPACITY_DIMENSIONS.map((d) => demand[d]).join(',')}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    let mix: Mix;
    if (CAPACITY_DIMENSIONS.every((d) => demand[d] <= 0)) mix = { costPerHour: 0, counts: {}, hosts: 0 };
    else mix = this.run(demand, kind);
    this.cache.set(key, mix);
    return mix;
  }

  get distinctDemands(): number {
    return this.cache.size;
  }

  dispose(): void {
    this.models.integer.dispose();
    this.models.fractional.dispose();
  }

  private run(demand: Capacity, kind: 'integer' | 'fractional'): Mix {
    const m = this.models[kind];
    m.clearSolver();
    CAPACITY_DIMENSIONS.forEach((d, row) => {
      m.changeRowBounds(row, Math.max(0, demand[d]), this.highs.infinity);
    });
    m.run();
    this.solves++;
    const status = m.getModelStatus();
    if (status !== this.highs.constants.modelStatus.optimal) {
      throw new Error(`HiGHS ended the ${kind} mix for ${JSON.stringify(demand)} with status ${status}`);
    }
    const values = m.getSolution().colValue;
    const counts: Record<string, number> = {};
    let costPerHour = 0;
    let hosts = 0;
    this.templates.forEach((t, j) => {
      const raw = values[j] ?? 0;
      const v = kind === 'integer' ? Math.round(raw) : Math.max(0, raw);
      if (v <= 1e-9) return;
      counts[t.name] = v;
      costPerHour += v * t.costPerHourUsd;
      hosts += v;
    });
    if (kind === 'integer') {
      // The rounded counts must still cover the demand (HiGHS works to a feasibility tolerance).
      for (const d of CAPACITY_DIMENSIONS) {
        const held = this.templates.reduce((s, t) => s + (counts[t.name] ?? 0) * t.capacity[d], 0);
        if (held < demand[d]) throw new Error(`integer mix leaves ${d} short: ${held} < ${demand[d]}`);
      }
    }
    return { costPerHour, counts, hosts };
  }
}

export interface BoundTotal {
  /** Dollars over the trace. */
  cost: number;
  hostHours: number;
  hostHoursByTemplate: Record<string, number>;
  /** Most hosts at any instant (fractional for the LP). */
  peakHosts: number;
}

export interface PerInstantBounds {
  integer: BoundTotal;
  fractional: BoundTotal;
  instants: number;
  /** Distinct demand vectors, i.e. how many of each program were actually solved. */
  distinctDemands: number;
  solveMs: number;
}

function emptyTotal(): BoundTotal {
  return { cost: 0, hostHours: 0, hostHoursByTemplate: {}, peakHosts: 0 };
}

function accumulate(total: BoundTotal, mix: Mix, hours: number): void {
  total.cost += mix.costPerHour * hours;
  total.hostHours += mix.hosts * hours;
  for (const [name, n] of Object.entries(mix.counts))
    total.hostHoursByTemplate[name] = (total.hostHoursByTemplate[name] ?? 0) + n * hours;
  if (mix.hosts > total.peakHosts) total.peakHosts = mix.hosts;
}

/** The integer and fractional per-instant bounds of a set of demand intervals (see the file comment). */
export async function perInstantBounds(
  intervals: readonly DemandInterval[],
  templates: readonly WorkerTemplate[],
): Promise<PerInstantBounds> {
  const began = performance.now();
  const solver = new MixSolver(await loadSolver(), billableTemplates(templates));
  try {
    const steps = instants(intervals);
    const integer = emptyTotal();
    const fractional = emptyTotal();
    for (const s of steps) {
      const hours = (s.to - s.from) / 60;
      accumulate(integer, solver.solve(s.demand, 'integer'), hours);
      accumulate(fractional, solver.solve(s.demand, 'fractional'), hours);
    }
    return {
      integer,
      fractional,
      instants: steps.length,
      distinctDemands: solver.distinctDemands / 2,
      solveMs: performance.now() - began,
    };
  } finally {
    solver.dispose();
  }
}

/** The cheapest mix for one demand vector (a convenience for tests and one-off questions). */
export async function cheapestMix(
  demand: Capacity,
  templates: readonly WorkerTemplate[],
  kind: 'integer' | 'fractional',
): Promise<Mix> {
  const solver = new MixSolver(await loadSolver(), billableTemplates(templates));
  try {
    return solver.solve(demand, kind);
  } finally {
    solver.dispose();
  }
}
