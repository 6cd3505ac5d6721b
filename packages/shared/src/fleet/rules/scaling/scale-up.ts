import { ACTIVE_SESSION_STATUSES, requirementsAsCapacity } from '../../../kernel/index.ts';
import {
  type BootSeconds,
  bootMinutesOf,
  lookAheadMinutes,
  type ScalingConfig,
  validateBootSeconds,
  validateScalingConfig,
} from './config.ts';
import {
  fleetCounts,
  MINUTE,
  minutesText,
  parseInstant,
  type ScalingSession,
  type ScalingTemplate,
  type ScalingWorker,
} from './model.ts';
import { overdueBoots } from './overdue.ts';
import {
  byCostThenName,
  collectDemand,
  type Demand,
  type Host,
  pack,
  type Release,
  referenceCapacity,
  supplyHosts,
} from './packing.ts';

export interface ScaleUpInput {
  /** ISO instant of this scaler run. */
  now: string;
  /**
   * Sessions that need or hold capacity: at least the PENDING ones starting within the window, and
   * the placed ones (ACTIVE_SESSION_STATUSES) whose room upcoming demand may reuse.
   */
  sessions: readonly ScalingSession[];
  workers: readonly ScalingWorker[];
  templates: readonly ScalingTemplate[];
  config: ScalingConfig;
  /** ISO instant of the last scaler run that took a scale-up action (for the cooldown). */
  lastScaleUpAt?: string | undefined;
  /**
   * Observed boot seconds per template (e.g. p95 of its last boots, the template's figure as the
   * prior); used instead of `bootMinutes` for the look-ahead window and for deferring launches.
   */
  bootSeconds?: BootSeconds | undefined;
}

export type ScaleUpAction =
  | {
      kind: 'START_STOPPED';
      workerId: string;
      templateName: string;
      reason: string;
      /** Sessions this worker is started for (empty when started to reach minWorkers). */
      forSessions: string[];
    }
  | {
      kind: 'LAUNCH';
      templateName: string;
      reason: string;
      /** Sessions the new host is sized for (empty when launched to reach minWorkers). */
      forSessions: string[];
    };

export interface ScaleUpSummary {
  now: string;
  windowMinutes: number;
  windowEnd: string;
  demand: { total: number; waiting: number; upcoming: number };
  supply: { running: number; inFlight: number; stopped: number; fleetSize: number; serving: number };
  /** In-flight launches past their expected boot time, not counted as supply (overdue.ts). */
  overdueBoots: string[];
  /** Demand sessions that fit capacity that is running or already launching. */
  coveredBySupply: number;
  /** Hosts the packing asked for, before deferral and limits. */
  planned: { startStopped: number; launch: number; topUp: number };
  /** Hosts planned but not needed yet (their earliest session is beyond their start-up time). */
  deferred: { startStopped: number; launch: number };
  /** Planned actions dropped by a limit. */
  dropped: { maxWorkers: number; maxConcurrentLaunches: number; cooldown: number };
  /** Sessions no enabled template can host (license, pod type, AMI, shape or ports). */
  unplaceable: string[];
  cooldownRemainingSeconds: number;
}

export interface ScaleUpPlan {
  actions: ScaleUpAction[];
  summary: ScaleUpSummary;
  reason: string;
}

function sessionsText(hostSessions: readonly Demand[], nowMs: number): string {
  const first = Math.min(...hostSessions.map((d) => d.startMs));
  const when =
    first <= nowMs ? `started ${minutesText(nowMs - first)} ago` : `in ${minutesText(first - nowMs)}`;
  return `${hostSessions.length} session(s), first ${when}`;
}

/**
 * Scale-up planning. Demand = PENDING sessions waiting for capacity now plus those whose timeslot
 * starts within the look-ahead window (longest enabled boot time + margin); placed sessions are
 * already in their workers' allocated capacity, and a placed session's room counts as free for
 * demand starting at least `freedRoomLeadMinutes` after its booked end (the session holding it
 * must be among `sessions`). Supply = RUNNING workers, workers launching or
 * starting (as if RUNNING with their declared capacity), then STOPPED workers of enabled
 * templates (started in preference to a launch), then new hosts. Actions are ordered by the
 * earliest session they serve and cut by maxWorkers, maxConcurrentLaunches and the cooldown; a
 * host whose first session is further away than its start-up time plus the margin is deferred to
 * a later run. Finally the serving fleet is topped up to minWorkers.
 */
