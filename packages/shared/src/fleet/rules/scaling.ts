import type { Capacity, LabletSession, Worker, WorkerStatus, WorkerTemplate } from '../../kernel/index.ts';
import { addCapacity, requirementsAsCapacity, ValidationError, ZERO_CAPACITY } from '../../kernel/index.ts';
import { choosePlacement, type PlacementCandidate, type PlacementRequest } from './placement.ts';

/**
 * Fleet scaling rules (DESIGN §4, §7), pure: the scheduled scaler reads the fleet, the sessions
 * that need or hold capacity and the templates, calls these planners, then carries out and audits
 * the actions they return.
 *
 * Neither planner has placement rules of its own. Both pack demand by calling `choosePlacement`
 * (the very function the session workflow places with) on virtual copies of the fleet: workers
 * already launching are treated as RUNNING with their declared capacity, STOPPED workers as
 * startable, and new hosts as fresh workers built from a template.
 *
 * Fleet counts used by the limits:
 * - serving fleet = PENDING + PROVISIONING + STARTING + RUNNING (what `minWorkers` guarantees);
 * - fleet size = serving + DRAINING + STOPPING, i.e. every worker holding a running instance
 *   (what `maxWorkers` caps); STOPPED workers hold only their volumes and count toward neither;
 * - in flight = PENDING + PROVISIONING + STARTING (what `maxConcurrentLaunches` caps).
 */

export interface ScalingConfig {
  /** Serving fleet floor: scale-up tops up to it, scale-down never drains below it. Default 0. */
  minWorkers: number;
  /** Ceiling on the fleet size (workers holding a running instance). Default 100. */
  maxWorkers: number;
  /** Ceiling on workers launching or starting at once (in flight + this plan's actions). Default 20. */
  maxConcurrentLaunches: number;
  /**
   * No scale-up action within this many seconds of the previous one. Short by default (45 s, under
   * the 1-minute schedule) because the planner already counts in-flight workers as supply, so it does
   * not re-launch for demand it has covered; the cooldown only guards against a duplicated or
   * overlapping scaler run reading the fleet before the previous run's workers are visible.
   */
  cooldownSeconds: number;
  /**
   * The look-ahead window is the longest enabled template's boot time plus this margin. The margin
   * covers the session workflow's placement lead (it starts placing 10 min before the timeslot so the
   * 5-min instantiation finishes on time) and one scaler period. Default 10.
   */
  lookAheadMarginMinutes: number;
  /**
   * A worker must have been idle (no session) this long before it may be drained. Default 5: the
   * look-ahead check already keeps hosts that upcoming reservations need, so a longer wait only pays
   * for empty hosts (bench/fleet: 10 min costs ~1 % more with no on-time gain).
   */
  scaleDownIdleMinutes: number;
  /** A worker launched (or started) less than this long ago is never drained. Default 20. */
  postLaunchGraceMinutes: number;
  /**
   * At most max(1, floor(share × serving fleet)) drains per scale-down run. Default 0.5: half the
   * fleet at most, so one run cannot empty a fleet that a miscounted reservation still needs.
   */
  maxDrainShare: number;
  /**
   * STOPPED workers kept per template as warm capacity (started instead of launching); drained
   * workers beyond it are terminated, and so are STOPPED workers beyond it. Default 0: on the
   * fleet benchmark a warm host's volume (EBS) costs more than the boot minutes it saves, and the
   * look-ahead already hides the boot for all but short-notice bookings, which mostly find room on
   * running hosts (1 per template measured slightly dearer at the same on-time share). Raise it when
   * short-notice demand is common.
   */
  warmStoppedPerTemplate: number;
  /**
   * Minutes from starting a STOPPED worker until it is RUNNING. A START_STOPPED is deferred until
   * the earliest session it is for starts within this plus the margin (launches are deferred the
   * same way with their template's boot time), so a warm host is not paid for while it waits.
   * Default 8.
   */
  warmStartMinutes: number;
}

