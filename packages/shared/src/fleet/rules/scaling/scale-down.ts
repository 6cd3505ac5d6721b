import {
  type BootSeconds,
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
import { collectDemand, pack, referenceCapacity, supplyHosts } from './packing.ts';

export interface ScaleDownInput {
  now: string;
  /** Sessions that hold capacity and those that will need it soon (PENDING within the window). */
  sessions: readonly ScalingSession[];
  workers: readonly ScalingWorker[];
  templates: readonly ScalingTemplate[];
  config: ScalingConfig;
  /** Observed boot seconds per template, as for planScaleUp (the look-ahead window). */
  bootSeconds?: BootSeconds | undefined;
}

export type ScaleDownAction =
  | { kind: 'DRAIN'; workerId: string; templateName: string; then: 'STOP' | 'TERMINATE'; reason: string }
  | { kind: 'TERMINATE'; workerId: string; templateName: string; reason: string };

export interface ScaleDownSummary {
  now: string;
  windowMinutes: number;
  serving: number;
  running: number;
  maxDrains: number;
  /** RUNNING workers not drained, by the first rule that kept them. */
  kept: {
    busy: number;
    idleTooShort: number;
    inGracePeriod: number;
    neededSoon: number;
    minWorkers: number;
    drainShare: number;
  };
  upcomingDemand: number;
  drains: number;
  stops: number;
  terminations: number;
}

export interface ScaleDownPlan {
  actions: ScaleDownAction[];
  summary: ScaleDownSummary;
  reason: string;
}

/**
 * Scale-down planning. Drains a worker only if it is RUNNING, no session (other than TERMINATED)
 * references it and nothing is allocated on it, it has been idle longer than scaleDownIdleMinutes,
 * it was launched longer ago than postLaunchGraceMinutes, the sessions starting within the
 * look-ahead window do not need it (they are packed onto the running and launching workers with
 * choosePlacement; a worker that receives one is kept), and the serving fleet stays at or above
 * minWorkers; at most max(1, floor(maxDrainShare × serving)) per run, longest idle first. A drained
 * worker is stopped while its template has fewer than warmStoppedPerTemplate STOPPED (or stopping)
 * workers, otherwise terminated; STOPPED workers beyond that number (or of a disabled template)
 * are terminated, most recently launched kept first.
 */
export function planScaleDown(input: ScaleDownInput): ScaleDownPlan {
  const cfg = input.config;
  validateScalingConfig(cfg);
  const nowMs = parseInstant(input.now, 'now');
  const enabled = input.templates.filter((t) => t.enabled !== false);
  const enabledByName = new Map(enabled.map((t) => [t.name, t]));
  const costOf = new Map(input.templates.map((t) => [t.name, t.costPerHourUsd]));
  validateBootSeconds(input.bootSeconds);
  const windowMinutes = lookAheadMinutes(input.templates, cfg, input.bootSeconds);
  const demand = collectDemand(
    input.sessions,
    nowMs,
    nowMs + windowMinutes * MINUTE,
    referenceCapacity(enabled),
  );
  const counts = fleetCounts(input.workers);

  const busy = new Set<string>();
  for (const s of input.sessions) if (s.workerId && s.status !== 'TERMINATED') busy.add(s.workerId);

  const needed = new Set<string>();
  if (demand.length > 0) {
    const { active } = supplyHosts(input.workers, enabledByName);
    pack(demand, active, [], enabled, false);
    for (const h of active) if (h.sessions.length > 0 && h.workerId) needed.add(h.workerId);
  }

  const kept = { busy: 0, idleTooShort: 0, inGracePeriod: 0, neededSoon: 0, minWorkers: 0, drainShare: 0 };
  const eligible: Array<{ w: ScalingWorker; idleMs: number }> = [];
  for (const w of input.workers) {
    if (w.status !== 'RUNNING') continue;
    if (busy.has(w.id) || !isEmpty(w)) {
      kept.busy++;
      continue;
    }
    const idleFrom = w.idleSince ?? w.lastActivityAt ?? w.launchedAt ?? w.createdAt;
    const idleMs = idleFrom === undefined ? 0 : nowMs - parseInstant(idleFrom, `workers.${w.id}.idleSince`);
    if (idleMs <= cfg.scaleDownIdleMinutes * MINUTE) {
      kept.idleTooShort++;
      continue;
    }
    const launchedFrom = w.launchedAt ?? w.createdAt;
    const sinceLaunchMs =
      launchedFrom === undefined ? 0 : nowMs - parseInstant(launchedFrom, `workers.${w.id}.launchedAt`);
    if (sinceLaunchMs <= cfg.postLaunchGraceMinutes * MINUTE) {
      kept.inGracePeriod++;
      continue;
    }
    if (needed.has(w.id)) {
      kept.neededSoon++;
      continue;
    }
    eligible.push({ w, idleMs });
  }
  eligible.sort(
    (a, b) =>
      b.idleMs - a.idleMs ||
      (costOf.get(b.w.templateName) ?? 0) - (costOf.get(a.w.templateName) ?? 0) ||
      (a.w.id < b.w.id ? -1 : a.w.id > b.w.id ? 1 : 0),
  );

  const maxDrains = Math.max(1, Math.floor(cfg.maxDrainShare * counts.serving));
  // Warm pool per template: STOPPED workers, plus those on their way there (pending).
  const stoppedNow = new Map<string, number>();
  const pending = new Map<string, number>();
  for (const w of input.workers) {
    if (w.status === 'STOPPED') stoppedNow.set(w.templateName, (stoppedNow.get(w.templateName) ?? 0) + 1);
    const goingToStop = w.status === 'STOPPING' || (w.status === 'DRAINING' && w.desiredStatus === 'STOPPED');
    if (goingToStop) pending.set(w.templateName, (pending.get(w.templateName) ?? 0) + 1);
  }
  const actions: ScaleDownAction[] = [];
  let serving = counts.serving;
  let drains = 0;
  let stops = 0;
  for (const { w, idleMs } of eligible) {
    if (serving - 1 < cfg.minWorkers) {
      kept.minWorkers++;
      continue;
    }
    if (drains >= maxDrains) {
      kept.drainShare++;
      continue;
    }
    const inPool = (stoppedNow.get(w.templateName) ?? 0) + (pending.get(w.templateName) ?? 0);
    const stop = enabledByName.has(w.templateName) && inPool < cfg.warmStoppedPerTemplate;
    if (stop) {
      pending.set(w.templateName, (pending.get(w.templateName) ?? 0) + 1);
      stops++;
    }
    drains++;
    serving--;
    actions.push({
      kind: 'DRAIN',
      workerId: w.id,
      templateName: w.templateName,
      // biome-ignore lint/suspicious/noThenProperty: the issue names it `then`; a string, never a thenable
      then: stop ? 'STOP' : 'TERMINATE',
      reason: `idle ${minutesText(idleMs)} (> ${cfg.scaleDownIdleMinutes} min), no sessions, not needed within ${windowMinutes} min; ${
        stop
          ? `stop as warm capacity (${inPool + 1}/${cfg.warmStoppedPerTemplate} for ${w.templateName})`
          : `terminate (warm pool for ${w.templateName} full or template disabled)`
      }`,
    });
  }

  // Warm pool: keep the most recently launched STOPPED workers per enabled template.
  const stoppedByTemplate = new Map<string, ScalingWorker[]>();
  for (const w of input.workers) {
    if (w.status !== 'STOPPED') continue;
    const list = stoppedByTemplate.get(w.templateName) ?? [];
    list.push(w);
    stoppedByTemplate.set(w.templateName, list);
  }
  let terminations = 0;
  for (const [name, list] of [...stoppedByTemplate].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const keep = enabledByName.has(name)
      ? Math.max(0, cfg.warmStoppedPerTemplate - (pending.get(name) ?? 0))
      : 0;
    list.sort((a, b) => {
      const la = a.launchedAt ?? a.createdAt ?? '';
      const lb = b.launchedAt ?? b.createdAt ?? '';
      return la < lb ? 1 : la > lb ? -1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    });
    for (const w of list.slice(keep)) {
      terminations++;
      actions.push({
        kind: 'TERMINATE',
        workerId: w.id,
        templateName: name,
        reason: enabledByName.has(name)
          ? `stopped ${name} workers exceed the warm pool of ${cfg.warmStoppedPerTemplate}`
          : `template ${name} is disabled or unknown: no warm capacity kept`,
      });
    }
  }

  const summary: ScaleDownSummary = {
    now: new Date(nowMs).toISOString(),
    windowMinutes,
    serving: counts.serving,
    running: counts.running,
    maxDrains,
    kept,
    upcomingDemand: demand.length,
    drains,
    stops,
    terminations,
  };
  const reason =
    actions.length === 0
      ? `no worker to drain: ${counts.running} running (${kept.busy} busy, ${kept.idleTooShort} idle too briefly, ${kept.inGracePeriod} just launched, ${kept.neededSoon} needed within ${windowMinutes} min, ${kept.minWorkers} kept for minWorkers, ${kept.drainShare} over the drain share)`
      : `drain ${drains} (${stops} to stop, ${drains - stops} to terminate), terminate ${terminations} stopped; serving fleet ${counts.serving} → ${counts.serving - drains} (min ${cfg.minWorkers})`;
  return { actions, summary, reason };
}

function isEmpty(w: ScalingWorker): boolean {
  const a = w.allocatedCapacity;
  return (
    a.cpuCores === 0 &&
    a.memoryGb === 0 &&
    a.storageGb === 0 &&
    a.maxNodes === 0 &&
    (w.leasedPortCount ?? 0) === 0
  );
}