export function planScaleUp(input: ScaleUpInput): ScaleUpPlan {
  const cfg = input.config;
  validateScalingConfig(cfg);
  validateBootSeconds(input.bootSeconds);
  const nowMs = parseInstant(input.now, 'now');
  const enabled = input.templates.filter((t) => t.enabled !== false);
  const enabledByName = new Map(enabled.map((t) => [t.name, t]));
  const windowMinutes = lookAheadMinutes(input.templates, cfg, input.bootSeconds);
  const horizonMs = nowMs + windowMinutes * MINUTE;
  const demand = collectDemand(input.sessions, nowMs, horizonMs, referenceCapacity(enabled));
  const counts = fleetCounts(input.workers);

  // A launch past its expected boot time is not counted as supply: its sessions get a replacement.
  const overdue = overdueBoots(input.workers, input.templates, nowMs, input.bootSeconds);
  const { active, stopped } = supplyHosts(
    overdue.size > 0 ? input.workers.filter((w) => !overdue.has(w.id)) : input.workers,
    enabledByName,
  );
  const packing =
    demand.length > 0
      ? pack(demand, active, stopped, enabled, true, {
          releases: releasesOf(input.sessions, active, nowMs),
          leadMs: cfg.freedRoomLeadMinutes * MINUTE,
        })
      : { started: [], launched: [], covered: [], unplaced: [] };

  interface Candidate {
    action: ScaleUpAction;
    earliestMs: number;
    order: number;
  }
  const candidates: Candidate[] = [];
  const deferred = { startStopped: 0, launch: 0 };
  for (const host of packing.started) {
    const earliestMs = Math.min(...host.sessions.map((d) => d.startMs));
    if (earliestMs - nowMs > (cfg.warmStartMinutes + cfg.lookAheadMarginMinutes) * MINUTE) {
      deferred.startStopped++;
      continue;
    }
    candidates.push({
      earliestMs,
      order: 0,
      action: {
        kind: 'START_STOPPED',
        workerId: host.workerId!,
        templateName: host.templateName,
        forSessions: host.sessions.map((d) => d.session.id),
        reason: `start stopped ${host.templateName} worker ${host.workerId} for ${sessionsText(host.sessions, nowMs)} (warm capacity before a new launch)`,
      },
    });
  }
  for (const host of packing.launched) {
    const t = host.template!;
    const earliestMs = Math.min(...host.sessions.map((d) => d.startMs));
    if (earliestMs - nowMs > (bootMinutesOf(t, input.bootSeconds) + cfg.lookAheadMarginMinutes) * MINUTE) {
      deferred.launch++;
      continue;
    }
    candidates.push({
      earliestMs,
      order: 1,
      action: {
        kind: 'LAUNCH',
        templateName: t.name,
        forSessions: host.sessions.map((d) => d.session.id),
        reason: `launch ${t.name} ($${t.costPerHourUsd}/h, cheapest template that fits) for ${sessionsText(host.sessions, nowMs)}; no running, launching or stopped worker has room`,
      },
    });
  }
  candidates.sort((a, b) => a.earliestMs - b.earliestMs || a.order - b.order);

  const dropped = { maxWorkers: 0, maxConcurrentLaunches: 0, cooldown: 0 };
  const actions: ScaleUpAction[] = [];
  let fleetSize = counts.fleetSize;
  let inFlight = counts.inFlight;
  let serving = counts.serving;
  const take = (a: ScaleUpAction): boolean => {
    if (fleetSize + 1 > cfg.maxWorkers) {
      dropped.maxWorkers++;
      return false;
    }
    if (inFlight + 1 > cfg.maxConcurrentLaunches) {
      dropped.maxConcurrentLaunches++;
      return false;
    }
    actions.push(a);
    fleetSize++;
    inFlight++;
    serving++;
    return true;
  };
  for (const c of candidates) take(c.action);

  // Top the serving fleet up to minWorkers: stopped workers first, then the cheapest template.
  let topUp = 0;
  if (serving < cfg.minWorkers) {
    const usedStopped = new Set(packing.started.map((h) => h.workerId));
    const spare = stopped
      .filter((h) => !usedStopped.has(h.workerId))
      .sort((a, b) => byCostThenName(a.template!, b.template!));
    const cheapest = [...enabled].sort(byCostThenName)[0];
    while (serving < cfg.minWorkers) {
      const h = spare.shift();
      const reason = `serving fleet ${serving} is below minWorkers ${cfg.minWorkers}`;
      const a: ScaleUpAction | undefined = h
        ? {
            kind: 'START_STOPPED',
            workerId: h.workerId!,
            templateName: h.templateName,
            forSessions: [],
            reason,
          }
        : cheapest
          ? { kind: 'LAUNCH', templateName: cheapest.name, forSessions: [], reason }
          : undefined;
      if (a === undefined) break;
      topUp++;
      if (!take(a)) break;
    }
  }

  let cooldownRemainingSeconds = 0;
  if (input.lastScaleUpAt !== undefined) {
    const lastMs = parseInstant(input.lastScaleUpAt, 'lastScaleUpAt');
    const elapsed = (nowMs - lastMs) / 1000;
    if (elapsed < cfg.cooldownSeconds) cooldownRemainingSeconds = Math.ceil(cfg.cooldownSeconds - elapsed);
  }
  if (cooldownRemainingSeconds > 0 && actions.length > 0) {
    dropped.cooldown = actions.length;
    actions.length = 0;
  }

  const waiting = demand.filter((d) => d.waiting).length;
  const summary: ScaleUpSummary = {
    now: new Date(nowMs).toISOString(),
    windowMinutes,
    windowEnd: new Date(horizonMs).toISOString(),
    demand: { total: demand.length, waiting, upcoming: demand.length - waiting },
    supply: {
      running: counts.running,
      inFlight: counts.inFlight,
      stopped: counts.stopped,
      fleetSize: counts.fleetSize,
      serving: counts.serving,
    },
    overdueBoots: [...overdue].sort(),
    coveredBySupply: packing.covered.length,
    planned: { startStopped: packing.started.length, launch: packing.launched.length, topUp },
    deferred,
    dropped,
    unplaceable: packing.unplaced.map((d) => d.session.id),
    cooldownRemainingSeconds,
  };
  return { actions, summary, reason: scaleUpReason(summary, actions) };
}