export const DEFAULT_SCALING_CONFIG: Readonly<ScalingConfig> = Object.freeze({
  minWorkers: 0,
  maxWorkers: 100,
  maxConcurrentLaunches: 20,
  cooldownSeconds: 45,
  lookAheadMarginMinutes: 10,
  scaleDownIdleMinutes: 5,
  postLaunchGraceMinutes: 20,
  maxDrainShare: 0.5,
  warmStoppedPerTemplate: 0,
  warmStartMinutes: 8,
});

/** What the planners read of a worker. */
export type ScalingWorker = Pick<
  Worker,
  | 'id'
  | 'templateName'
  | 'status'
  | 'license'
  | 'podType'
  | 'amiId'
  | 'amiName'
  | 'declaredCapacity'
  | 'allocatedCapacity'
  | 'portRange'
  | 'leasedPortCount'
> &
  Partial<Pick<Worker, 'desiredStatus' | 'launchedAt' | 'idleSince' | 'lastActivityAt' | 'createdAt'>>;

/** What the planners read of a session. */
export type ScalingSession = Pick<
  LabletSession,
  'id' | 'status' | 'timeslot' | 'requirements' | 'licenseAffinity' | 'podType'
> &
  Partial<Pick<LabletSession, 'workerId' | 'amiRequirement' | 'portTemplate' | 'placementRejections'>>;

/** What the planners read of a template. */
export type ScalingTemplate = Pick<
  WorkerTemplate,
  'name' | 'capacity' | 'costPerHourUsd' | 'bootMinutes' | 'licenseType' | 'podType' | 'enabled' | 'portRange'
> &
  Partial<Pick<WorkerTemplate, 'amiId' | 'amiNamePattern'>>;

export interface ScaleUpInput {
  /** ISO instant of this scaler run. */
  now: string;
  /** Sessions that need or hold capacity (at least: PENDING ones starting within the window). */
  sessions: readonly ScalingSession[];
  workers: readonly ScalingWorker[];
  templates: readonly ScalingTemplate[];
  config: ScalingConfig;
  /** ISO instant of the last scaler run that took a scale-up action (for the cooldown). */
  lastScaleUpAt?: string | undefined;
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

export interface ScaleDownInput {
  now: string;
  /** Sessions that hold capacity and those that will need it soon (PENDING within the window). */
  sessions: readonly ScalingSession[];
  workers: readonly ScalingWorker[];
  templates: readonly ScalingTemplate[];
  config: ScalingConfig;
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

const IN_FLIGHT: ReadonlySet<WorkerStatus> = new Set<WorkerStatus>(['PENDING', 'PROVISIONING', 'STARTING']);
const SERVING: ReadonlySet<WorkerStatus> = new Set<WorkerStatus>([...IN_FLIGHT, 'RUNNING']);
const HOLDING_INSTANCE: ReadonlySet<WorkerStatus> = new Set<WorkerStatus>([
  ...SERVING,
  'DRAINING',
  'STOPPING',
]);

const MINUTE = 60_000;

const CONFIG_INTEGERS = [
  'minWorkers',
  'maxWorkers',
  'maxConcurrentLaunches',
  'warmStoppedPerTemplate',
] as const satisfies ReadonlyArray<keyof ScalingConfig>;
const CONFIG_DURATIONS = [
  'cooldownSeconds',
  'lookAheadMarginMinutes',
  'scaleDownIdleMinutes',
  'postLaunchGraceMinutes',
  'warmStartMinutes',
] as const satisfies ReadonlyArray<keyof ScalingConfig>;

/** Throws a ValidationError naming the first bad field of a scaling configuration. */
export function validateScalingConfig(config: ScalingConfig): void {
  for (const f of CONFIG_INTEGERS) {
    const v = config?.[f];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      throw new ValidationError(`config.${f}`, `must be an integer >= 0, got ${String(v)}`);
    }
  }
  for (const f of CONFIG_DURATIONS) {
    const v = config[f];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new ValidationError(`config.${f}`, `must be a finite number >= 0, got ${String(v)}`);
    }
  }
  if (config.maxWorkers < config.minWorkers) {
    throw new ValidationError('config.maxWorkers', `must be >= minWorkers (${config.minWorkers})`);
  }
  const share = config.maxDrainShare;
  if (typeof share !== 'number' || !Number.isFinite(share) || share < 0 || share > 1) {
    throw new ValidationError('config.maxDrainShare', `must be a number in [0, 1], got ${String(share)}`);
  }
}

