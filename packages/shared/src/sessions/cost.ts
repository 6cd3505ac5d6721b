import * as z from 'zod';
import type { DefinitionStore } from '../catalogue/index.ts';
import {
  COST_GROUP_BYS,
  type CostBreakdown,
  type CostReport,
  capacityShare,
  costReport,
  fleetUsage,
  holdOf,
  type Interval,
  sessionCharge,
  templatePrice,
  type UsagePoint,
  type UsageSession,
  type UsageWorker,
  type WorkerPrice,
  type WorkerStore,
  type WorkerTemplateStore,
  workerPeriods,
} from '../fleet/index.ts';
import {
  ACTIVE_SESSION_STATUSES,
  CapacitySchema,
  IsoDateTime,
  type LabletSession,
  type LabletSessionAggregate,
  NotFoundError,
  requirementsAsCapacity,
  ValidationError,
  WORKER_STATUSES,
  type Worker,
  type WorkerTemplate,
} from '../kernel/index.ts';
import { allPages, MAX_PAGE_SIZE, nowOf, type Page, type PageRequest } from '../platform/index.ts';
import type { PoolStore } from './pool-store.ts';
import { type PoolCost, poolCost } from './rules/pools.ts';
import type { SessionStore } from './session-store.ts';

/**
 * Cost and usage read models (issue 13, items 4 and 5): the fleet's cost over a window (totals,
 * per day / template / definition, idle share, utilisation), its usage per step, and one session's
 * cost. The arithmetic is the pure rules of fleet/rules/cost.ts and usage.ts; this module reads the
 * stored histories they work on, within stated bounds (docs/cost.md, "What a query reads"):
 *
 * - the templates and the workers (GSI2 listings; at most MAX_COST_WORKERS workers), each with its
 *   `stateHistory`;
 * - the sessions whose timeslot starts within [from − COST_LOOKBACK_DAYS, to + COST_LOOKAHEAD_DAYS)
 *   (GSI2, at most MAX_COST_SESSIONS), plus those holding a placement now that start later
 *   (GSI1 per placement status);
 * - the history (its `HIST#` items only) of each of those that was placed, was created before `to`
 *   and was still placed or last changed after `from` — the ones that may have held capacity in
 *   the window — 32 queries at a time (the API function has 10 s: functions/catalogue.ts).
 */

export const MAX_COST_RANGE_DAYS = 31;
/** The longest timeslot (7 days) plus a day for the teardown and grading after it. */
export const COST_LOOKBACK_DAYS = 8;
/** Sessions placed this long before their timeslot and already over are still found. */
export const COST_LOOKAHEAD_DAYS = 7;
export const MAX_COST_SESSIONS = 5_000;
export const MAX_COST_WORKERS = 5_000;
export const MAX_USAGE_POINTS = 1_440;
export const MAX_USAGE_STEP_SECONDS = 86_400;
const HISTORY_READS_AT_ONCE = 32;
const DAY = 86_400_000;

const windowChecks = (v: { from: string; to: string }, ctx: z.RefinementCtx): void => {
  const from = Date.parse(v.from);
  const to = Date.parse(v.to);
  if (to <= from) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
  else if (to - from > MAX_COST_RANGE_DAYS * DAY) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: `at most ${MAX_COST_RANGE_DAYS} days after from` });
  }
};

const From = IsoDateTime.meta({ description: 'Start of the window (ISO 8601, inclusive).' });
const To = IsoDateTime.meta({
  description: `End of the window (ISO 8601, exclusive; after from, at most ${MAX_COST_RANGE_DAYS} days later). Costs are counted up to now.`,
});

/** GET /v1/fleet/cost query. */
export const FleetCostInputSchema = z
  .object({
    from: From,
    to: To,
    groupBy: z.enum(COST_GROUP_BYS).default('day').meta({
      description: 'day (UTC), template (the hosts of each) or definition (what its sessions were charged).',
    }),
  })
  .superRefine(windowChecks);
export type FleetCostInput = z.output<typeof FleetCostInputSchema>;

/** GET /v1/definitions/{id}/cost query. */
export const DefinitionCostInputSchema = z.object({ from: From, to: To }).superRefine(windowChecks);
export type DefinitionCostInput = z.output<typeof DefinitionCostInputSchema>;

