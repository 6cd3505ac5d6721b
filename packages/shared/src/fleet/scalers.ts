import { ulid } from 'ulid';
import type { LabletSession, ScalingDecision, Worker, WorkerTemplate } from '../kernel/index.ts';
import {
  ACTIVE_SESSION_STATUSES,
  DuplicateError,
  isDomainError,
  NotFoundError,
  VersionConflictError,
} from '../kernel/index.ts';
import type { DrainThen, FleetWorkflows } from '../platform/index.ts';
import {
  allPages,
  type EnvOf,
  type EnvShape,
  envNumber,
  nowOf,
  type PageRequest,
  parseEnv,
  type RawEnv,
  recordMetrics,
  retryOnConflict,
} from '../platform/index.ts';
import type { FleetSessionQueries } from './deps.ts';
import { fleetGaugePoints } from './fleet-metrics.ts';
import { observedBootSecondsByTemplate } from './rules/boot-durations.ts';
import { fleetGauges } from './rules/fleet-gauges.ts';
import {
  DEFAULT_SCALING_CONFIG,
  lookAheadMinutes,
  planScaleDown,
  planScaleUp,
  type ScaleDownAction,
  type ScaleUpAction,
  type ScalingConfig,
  type ScalingSession,
  validateScalingConfig,
} from './rules/scaling/index.ts';
import type { ScalerState, ScalingStore } from './stores/scaling-store.ts';
import type { WorkerStore } from './stores/worker-store.ts';
import type { WorkerTemplateStore } from './stores/worker-template-store.ts';
import { allWorkers, createWorker, type ListPage, requestWorkerAction, toListPage } from './workers.ts';
import { ensureWorkerWorkflow } from './workflow-dispatch.ts';

/**
 * The scheduled scalers (DESIGN §7): scale-up every minute, scale-down every 5 minutes. Each run
 * gathers the planners' inputs from the stores (PENDING sessions starting within the look-ahead
 * window or already waiting, sessions holding capacity, the fleet, the templates, the scaler's
 * state), calls the pure planners of fleet/rules/scaling/, carries out their actions and records
 * every decision in the ScalingStore (GET /v1/fleet/scaling).
 *
 * One run acts at a time: before acting, a run takes its scope's ScalerState under a version
 * condition (created when absent); of two concurrent runs that planned from the same state only
 * one wins, the other returns `lostRace` without acting or recording. The scale-up cooldown is the
 * state's `lastScaleUpAt`, which the planner holds actions back against.
 *
 * The scale-up run also records the fleet gauges (FleetWorkers, FleetCostPerHourUsd, capacity
 * declared and allocated: rules/fleet-gauges.ts) from the workers and templates it read.
 *
 * Actions:
 * - LAUNCH → a PENDING worker from the template (desired RUNNING) + the provisioning workflow;
 * - START_STOPPED → STOPPED → STARTING (the API's start) + the provisioning workflow (START path);
 * - DRAIN → RUNNING → DRAINING with desired STOPPED/TERMINATED (re-checked empty under the
 *   worker's version) + the drain workflow;
 * - TERMINATE (a STOPPED worker beyond the warm pool) → SHUTTING_DOWN + the drain workflow.
 * A decision that found nothing to do (`NONE`) is recorded when its reason differs from the
 * scaler's previous NONE, so an idle fleet does not fill the audit trail every minute.
 */

export const SCALE_UP_SCOPE = 'scale-up';
export const SCALE_DOWN_SCOPE = 'scale-down';
const BY = 'scaler';

export interface ScalingDeps {
  workers: Pick<WorkerStore, 'get' | 'create' | 'update' | 'transition' | 'listAll'>;
  templates: Pick<WorkerTemplateStore, 'get' | 'list'>;
  sessions: FleetSessionQueries;
  scaling: ScalingStore;
  workflows: Pick<FleetWorkflows, 'startProvisioning' | 'startDrain'>;
  config: ScalingConfig;
  clock?: (() => Date) | undefined;
  /** Ids of new workers and decisions (ULID-based by default). */
  newId?: (() => string) | undefined;
  /** Audit entries expire after this many days (default 90). */
  decisionTtlDays?: number | undefined;
  /**
   * The hot-start pools' unplaced labs as waiting demand (issue 15, item 3; the sessions context's
   * `readPoolDemand`, wired by the composition root). Absent: no pools count.
   */
  poolDemand?: (() => Promise<ScalingSession[]>) | undefined;
}

export type ActionOutcome = 'APPLIED' | 'SKIPPED' | 'FAILED';