function parseInstant(value: string | undefined, field: string): number {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms))
    throw new ValidationError(field, `must be an ISO date-time, got ${String(value)}`);
  return ms;
}

/** Minutes ahead the planners look: the longest enabled template's boot time plus the margin. */
export function lookAheadMinutes(templates: readonly ScalingTemplate[], config: ScalingConfig): number {
  let boot = 0;
  for (const t of templates) if (t.enabled !== false && t.bootMinutes > boot) boot = t.bootMinutes;
  return boot + config.lookAheadMarginMinutes;
}

/** Fleet counts by the definitions at the top of this module. */
export function fleetCounts(workers: readonly ScalingWorker[]): {
  fleetSize: number;
  serving: number;
  inFlight: number;
  running: number;
  stopped: number;
} {
  let fleetSize = 0;
  let serving = 0;
  let inFlight = 0;
  let running = 0;
  let stopped = 0;
  for (const w of workers) {
    if (HOLDING_INSTANCE.has(w.status)) fleetSize++;
    if (SERVING.has(w.status)) serving++;
    if (IN_FLIGHT.has(w.status)) inFlight++;
    if (w.status === 'RUNNING') running++;
    if (w.status === 'STOPPED') stopped++;
  }
  return { fleetSize, serving, inFlight, running, stopped };
}

// ---------------------------------------------------------------------------------------------
// Packing: demand onto virtual workers, with choosePlacement deciding every single placement.
// ---------------------------------------------------------------------------------------------

interface Demand {
  session: ScalingSession;
  req: PlacementRequest;
  need: Capacity;
  startMs: number;
  /** Size relative to the largest enabled template, dominant dimension (for ordering and value). */
  work: number;
  waiting: boolean;
}

interface Host {
  cand: PlacementCandidate;
  origin: 'running' | 'inFlight' | 'stopped' | 'new';
  workerId?: string | undefined;
  templateName: string;
  template?: ScalingTemplate | undefined;
  sessions: Demand[];
}

const DIMS = ['cpuCores', 'memoryGb', 'storageGb', 'maxNodes'] as const;

function referenceCapacity(templates: readonly ScalingTemplate[]): Capacity {
  const ref = { ...ZERO_CAPACITY };
  for (const t of templates) for (const d of DIMS) if (t.capacity[d] > ref[d]) ref[d] = t.capacity[d];
  return ref;
}

function workOf(need: Capacity, ref: Capacity): number {
  let w = 0;
  for (const d of DIMS) if (ref[d] > 0 && need[d] / ref[d] > w) w = need[d] / ref[d];
  return w;
}

function placementRequest(s: ScalingSession): PlacementRequest {
  return {
    requirements: s.requirements,
    licenseAffinity: s.licenseAffinity ?? [],
    podType: s.podType,
    amiRequirement: s.amiRequirement,
    portsNeeded: s.portTemplate?.length ?? 0,
  };
}

/**
 * PENDING sessions without a worker whose timeslot starts before `horizonMs` and has not ended:
 * the waiting ones (start passed, or a placement attempt already failed) and the upcoming ones.
 * Ordered as the session workflow will place them: by timeslot start, larger first within one
 * start (first-fit decreasing per wave), then by id.
 */