/** GET /v1/fleet/usage query. */
export const FleetUsageInputSchema = z
  .object({
    from: From,
    to: To,
    step: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_USAGE_STEP_SECONDS)
      .meta({ description: `Seconds per point; (to − from) / step at most ${MAX_USAGE_POINTS} points.` }),
  })
  .superRefine((v, ctx) => {
    windowChecks(v, ctx);
    if (!(v.step >= 1)) return; // the step's own check has said so
    const points = Math.ceil((Date.parse(v.to) - Date.parse(v.from)) / (v.step * 1000));
    if (points > MAX_USAGE_POINTS) {
      ctx.addIssue({
        code: 'custom',
        path: ['step'],
        message: `gives ${points} points; at most ${MAX_USAGE_POINTS} (a larger step or a shorter window)`,
      });
    }
  });
export type FleetUsageInput = z.output<typeof FleetUsageInputSchema>;

const Usd = z.number();
export const CostBreakdownSchema = z.object({
  totalUsd: Usd.meta({ description: 'What the workers cost: running plus stopped.' }),
  attributedUsd: Usd.meta({ description: 'Charged to sessions: Σ capacity share × price × hours held.' }),
  idleUsd: Usd.meta({ description: 'Running workers holding no session.' }),
  unallocatedUsd: Usd.meta({
    description: 'Running workers with sessions whose shares add up to less than 1: the rest.',
  }),
  overlapUsd: Usd.meta({
    description: 'Shares adding up to more than 1 (on different dimensions): the excess charged.',
  }),
  stoppedUsd: Usd.meta({ description: "STOPPED workers' volumes." }),
  runningHours: z.number().describe('Worker-hours running in the window.'),
  idleHours: z.number().describe('Worker-hours running with no session.'),
  stoppedHours: z.number().describe('Worker-hours STOPPED in the window.'),
  utilisation: z.number().meta({ description: 'Share-weighted busy time over running time, 0..1.' }),
  idleShare: z.number().meta({ description: 'idleUsd / totalUsd.' }),
}) satisfies z.ZodType<CostBreakdown>;

/** What a query read (its cost is bounded by these). */
export const CostReadsSchema = z.object({
  workers: z.number().int().describe('Workers read.'),
  sessionsListed: z.number().int().describe('Sessions listed.'),
  histories: z.number().int().describe('Session histories read.'),
  unpricedWorkers: z
    .array(z.string())
    .meta({ description: 'Workers whose template no longer exists: counted at $0.' }),
});

/** The hot-start pools' cost (issue 15, item 3): pooled labs charged like sessions, reported beside them. */
export const PoolCostSchema = z.object({
  costUsd: z.number().meta({
    description: 'Σ capacity share × price × hours pooled labs held capacity while their workers ran.',
  }),
  labHours: z.number().describe('Hours pooled labs held capacity (placed until claimed or released).'),
  labs: z.number().int().describe('Pooled labs that held capacity in the window.'),
  definitions: z
    .array(
      z.object({
        definitionId: z.string().describe('The pooled definition.'),
        costUsd: z.number().describe("What its pool's labs cost."),
        labHours: z.number().describe('Hours its pooled labs held capacity.'),
        labs: z.number().int().describe('Its pooled labs that held capacity.'),
      }),
    )
    .describe('Per pooled definition, by id.'),
}) satisfies z.ZodType<PoolCost>;

export const FleetCostReportSchema = z.object({
  from: IsoDateTime.describe('Start of the window (ISO 8601).'),
  to: IsoDateTime.meta({ description: 'The window as counted: clamped to now.' }),
  groupBy: z.enum(COST_GROUP_BYS).describe('How the groups are made: day, template or definition.'),
  totals: CostBreakdownSchema.extend({
    sessions: z.number().int().meta({ description: 'Sessions charged in the window.' }),
    meanCostPerSessionUsd: z.number().describe('attributedUsd / sessions (0 without sessions).'),
  }).describe('The whole fleet over the window.'),
  groups: z
    .array(
      z.object({
        key: z.string().meta({ description: 'The UTC day (YYYY-MM-DD), template name or definition id.' }),
        costUsd: z.number().meta({
          description:
            "day, template: what the group's workers cost; definition: what its sessions were charged.",
        }),
        attributedUsd: z.number().describe("Charged to the group's sessions."),
        sessions: z.number().int().describe("The group's sessions charged in the window."),
        meanCostPerSessionUsd: z.number().describe('attributedUsd / sessions (0 without sessions).'),
        breakdown: CostBreakdownSchema.optional().meta({ description: 'day and template groups only.' }),
      }),
    )
    .describe('One entry per day, template or definition (groupBy).'),
  read: CostReadsSchema.describe('What the query read.'),
  pools: PoolCostSchema.optional().meta({
    description:
      "The hot-start pools' labs over the window, beside the sessions' cost (their time is in the breakdown's unallocated or idle cost).",
  }),
}) satisfies z.ZodType<CostReport & { read: z.output<typeof CostReadsSchema> }>;
export type FleetCostReport = z.output<typeof FleetCostReportSchema>;