export interface AppliedAction<A = ScaleUpAction | ScaleDownAction> {
  action: A;
  outcome: ActionOutcome;
  workerId?: string | undefined;
  executionArn?: string | undefined;
  detail?: string | undefined;
}

export interface ScalingRunResult {
  scope: string;
  at: string;
  reason: string;
  /** Another run took the scope's state first: this one did nothing. */
  lostRace: boolean;
  actions: AppliedAction[];
  decisions: ScalingDecision[];
}

// ---------------------------------------------------------------------------------------------
// Configuration

/**
 * The variables of the scaling configuration, part of the fleet functions' environment schema
 * (app/env.ts); each overrides its DEFAULT_SCALING_CONFIG field. LCM_SCALE_DOWN_IDLE_SECONDS wins
 * over LCM_SCALING_IDLE_MINUTES (the local stack drains after seconds), and
 * LCM_SCALING_POST_LAUNCH_GRACE_SECONDS over LCM_SCALING_POST_LAUNCH_GRACE_MINUTES.
 */
export const SCALING_CONFIG_ENV = {
  LCM_SCALING_MIN_WORKERS: envNumber(),
  LCM_SCALING_MAX_WORKERS: envNumber(),
  LCM_SCALING_MAX_CONCURRENT_LAUNCHES: envNumber(),
  LCM_SCALING_COOLDOWN_SECONDS: envNumber(),
  LCM_SCALING_LOOKAHEAD_MARGIN_MINUTES: envNumber(),
  LCM_SCALING_IDLE_MINUTES: envNumber(),
  LCM_SCALE_DOWN_IDLE_SECONDS: envNumber(),
  LCM_SCALING_POST_LAUNCH_GRACE_MINUTES: envNumber(),
  LCM_SCALING_POST_LAUNCH_GRACE_SECONDS: envNumber(),
  LCM_SCALING_MAX_DRAIN_SHARE: envNumber(),
  LCM_SCALING_WARM_STOPPED_PER_TEMPLATE: envNumber(),
  LCM_SCALING_WARM_START_MINUTES: envNumber(),
  LCM_SCALING_FREED_ROOM_LEAD_MINUTES: envNumber(),
} satisfies EnvShape;

/**
 * The variable of each ScalingConfig field (its unit is the field's). The deployment's per-stage
 * settings (infra/lib/settings.ts) set these; the seconds variants below are the local stack's.
 */
export const SCALING_CONFIG_VARIABLES = {
  minWorkers: 'LCM_SCALING_MIN_WORKERS',
  maxWorkers: 'LCM_SCALING_MAX_WORKERS',
  maxConcurrentLaunches: 'LCM_SCALING_MAX_CONCURRENT_LAUNCHES',
  cooldownSeconds: 'LCM_SCALING_COOLDOWN_SECONDS',
  lookAheadMarginMinutes: 'LCM_SCALING_LOOKAHEAD_MARGIN_MINUTES',
  scaleDownIdleMinutes: 'LCM_SCALING_IDLE_MINUTES',
  postLaunchGraceMinutes: 'LCM_SCALING_POST_LAUNCH_GRACE_MINUTES',
  maxDrainShare: 'LCM_SCALING_MAX_DRAIN_SHARE',
  warmStoppedPerTemplate: 'LCM_SCALING_WARM_STOPPED_PER_TEMPLATE',
  warmStartMinutes: 'LCM_SCALING_WARM_START_MINUTES',
  freedRoomLeadMinutes: 'LCM_SCALING_FREED_ROOM_LEAD_MINUTES',
} as const satisfies Record<keyof ScalingConfig, keyof typeof SCALING_CONFIG_ENV>;

/** DEFAULT_SCALING_CONFIG overridden by the parsed variables, validated as the planners need. */
export function scalingConfigOf(env: EnvOf<typeof SCALING_CONFIG_ENV>): ScalingConfig {
  const seconds = (s: number | undefined) => (s === undefined ? undefined : s / 60);
  const overrides: Partial<ScalingConfig> = {
    ...Object.fromEntries(
      Object.entries(SCALING_CONFIG_VARIABLES).map(([field, variable]) => [field, env[variable]]),
    ),
  };
  overrides.scaleDownIdleMinutes =
    seconds(env.LCM_SCALE_DOWN_IDLE_SECONDS) ?? env[SCALING_CONFIG_VARIABLES.scaleDownIdleMinutes];
  overrides.postLaunchGraceMinutes =
    seconds(env.LCM_SCALING_POST_LAUNCH_GRACE_SECONDS) ??
    env[SCALING_CONFIG_VARIABLES.postLaunchGraceMinutes];
  const cfg: ScalingConfig = { ...DEFAULT_SCALING_CONFIG };
  for (const [key, value] of Object.entries(overrides) as [keyof ScalingConfig, number | undefined][]) {
    if (value !== undefined) cfg[key] = value;
  }
  validateScalingConfig(cfg);
  return cfg;
}