function collectDemand(
  sessions: readonly ScalingSession[],
  nowMs: number,
  horizonMs: number,
  ref: Capacity,
): Demand[] {
  const out: Demand[] = [];
  for (const s of sessions) {
    if (s.status !== 'PENDING' || s.workerId) continue;
    const startMs = parseInstant(s.timeslot?.start, `sessions.${s.id}.timeslot.start`);
    if (startMs > horizonMs) continue;
    const endMs = parseInstant(s.timeslot.end, `sessions.${s.id}.timeslot.end`);
    if (endMs <= nowMs) continue;
    const need = requirementsAsCapacity(s.requirements);
    const waiting =
      startMs <= nowMs || (s.placementRejections !== undefined && s.placementRejections !== null);
    out.push({ session: s, req: placementRequest(s), need, startMs, work: workOf(need, ref), waiting });
  }
  out.sort(
    (a, b) =>
      a.startMs - b.startMs ||
      b.work - a.work ||
      (a.session.id < b.session.id ? -1 : a.session.id > b.session.id ? 1 : 0),
  );
  return out;
}

function virtualFromWorker(w: ScalingWorker): PlacementCandidate {
  return {
    id: w.id,
    status: 'RUNNING',
    license: w.license,
    podType: w.podType,
    amiId: w.amiId,
    amiName: w.amiName,
    declaredCapacity: w.declaredCapacity,
    allocatedCapacity: { ...w.allocatedCapacity },
    portRange: w.portRange,
    leasedPortCount: w.leasedPortCount ?? 0,
  };
}

/**
 * A fresh worker of `t` as placement would see it once RUNNING. Its AMI name is taken to be the
 * template's name pattern, so a definition's AMI glob matches when it matches that pattern text.
 */
function virtualFromTemplate(t: ScalingTemplate, id: string): PlacementCandidate {
  return {
    id,
    status: 'RUNNING',
    license: { type: t.licenseType, status: 'REGISTERED' },
    podType: t.podType,
    amiId: t.amiId,
    amiName: t.amiNamePattern,
    declaredCapacity: t.capacity,
    allocatedCapacity: { ...ZERO_CAPACITY },
    portRange: t.portRange,
    leasedPortCount: 0,
  };
}

function placeOn(host: Host, d: Demand): void {
  host.cand.allocatedCapacity = addCapacity(host.cand.allocatedCapacity, d.need);
  host.cand.leasedPortCount += d.req.portsNeeded;
  host.sessions.push(d);
}

/** Sessions of `queue` (in order) that one fresh host of `t` takes, first fit. */
function fillFresh(t: ScalingTemplate, queue: readonly Demand[]): Demand[] {
  const host: Host = {
    cand: virtualFromTemplate(t, 'probe'),
    origin: 'new',
    templateName: t.name,
    sessions: [],
  };
  const one = [host.cand];
  for (const d of queue) if (choosePlacement(d.req, one).placed) placeOn(host, d);
  return host.sessions;
}

const byCostThenName = (a: ScalingTemplate, b: ScalingTemplate): number =>
  a.costPerHourUsd - b.costPerHourUsd || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

interface Packing {
  /** STOPPED workers the packing starts, with the sessions it put on them. */
  started: Host[];
  /** New hosts, with their template and sessions. */
  launched: Host[];
  /** Sessions placed on running or in-flight capacity. */
  covered: Demand[];
  /** Sessions left over: nothing can host them (or new hosts were not allowed). */
  unplaced: Demand[];
}

/**
 * Packs `demand` in order. Each session first goes where choosePlacement puts it among the running
 * and in-flight workers. What is left is packed host by host: the contents of the next host are
 * what one fresh host of the template with the most work per dollar takes from the queue (first
 * fit, the queue head always included), and the host gets the cheapest enabled template whose shape
 * fits exactly those contents. A large template thus wins only when the queue nearly fills it;
 * otherwise smaller hosts are launched. That costs a little more at launch than judging templates
 * by how they would serve the whole queue, but smaller hosts strand less capacity when sessions
 * end at different times, and the fleet benchmark measured it ~1 % cheaper overall.
 *
 * A STOPPED worker that holds the same contents at no higher hourly cost is started instead of
 * that launch (its volume is already paid for and it boots faster); a larger, dearer stopped
 * worker is not started for demand that a cheaper launch serves.
 */