export const FleetUsageSchema = z.object({
  from: IsoDateTime.describe('Start of the window (ISO 8601).'),
  to: IsoDateTime.describe('End of the window (ISO 8601).'),
  stepSeconds: z.number().int().describe('Seconds per point.'),
  points: z
    .array(
      z.object({
        at: IsoDateTime.describe('Start of the step (ISO 8601).'),
        workersByStatus: z
          .record(z.enum(WORKER_STATUSES), z.number().int().describe('Workers in this status at `at`.'))
          .describe('Workers per status at `at`.'),
        declared: CapacitySchema.meta({ description: 'Of the RUNNING and DRAINING workers at `at`.' }),
        allocated: CapacitySchema.meta({ description: 'Held by the sessions placed at `at`.' }),
        sessionsActive: z.number().int().describe('Sessions holding a placement at `at`.'),
        sessionsHeld: z.number().int().meta({ description: 'Sessions placed at any time in the step.' }),
        costRatePerHourUsd: z.number().describe('USD per hour the fleet costs at `at`.'),
        costUsd: z.number().meta({ description: 'What the fleet cost within the step.' }),
      }),
    )
    .describe('One point per step, oldest first.'),
  read: CostReadsSchema.describe('What the query read.'),
}) satisfies z.ZodType<{ points: UsagePoint[] }>;
export type FleetUsage = z.output<typeof FleetUsageSchema>;

/** A session's cost, on GET /v1/sessions/{id} for the roles that may see it (api/views.ts). */
export const SessionCostSchema = z
  .object({
    workerId: z.string().describe('The worker the session held capacity on.'),
    templateName: z.string().describe("That worker's template."),
    capacityShare: z
      .number()
      .meta({ description: "The dominant share of the worker's declared capacity, 0..1." }),
    heldFrom: IsoDateTime.describe('When the session was placed (ISO 8601).'),
    heldUntil: IsoDateTime.meta({
      description: 'Release, or now while the session still holds its placement.',
    }),
    heldHours: z.number().describe('Hours it held its placement.'),
    runningPerHourUsd: z.number().meta({ description: "The worker template's price." }),
    costUsd: z.number().meta({ description: 'Σ capacity share × price × hours held while the worker ran.' }),
    final: z.boolean().meta({ description: 'false while the session still holds its placement.' }),
    priced: z
      .boolean()
      .meta({ description: "false when the worker's template no longer exists (counted at $0)." }),
  })
  .meta({ id: 'SessionCost' });
export type SessionCost = z.output<typeof SessionCostSchema>;

export interface CostDeps {
  sessions: Pick<SessionStore, 'listStartingBetween' | 'listByStatus' | 'listHistory'>;
  workers: Pick<WorkerStore, 'listAll' | 'get'>;
  templates: Pick<WorkerTemplateStore, 'list' | 'get'>;
  /** The hot-start pools' labs (their cost is reported beside the sessions'); absent: not reported. */
  pools?: Pick<PoolStore, 'listAll'> | undefined;
  clock?: (() => Date) | undefined;
}

/** Every item of a listing, refused (400 on `from`) when there are more than `max`: narrow the window. */
const readAll = <T>(list: (page: PageRequest) => Promise<Page<T>>, max: number, what: string): Promise<T[]> =>
  allPages(list, MAX_PAGE_SIZE, {
    max,
    tooMany: () =>
      new ValidationError('from', `more than ${max} ${what} to read; narrow the window`, { max }),
  });

async function inBatches<T, R>(items: readonly T[], size: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size)
    out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

const ZERO_PRICE: WorkerPrice = { runningPerHourUsd: 0, stoppedPerHourUsd: 0 };
const iso = (t: number): string => new Date(t).toISOString();

interface FleetHistory {
  workers: UsageWorker[];
  sessions: UsageSession[];
  read: z.output<typeof CostReadsSchema>;
}