/**
 * Room that placed sessions give back on the active workers: each session holding a placement
 * gives back its requirements and ports at its booked end. A session already past its booked end
 * is left out: it is tearing down, and its room counts once the teardown has released it (a slow
 * teardown must not make the planner count room that is not there).
 */
function releasesOf(sessions: readonly ScalingSession[], active: readonly Host[], nowMs: number): Release[] {
  const onActive = new Set(active.map((h) => h.workerId));
  const out: Release[] = [];
  for (const s of sessions) {
    if (!s.workerId || !onActive.has(s.workerId) || !ACTIVE_SESSION_STATUSES.includes(s.status)) continue;
    const atMs = parseInstant(s.timeslot?.end, `sessions.${s.id}.timeslot.end`);
    if (atMs <= nowMs) continue;
    out.push({
      workerId: s.workerId,
      atMs,
      need: requirementsAsCapacity(s.requirements),
      ports: s.portTemplate?.length ?? 0,
    });
  }
  return out;
}

function scaleUpReason(s: ScaleUpSummary, actions: readonly ScaleUpAction[]): string {
  const parts: string[] = [];
  parts.push(
    `${s.demand.total} session(s) need capacity within ${s.windowMinutes} min (${s.demand.waiting} waiting now); ${s.coveredBySupply} fit running or launching workers`,
  );
  const starts = actions.filter((a) => a.kind === 'START_STOPPED').length;
  const launches = new Map<string, number>();
  for (const a of actions)
    if (a.kind === 'LAUNCH') launches.set(a.templateName, (launches.get(a.templateName) ?? 0) + 1);
  if (actions.length === 0) parts.push('no action');
  if (starts > 0) parts.push(`start ${starts} stopped worker(s)`);
  if (launches.size > 0) {
    parts.push(`launch ${[...launches].map(([name, n]) => `${n} × ${name}`).join(', ')}`);
  }
  if (s.deferred.startStopped + s.deferred.launch > 0) {
    parts.push(`${s.deferred.startStopped + s.deferred.launch} host(s) deferred until nearer their sessions`);
  }
  if (s.dropped.cooldown > 0)
    parts.push(`cooldown: ${s.cooldownRemainingSeconds} s left, ${s.dropped.cooldown} action(s) held`);
  if (s.dropped.maxWorkers > 0) parts.push(`${s.dropped.maxWorkers} held by maxWorkers`);
  if (s.dropped.maxConcurrentLaunches > 0)
    parts.push(`${s.dropped.maxConcurrentLaunches} held by maxConcurrentLaunches`);
  if (s.unplaceable.length > 0) parts.push(`${s.unplaceable.length} session(s) fit no enabled template`);
  if (s.overdueBoots.length > 0)
    parts.push(`${s.overdueBoots.length} launch(es) past their expected boot time not counted as supply`);
  return parts.join('; ');
}