function pack(
  demand: readonly Demand[],
  active: Host[],
  stopped: Host[],
  templates: readonly ScalingTemplate[],
  allowNew: boolean,
): Packing {
  const activeCands = active.map((h) => h.cand);
  const byId = new Map<string, Host>();
  for (const h of active) byId.set(h.cand.id, h);
  const covered: Demand[] = [];
  let queue: Demand[] = [];
  for (const d of demand) {
    const r = choosePlacement(d.req, activeCands);
    if (r.placed) {
      placeOn(byId.get(r.workerId)!, d);
      covered.push(d);
    } else queue.push(d);
  }

  const started: Host[] = [];
  const launched: Host[] = [];
  const unplaced: Demand[] = [];
  if (!allowNew) return { started, launched, covered, unplaced: queue };

  const enabled = templates.filter((t) => t.enabled !== false).sort(byCostThenName);
  const costOf = (h: Host): number => h.template?.costPerHourUsd ?? Number.POSITIVE_INFINITY;
  const stoppedLeft = [...stopped].sort(
    (a, b) => costOf(a) - costOf(b) || (a.cand.id < b.cand.id ? -1 : a.cand.id > b.cand.id ? 1 : 0),
  );
  const holdsAll = (cand: PlacementCandidate, contents: readonly Demand[]): boolean => {
    const probe: Host = {
      cand: { ...cand, allocatedCapacity: { ...cand.allocatedCapacity } },
      origin: 'new',
      templateName: '',
      sessions: [],
    };
    for (const d of contents) {
      if (!choosePlacement(d.req, [probe.cand]).placed) return false;
      placeOn(probe, d);
    }
    return true;
  };

  while (queue.length > 0) {
    const first = queue[0]!;
    let best: { t: ScalingTemplate; contents: Demand[]; value: number } | undefined;
    for (const t of enabled) {
      if (!choosePlacement(first.req, [virtualFromTemplate(t, 'probe')]).placed) continue;
      const contents = fillFresh(t, queue);
      const work = contents.reduce((sum, d) => sum + d.work, 0);
      const value = t.costPerHourUsd > 0 ? work / t.costPerHourUsd : Number.POSITIVE_INFINITY;
      // `enabled` is sorted by cost, so on equal value the cheaper (then smaller name) stays.
      if (best === undefined || value > best.value) best = { t, contents, value };
    }

    let host: Host | undefined;
    let contents: Demand[];
    if (best !== undefined) {
      contents = best.contents;
      const shape =
        enabled.find((t) => t === best.t || fillFresh(t, contents).length === contents.length) ?? best.t;
      const i = stoppedLeft.findIndex((h) => costOf(h) <= shape.costPerHourUsd && holdsAll(h.cand, contents));
      if (i >= 0) {
        host = stoppedLeft.splice(i, 1)[0]!;
        started.push(host);
      } else {
        host = {
          cand: virtualFromTemplate(shape, `new-${launched.length + 1}`),
          origin: 'new',
          templateName: shape.name,
          template: shape,
          sessions: [],
        };
        launched.push(host);
      }
    } else {
      // No template takes the queue head; a stopped worker (e.g. an older AMI) still might.
      const i = stoppedLeft.findIndex((h) => holdsAll(h.cand, [first]));
      if (i < 0) {
        unplaced.push(first);
        queue = queue.slice(1);
        continue;
      }
      host = stoppedLeft.splice(i, 1)[0]!;
      started.push(host);
      const probe: Host = {
        cand: { ...host.cand, allocatedCapacity: { ...host.cand.allocatedCapacity } },
        origin: 'new',
        templateName: '',
        sessions: [],
      };
      for (const d of queue) if (choosePlacement(d.req, [probe.cand]).placed) placeOn(probe, d);
      contents = probe.sessions;
    }
    for (const d of contents) placeOn(host, d);
    const taken = new Set(contents);
    queue = queue.filter((d) => !taken.has(d));
  }
  return { started, launched, covered, unplaced };
}