/** The workers and placed sessions that may have cost anything in `window`, from their histories. */
async function readFleetHistory(deps: CostDeps, window: Interval, now: number): Promise<FleetHistory> {
  const [templates, allWorkers] = await Promise.all([
    readAll<WorkerTemplate>((p) => deps.templates.list(p), MAX_COST_WORKERS, 'templates'),
    readAll<Worker>((p) => deps.workers.listAll(p), MAX_COST_WORKERS, 'workers'),
  ]);
  const priceOf = new Map(templates.map((t) => [t.name, templatePrice(t)]));
  const unpriced: string[] = [];
  const workers: UsageWorker[] = [];
  for (const w of allWorkers) {
    if (Date.parse(w.createdAt) >= window.end) continue;
    const periods = workerPeriods(w, now);
    if (!periods.some((p) => p.end > window.start && p.start < window.end)) continue;
    const price = priceOf.get(w.templateName);
    if (!price) unpriced.push(w.id);
    workers.push({
      id: w.id,
      templateName: w.templateName,
      declared: w.declaredCapacity,
      price: price ?? ZERO_PRICE,
      periods,
    });
  }

  const beyond = iso(window.end + COST_LOOKAHEAD_DAYS * DAY);
  const listed = await readAll<LabletSession>(
    (p) => deps.sessions.listStartingBetween(iso(window.start - COST_LOOKBACK_DAYS * DAY), beyond, p),
    MAX_COST_SESSIONS,
    'sessions',
  );
  for (const status of ACTIVE_SESSION_STATUSES) {
    listed.push(
      ...(await readAll<LabletSession>(
        (p) => deps.sessions.listByStatus(status, { ...p, startFrom: beyond }),
        MAX_COST_SESSIONS,
        'sessions',
      )),
    );
  }
  const byWorker = new Map(workers.map((w) => [w.id, w]));
  const seen = new Set<string>();
  const candidates = listed.filter((s) => {
    if (seen.has(s.id)) return false;
    seen.add(s.id);
    return (
      s.workerId !== undefined &&
      byWorker.has(s.workerId) &&
      Date.parse(s.createdAt) < window.end &&
      (ACTIVE_SESSION_STATUSES.includes(s.status) || Date.parse(s.updatedAt) >= window.start)
    );
  });
  const holds = await inBatches(candidates, HISTORY_READS_AT_ONCE, async (s) =>
    holdOf(await deps.sessions.listHistory(s.id), now),
  );
  const sessions: UsageSession[] = [];
  candidates.forEach((s, i) => {
    const hold = holds[i];
    const worker = s.workerId === undefined ? undefined : byWorker.get(s.workerId);
    if (!hold || !worker || hold.end <= window.start || hold.start >= window.end) return;
    const allocated = requirementsAsCapacity(s.requirements);
    sessions.push({
      id: s.id,
      definitionId: s.definitionId,
      workerId: worker.id,
      share: capacityShare(allocated, worker.declared),
      hold,
      allocated,
    });
  });
  return {
    workers,
    sessions,
    read: {
      workers: allWorkers.length,
      sessionsListed: listed.length,
      histories: candidates.length,
      unpricedWorkers: unpriced,
    },
  };
}

/** The window as counted: [from, min(to, now)). */
function countedWindow(from: string, to: string, now: number): Interval {
  const start = Date.parse(from);
  return { start, end: Math.max(start, Math.min(Date.parse(to), now)) };
}

/** GET /v1/fleet/cost: totals, per-group cost, idle share and utilisation over a window. */
export async function getFleetCost(deps: CostDeps, input: FleetCostInput): Promise<FleetCostReport> {
  const q = FleetCostInputSchema.parse(input);
  const now = nowOf(deps).getTime();
  const window = countedWindow(q.from, q.to, now);
  const fleet = await readFleetHistory(deps, window, now);
  const report = { ...costReport(fleet.workers, fleet.sessions, window, q.groupBy), read: fleet.read };
  if (!deps.pools) return report;
  const workers = new Map(
    fleet.workers.map((w) => [
      w.id,
      { id: w.id, declared: w.declared, runningPerHourUsd: w.price.runningPerHourUsd, periods: w.periods },
    ]),
  );
  const pools = poolCost(
    await deps.pools.listAll(),
    workers,
    (need, declared) => capacityShare(requirementsAsCapacity(need), declared),
    window,
    now,
  );
  return { ...report, pools };
}