/** The scaling configuration from raw variables (SCALING_CONFIG_ENV). */
export const scalingConfigFromEnv = (env: RawEnv): ScalingConfig =>
  scalingConfigOf(parseEnv(SCALING_CONFIG_ENV, env));

// ---------------------------------------------------------------------------------------------
// Inputs

const allTemplates = (deps: Pick<ScalingDeps, 'templates'>): Promise<WorkerTemplate[]> =>
  allPages((p) => deps.templates.list(p));

/** PENDING sessions whose timeslot starts before `to` (waiting ones included: their start is past). */
const pendingBefore = (deps: Pick<ScalingDeps, 'sessions'>, to: string): Promise<LabletSession[]> =>
  allPages((p) => deps.sessions.listByStatus('PENDING', { ...p, startTo: to }));

async function holdingSessions(deps: Pick<ScalingDeps, 'sessions'>): Promise<LabletSession[]> {
  const out: LabletSession[] = [];
  for (const status of ACTIVE_SESSION_STATUSES) {
    out.push(...(await allPages((p) => deps.sessions.listByStatus(status, p))));
  }
  return out;
}

/**
 * The live fleet and each template's observed boot (issue 10, item 5): the p95 of the recorded
 * launches of all workers read, TERMINATED ones included, the template's figure as the prior. The
 * planners' look-ahead, launch deferral and overdue boots follow it, and so does the window of
 * PENDING sessions read (read after the workers for that reason).
 */
async function fleetAndBoots(
  deps: Pick<ScalingDeps, 'workers'>,
  templates: readonly WorkerTemplate[],
): Promise<{ workers: Worker[]; bootSeconds: Record<string, number> }> {
  const all = await allWorkers(deps.workers);
  return {
    workers: all.filter((w) => w.status !== 'TERMINATED'),
    bootSeconds: observedBootSecondsByTemplate(all, templates),
  };
}

const newIdOf = (deps: Pick<ScalingDeps, 'newId'>): string => deps.newId?.() ?? ulid();

// ---------------------------------------------------------------------------------------------
// The state claim (one acting run per scope)

/** Takes the scope's state for this run; false when another run changed it since it was read. */
async function claim(
  deps: Pick<ScalingDeps, 'scaling'>,
  scope: string,
  state: ScalerState | undefined,
  next: Partial<ScalerState>,
): Promise<ScalerState | undefined> {
  try {
    const { scope: _s, version: _v, updatedAt: _u, ...kept } = state ?? ({} as Partial<ScalerState>);
    return await deps.scaling.putState(scope, { data: {}, ...kept, ...next }, state?.version);
  } catch (e) {
    if (e instanceof VersionConflictError || e instanceof DuplicateError || e instanceof NotFoundError) {
      return undefined;
    }
    throw e;
  }
}

const KIND_OF: Record<(ScaleUpAction | ScaleDownAction)['kind'], ScalingDecision['kind']> = {
  LAUNCH: 'SCALE_UP',
  START_STOPPED: 'START_STOPPED',
  DRAIN: 'DRAIN',
  TERMINATE: 'TERMINATE',
};