function supplyHosts(
  workers: readonly ScalingWorker[],
  enabledByName: ReadonlyMap<string, ScalingTemplate>,
): { active: Host[]; stopped: Host[] } {
  const active: Host[] = [];
  const stopped: Host[] = [];
  for (const w of workers) {
    if (w.status === 'RUNNING' || IN_FLIGHT.has(w.status)) {
      active.push({
        cand: virtualFromWorker(w),
        origin: w.status === 'RUNNING' ? 'running' : 'inFlight',
        workerId: w.id,
        templateName: w.templateName,
        sessions: [],
      });
    } else if (w.status === 'STOPPED' && enabledByName.has(w.templateName)) {
      stopped.push({
        cand: virtualFromWorker(w),
        origin: 'stopped',
        workerId: w.id,
        templateName: w.templateName,
        template: enabledByName.get(w.templateName),
        sessions: [],
      });
    }
  }
  return { active, stopped };
}

const minutesText = (ms: number): string => `${Math.round(ms / MINUTE)} min`;

function sessionsText(hostSessions: readonly Demand[], nowMs: number): string {
  const first = Math.min(...hostSessions.map((d) => d.startMs));
  const when =
    first <= nowMs ? `started ${minutesText(nowMs - first)} ago` : `in ${minutesText(first - nowMs)}`;
  return `${hostSessions.length} session(s), first ${when}`;
}

/**
 * Scale-up planning. Demand = PENDING sessions waiting for capacity now plus those whose timeslot
 * starts within the look-ahead window (longest enabled boot time + margin); placed sessions are
 * already in their workers' allocated capacity. Supply = RUNNING workers, workers launching or
 * starting (as if RUNNING with their declared capacity), then STOPPED workers of enabled
 * templates (started in preference to a launch), then new hosts. Actions are ordered by the
 * earliest session they serve and cut by maxWorkers, maxConcurrentLaunches and the cooldown; a
 * host whose first session is further away than its start-up time plus the margin is deferred to
 * a later run. Finally the serving fleet is topped up to minWorkers.
 */
export function planScaleUp(input: ScaleUpInput): ScaleUpPlan {
  const cfg = input.config;
  validateScalingConfig(cfg);
  const nowMs = parseInstant(input.now, 'now');
  const enabled = input.templates.filter((t) => t.enabled !== false);
  const enabledByName = new Map(enabled.map((t) => [t.name, t]));
  const windowMinutes = lookAheadMinutes(input.templates, cfg);
  const horizonMs = nowMs + windowMinutes * MINUTE;
  const demand = collectDemand(input.sessions, nowMs, horizonMs, referenceCapacity(enabled));
  const counts = fleetCounts(input.workers);

  const { active, stopped } = supplyHosts(input.workers, enabledByName);
  const packing =
    demand.length > 0
      ? pack(demand, active, stopped, enabled, true)
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
    if (earliestMs - nowMs > (t.bootMinutes + cfg.lookAheadMarginMinutes) * MINUTE) {
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
    coveredBySupply: packing.covered.length,
    planned: { startStopped: packing.started.length, launch: packing.launched.length, topUp },
    deferred,
    dropped,
    unplaceable: packing.unplaced.map((d) => d.session.id),
    cooldownRemainingSeconds,
  };
  return { actions, summary, reason: scaleUpReason(summary, actions) };
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
  return parts.join('; ');
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
  const windowMinutes = lookAheadMinutes(input.templates, cfg);
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