export const DefinitionCostSchema = z.object({
  definitionId: z.string().describe('The definition.'),
  from: IsoDateTime.describe('Start of the window (ISO 8601).'),
  to: IsoDateTime.meta({ description: 'The window as counted: clamped to now.' }),
  sessions: z.number().int().meta({ description: "The definition's sessions charged in the window." }),
  attributedUsd: z
    .number()
    .meta({ description: 'What they were charged: Σ capacity share × price × hours held.' }),
  meanCostPerSessionUsd: z.number().meta({ description: 'attributedUsd / sessions (0 without sessions).' }),
  poolCostUsd: z.number().optional().meta({
    description: "What the definition's hot-start pool cost in the window (absent where pools are not read).",
  }),
  poolLabHours: z.number().optional().describe('Hours its pooled labs held capacity in the window.'),
  read: CostReadsSchema.describe('What the query read.'),
});
export type DefinitionCost = z.output<typeof DefinitionCostSchema>;

/**
 * GET /v1/definitions/{id}/cost: what a definition's sessions cost over a window, and the mean per
 * session: the definition's group of the fleet cost report (the same attribution, the same reads).
 */
export async function getDefinitionCost(
  deps: CostDeps & { definitions: Pick<DefinitionStore, 'getLatest'> },
  definitionId: string,
  input: DefinitionCostInput,
): Promise<DefinitionCost> {
  const q = DefinitionCostInputSchema.parse(input);
  await deps.definitions.getLatest(definitionId);
  const report = await getFleetCost(deps, { ...q, groupBy: 'definition' });
  const group = report.groups.find((g) => g.key === definitionId);
  return {
    definitionId,
    from: report.from,
    to: report.to,
    sessions: group?.sessions ?? 0,
    attributedUsd: group?.attributedUsd ?? 0,
    meanCostPerSessionUsd: group?.meanCostPerSessionUsd ?? 0,
    ...(report.pools
      ? {
          poolCostUsd: report.pools.definitions.find((d) => d.definitionId === definitionId)?.costUsd ?? 0,
          poolLabHours: report.pools.definitions.find((d) => d.definitionId === definitionId)?.labHours ?? 0,
        }
      : {}),
    read: report.read,
  };
}

/** GET /v1/fleet/usage: one point per step, for charts. */
export async function getFleetUsage(deps: CostDeps, input: FleetUsageInput): Promise<FleetUsage> {
  const q = FleetUsageInputSchema.parse(input);
  const now = nowOf(deps).getTime();
  // Points cover the window as asked; what lies after now has no workers or sessions yet.
  const window = { start: Date.parse(q.from), end: Date.parse(q.to) };
  const fleet = await readFleetHistory(deps, countedWindow(q.from, q.to, now), now);
  return {
    from: iso(window.start),
    to: iso(window.end),
    stepSeconds: q.step,
    points: fleetUsage(fleet.workers, fleet.sessions, window, q.step * 1000),
    read: fleet.read,
  };
}

/**
 * One session's cost: its share of its worker's price for the hours it held it (two GetItems:
 * the worker and its template; the history comes with the session). Null when it was never
 * placed or its worker no longer exists.
 */
export async function getSessionCost(
  deps: Pick<CostDeps, 'workers' | 'templates' | 'clock'>,
  session: Pick<LabletSession, 'id' | 'definitionId' | 'workerId' | 'requirements'>,
  history: LabletSessionAggregate['history'],
): Promise<SessionCost | null> {
  const now = nowOf(deps).getTime();
  const hold = holdOf(history, now);
  if (!hold || session.workerId === undefined) return null;
  let worker: Worker;
  try {
    worker = await deps.workers.get(session.workerId);
  } catch (e) {
    if (e instanceof NotFoundError) return null;
    throw e;
  }
  let price = ZERO_PRICE;
  let priced = true;
  try {
    price = templatePrice(await deps.templates.get(worker.templateName));
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
    priced = false;
  }
  const share = capacityShare(requirementsAsCapacity(session.requirements), worker.declaredCapacity);
  const costWorker = {
    id: worker.id,
    templateName: worker.templateName,
    price,
    periods: workerPeriods(worker, now),
  };
  const costSession = {
    id: session.id,
    definitionId: session.definitionId,
    workerId: worker.id,
    share,
    hold,
  };
  const released = history.some(
    (e) => Date.parse(e.at) >= hold.start && !ACTIVE_SESSION_STATUSES.includes(e.to),
  );
  return {
    workerId: worker.id,
    templateName: worker.templateName,
    capacityShare: Math.round(share * 1e6) / 1e6,
    heldFrom: iso(hold.start),
    heldUntil: iso(hold.end),
    heldHours: Math.round(((hold.end - hold.start) / 3_600_000) * 1e6) / 1e6,
    runningPerHourUsd: price.runningPerHourUsd,
    costUsd: sessionCharge(costWorker, costSession),
    final: released,
    priced,
  };
}