async function record(
  deps: Pick<ScalingDeps, 'scaling' | 'decisionTtlDays' | 'newId'>,
  decision: Omit<ScalingDecision, 'id'>,
): Promise<ScalingDecision> {
  const ttlSeconds = Math.round((deps.decisionTtlDays ?? 90) * 86_400);
  return deps.scaling.putDecision({ id: newIdOf(deps), ...decision }, { ttlSeconds });
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** NONE when nothing was planned: recorded only when the reason changed since the last NONE. */
async function recordNone(
  deps: ScalingDeps,
  scope: string,
  state: ScalerState | undefined,
  at: string,
  reason: string,
  summary: object,
): Promise<ScalingDecision[]> {
  if (state?.data?.lastNoneReason === reason) return [];
  const taken = await claim(deps, scope, state, { data: { ...(state?.data ?? {}), lastNoneReason: reason } });
  if (!taken) return [];
  return [await record(deps, { at, kind: 'NONE', reason, inputs: { scaler: scope, summary } })];
}

// ---------------------------------------------------------------------------------------------
// Scale-up

export async function runScaleUp(deps: ScalingDeps): Promise<ScalingRunResult> {
  const now = nowOf(deps);
  const at = now.toISOString();
  const state = await deps.scaling.getState(SCALE_UP_SCOPE);
  const templates = await allTemplates(deps);
  const { workers, bootSeconds } = await fleetAndBoots(deps, templates);
  const windowMinutes = lookAheadMinutes(templates, deps.config, bootSeconds);
  const [pending, holding, pooled] = await Promise.all([
    pendingBefore(deps, new Date(now.getTime() + windowMinutes * 60_000).toISOString()),
    holdingSessions(deps),
    deps.poolDemand ? deps.poolDemand() : Promise.resolve([]),
  ]);
  const sessions: ScalingSession[] = [...pending, ...holding, ...pooled];
  // The fleet gauges from what this run read anyway (issue 13, item 1), before it acts.
  recordMetrics(fleetGaugePoints(fleetGauges(workers, templates)));
  const plan = planScaleUp({
    now: at,
    sessions,
    workers,
    templates,
    config: deps.config,
    lastScaleUpAt: state?.lastScaleUpAt,
    bootSeconds,
  });
  const base = { scope: SCALE_UP_SCOPE, at, reason: plan.reason };
  if (plan.actions.length === 0) {
    const decisions = await recordNone(deps, SCALE_UP_SCOPE, state, at, plan.reason, plan.summary);
    return { ...base, lostRace: false, actions: [], decisions };
  }
  const runId = newIdOf(deps);
  const taken = await claim(deps, SCALE_UP_SCOPE, state, {
    lastScaleUpAt: at,
    cooldownUntil: new Date(now.getTime() + deps.config.cooldownSeconds * 1000).toISOString(),
    lastDecisionId: runId,
  });
  if (!taken) return { ...base, lostRace: true, actions: [], decisions: [] };

  const applied: AppliedAction<ScaleUpAction>[] = [];
  for (const action of plan.actions) applied.push(await applyScaleUp(deps, action));
  const decisions: ScalingDecision[] = [];
  for (const a of applied) {
    decisions.push(
      await record(deps, {
        at,
        kind: KIND_OF[a.action.kind],
        ...(a.workerId ? { workerId: a.workerId } : {}),
        templateName: a.action.templateName,
        reason: a.action.reason,
        inputs: {
          scaler: SCALE_UP_SCOPE,
          run: runId,
          outcome: a.outcome,
          ...(a.detail ? { detail: a.detail } : {}),
          ...(a.executionArn ? { executionArn: a.executionArn } : {}),
          forSessions:
            a.action.kind === 'LAUNCH' || a.action.kind === 'START_STOPPED' ? a.action.forSessions : [],
          plan: plan.reason,
          summary: plan.summary,
        },
      }),
    );
  }
  return { ...base, lostRace: false, actions: applied, decisions };
}

async function applyScaleUp(deps: ScalingDeps, action: ScaleUpAction): Promise<AppliedAction<ScaleUpAction>> {
  try {
    if (action.kind === 'LAUNCH') {
      const worker = await createWorker(
        { templates: deps.templates, workers: deps.workers, clock: deps.clock },
        { templateName: action.templateName, id: `w-${newIdOf(deps).toLowerCase()}` },
      );
      const started = await ensureWorkerWorkflow(deps, worker);
      return { action, outcome: 'APPLIED', workerId: worker.id, executionArn: started?.executionArn };
    }
    const before = await deps.workers.get(action.workerId);
    if (before.status !== 'STOPPED') {
      return { action, outcome: 'SKIPPED', workerId: action.workerId, detail: `worker is ${before.status}` };
    }
    const worker = await requestWorkerAction(
      { workers: deps.workers, sessions: deps.sessions },
      action.workerId,
      'start',
      BY,
      action.reason,
    );
    const started = await ensureWorkerWorkflow(deps, worker);
    return { action, outcome: 'APPLIED', workerId: worker.id, executionArn: started?.executionArn };
  } catch (e) {
    return {
      action,
      outcome: isDomainError(e) && e.code !== 'VERSION_CONFLICT' ? 'SKIPPED' : 'FAILED',
      ...(action.kind === 'START_STOPPED' ? { workerId: action.workerId } : {}),
      detail: message(e),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Scale-down

export async function runScaleDown(deps: ScalingDeps): Promise<ScalingRunResult> {
  const now = nowOf(deps);
  const at = now.toISOString();
  const state = await deps.scaling.getState(SCALE_DOWN_SCOPE);
  const templates = await allTemplates(deps);
  const { workers, bootSeconds } = await fleetAndBoots(deps, templates);
  const windowMinutes = lookAheadMinutes(templates, deps.config, bootSeconds);
  const [pending, holding] = await Promise.all([
    pendingBefore(deps, new Date(now.getTime() + windowMinutes * 60_000).toISOString()),
    holdingSessions(deps),
  ]);
  const plan = planScaleDown({
    now: at,
    sessions: [...pending, ...holding],
    workers,
    templates,
    config: deps.config,
    bootSeconds,
  });
  const base = { scope: SCALE_DOWN_SCOPE, at, reason: plan.reason };
  if (plan.actions.length === 0) {
    const decisions = await recordNone(deps, SCALE_DOWN_SCOPE, state, at, plan.reason, plan.summary);
    return { ...base, lostRace: false, actions: [], decisions };
  }
  const runId = newIdOf(deps);
  const taken = await claim(deps, SCALE_DOWN_SCOPE, state, { lastScaleDownAt: at, lastDecisionId: runId });
  if (!taken) return { ...base, lostRace: true, actions: [], decisions: [] };

  const applied: AppliedAction<ScaleDownAction>[] = [];
  for (const action of plan.actions) applied.push(await applyScaleDown(deps, action));
  const decisions: ScalingDecision[] = [];
  for (const a of applied) {
    decisions.push(
      await record(deps, {
        at,
        kind: KIND_OF[a.action.kind],
        workerId: a.action.workerId,
        templateName: a.action.templateName,
        reason: a.action.reason,
        inputs: {
          scaler: SCALE_DOWN_SCOPE,
          run: runId,
          outcome: a.outcome,
          ...(a.action.kind === 'DRAIN' ? { drainThen: a.action.then } : {}),
          ...(a.detail ? { detail: a.detail } : {}),
          ...(a.executionArn ? { executionArn: a.executionArn } : {}),
          plan: plan.reason,
          summary: plan.summary,
        },
      }),
    );
  }
  return { ...base, lostRace: false, actions: applied, decisions };
}

const isEmpty = (w: Worker): boolean =>
  w.leasedPortCount === 0 && Object.values(w.allocatedCapacity).every((v) => v === 0);

async function applyScaleDown(
  deps: ScalingDeps,
  action: ScaleDownAction,
): Promise<AppliedAction<ScaleDownAction>> {
  const workerId = action.workerId;
  try {
    if (action.kind === 'DRAIN') {
      const then: DrainThen = action.then;
      const { value } = await retryOnConflict(
        async () => {
          const w = await deps.workers.get(workerId);
          if (w.status !== 'RUNNING') return { skipped: `worker is ${w.status}` };
          // Re-checked under the version the transition is conditioned on: a session placed
          // since the plan was made keeps the worker.
          const page = await deps.sessions.listActiveOnWorker(workerId, { limit: 1 });
          if (!isEmpty(w) || page.items.length > 0) return { skipped: 'worker is no longer empty' };
          const moved = await deps.workers.transition(workerId, 'RUNNING', 'DRAINING', BY, action.reason, {
            expectedVersion: w.version,
            patch: { desiredStatus: then === 'STOP' ? 'STOPPED' : 'TERMINATED' },
          });
          return { moved };
        },
        { maxAttempts: 5 },
      );
      if ('skipped' in value) return { action, outcome: 'SKIPPED', workerId, detail: value.skipped };
      const started = await ensureWorkerWorkflow(deps, value.moved, then);
      return { action, outcome: 'APPLIED', workerId, executionArn: started?.executionArn };
    }
    const w = await deps.workers.get(workerId);
    if (w.status !== 'STOPPED')
      return { action, outcome: 'SKIPPED', workerId, detail: `worker is ${w.status}` };
    const moved = await deps.workers.transition(workerId, 'STOPPED', 'SHUTTING_DOWN', BY, action.reason, {
      expectedVersion: w.version,
      patch: { desiredStatus: 'TERMINATED' },
    });
    const started = await ensureWorkerWorkflow(deps, moved, 'TERMINATE');
    return { action, outcome: 'APPLIED', workerId, executionArn: started?.executionArn };
  } catch (e) {
    return {
      action,
      outcome: isDomainError(e) && e.code !== 'VERSION_CONFLICT' ? 'SKIPPED' : 'FAILED',
      workerId,
      detail: message(e),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Query: GET /v1/fleet/scaling

/** The scaling audit trail, newest first. */
export async function listScalingDecisions(
  deps: { scaling: Pick<ScalingStore, 'listDecisions'> },
  page: PageRequest,
): Promise<ListPage<ScalingDecision>> {
  return toListPage(await deps.scaling.listDecisions({ limit: page.limit, cursor: page.cursor }));
}
