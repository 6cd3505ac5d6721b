/**
 * Fleet simulator: a discrete-event simulation on a virtual clock (integer minutes) that drives the
 * real planners (planScaleUp, planScaleDown), the real placement rule (choosePlacement), the real
 * capacity arithmetic, worker factory and transition tables over a reservation trace.
 *
 * Model (stated in docs/benchmarks.md):
 * - a session's workflow starts placing `placeLeadMinutes` before its timeslot and retries every
 *   minute; once placed it instantiates from `instantiateMinutes` before the start (or at once if
 *   placed later) and is READY when that finishes; it gives up (NO_CAPACITY) when it could no
 *   longer be READY before its timeslot ends; the learner uses the whole slot, then teardown holds
 *   the capacity for `teardownMinutes`;
 * - a launched host costs its template's hourly price from launch until it is stopped or
 *   terminated and is RUNNING after the template's boot time; a STOPPED host costs only its EBS
 *   volume (template storage × `ebsUsdPerGbMonth`) and is RUNNING `warmStartMinutes` after a start;
 *   a drain of an empty host takes `stopMinutes` to STOPPED or `terminateMinutes` to TERMINATED;
 * - the scaler runs scale-up every `scaleUpEveryMinutes` and scale-down every
 *   `scaleDownEveryMinutes`, after the minute's placements.
 */

import {
  type BootSeconds,
  choosePlacement,
  DEFAULT_FLEET_CONFIG,
  DEFAULT_SCALING_CONFIG,
  type FleetConfig,
  lookAheadMinutes,
  observedBootSeconds,
  type PlacementRequest,
  planScaleDown,
  planScaleUp,
  type ScalingConfig,
  type ScalingSession,
} from '@lcm/shared/fleet';
import type { Capacity, SessionStatus, Worker, WorkerStatus, WorkerTemplate } from '@lcm/shared/kernel';
import {
  addCapacity,
  assertSessionTransition,
  assertWorkerTransition,
  newWorkerFromTemplate,
  requirementsAsCapacity,
  subtractCapacity,
} from '@lcm/shared/kernel';
import {
  DEFAULT_LIFECYCLE_CONFIG,
  type LifecycleConfig,
  loginDeadlineMs,
  placementRetryDelaySeconds,
  placementWindowOpensAt,
} from '@lcm/shared/sessions';
import { FLEET_SCHEDULES } from '../../functions/catalogue.ts';
import { type DemandInterval, instants, sessionIntervals, singleTemplateBound } from './lower-bound.ts';
import { MINUTES_PER_WEEK, prng, type Reservation, type Trace } from './trace.ts';
import { launchOutcome, type World, type WorldReservation, worldDemandIntervals } from './world.ts';

export const POLICIES = ['one-per-session', 'reactive', 'reactive-headroom', 'scheduled', 'lcm'] as const;
export type PolicyName = (typeof POLICIES)[number];

/** Minutes of an EventBridge `rate(n minute[s])` expression (the scalers' schedules). */
export function rateMinutes(expression: string): number {
  const m = /^rate\((\d+) (minute|minutes|hour|hours)\)$/.exec(expression);
  if (!m) throw new Error(`unsupported schedule expression ${expression}`);
  return Number(m[1]) * (m[2]!.startsWith('hour') ? 60 : 1);
}
const scheduleMinutes = (name: string): number => {
  const spec = FLEET_SCHEDULES.find((f) => f.name === name);
  if (!spec) throw new Error(`no ${name} schedule in functions/catalogue.ts`);
  return rateMinutes(spec.schedule);
};

/**
 * The session workflow's placement retry delay after `failures` failed attempts (seconds) while the
 * slot is far ahead: production's placementRetryDelaySeconds (PlaceSession,
 * packages/shared/src/sessions/steps/place.ts), whose backoff is base · 2^failures, capped. The
 * simulator calls that rule itself with each attempt's instant and slot; test/unit/fleet-timing.test.ts
 * checks the backoff against the config.
 */
export function placementRetrySeconds(failures: number, lifecycle: LifecycleConfig): number {
  const far = 365 * 86_400_000;
  return placementRetryDelaySeconds(failures, 0, { startMs: far, endMs: far + 3_600_000 }, lifecycle);
}

/** Whether a trace is a realistic World (world.ts): launches and learners then follow its draws. */
const isWorld = (t: Trace): t is World => 'episode' in t && 'options' in t;

export interface SimOptions {
  config: ScalingConfig;
  /**
   * The session workflow's timing: the placement window (placementWindowOpensAt), the retry
   * backoff and the instantiation lead are production's LifecycleConfig, not copies.
   */
  lifecycle: LifecycleConfig;
  /** The provisioning bound: CML must be ready within the template's boot minutes plus this margin. */
  fleet: Pick<FleetConfig, 'cmlReadyMarginMinutes'>;
  /** How long importing and starting a lab takes (the instantiation itself). */
  instantiateMinutes: number;
  teardownMinutes: number;
  warmStartMinutes: number;
  stopMinutes: number;
  terminateMinutes: number;
  ebsUsdPerGbMonth: number;
  scaleUpEveryMinutes: number;
  scaleDownEveryMinutes: number;
  /** Extra boot minutes per launch, uniform in [0, bootJitterMinutes] (0 = boot exactly as the template says). */
  bootJitterMinutes: number;
  /** reactive-headroom: spare empty hosts (running or booting) kept on top of the reactive fleet. */
  headroomHosts: number;
  /**
   * Pass the planners each template's observed boot duration (p95 of its last `bootSamples` boots,
   * padded with the template's figure while fewer), as item 5 of issue 10 asks.
   */
  observedBoots: boolean;
  bootSamples: number;
  /** When > 0, sample the fleet every this many minutes into `timeline` (for analysis). */
  timelineEveryMinutes: number;
  /** Seed for the order in which one minute's placement attempts run (they race in production). */
  seed: number;
  /**
   * Pass the session's timeslot end and the worker's latest session end to choosePlacement, as
   * production does (false = the end-time-blind placement of before, for comparison).
   */
  endTimeAware: boolean;
}

export const DEFAULT_SIM_OPTIONS: SimOptions = {
  config: { ...DEFAULT_SCALING_CONFIG },
  lifecycle: DEFAULT_LIFECYCLE_CONFIG,
  fleet: DEFAULT_FLEET_CONFIG,
  instantiateMinutes: 5,
  teardownMinutes: 5,
  warmStartMinutes: DEFAULT_SCALING_CONFIG.warmStartMinutes,
  stopMinutes: 3,
  terminateMinutes: 1,
  ebsUsdPerGbMonth: 0.08,
  scaleUpEveryMinutes: scheduleMinutes('scale-up'),
  scaleDownEveryMinutes: scheduleMinutes('scale-down'),
  headroomHosts: 0,
  observedBoots: true,
  bootSamples: 20,
  timelineEveryMinutes: 0,
  bootJitterMinutes: 0,
  seed: 7,
  endTimeAware: true,
};

export interface PolicyResult {
  policy: PolicyName;
  sessions: number;
  hostHours: number;
  stoppedHostHours: number;
  cost: number;
  runningCost: number;
  ebsCost: number;
  /**
   * The single-template yardstick (lower-bound.ts), not a lower bound for a mixed fleet: the
   * bounds (bounds.ts) are async and policy-independent, so the benchmark computes them once per
   * trace from `simDemandIntervals`.
   */
  singleTemplateBoundCost: number;
  singleTemplateBoundHostHours: number;
  costRatioSingleTemplate: number;
  /** The yardstick counting timeslots only (no instantiation or teardown footprint). */
  timeslotSingleTemplateBoundCost: number;
  costRatioSingleTemplateToTimeslots: number;
  onTimeShare: number;
  late: number;
  /** The late sessions: booking lead, lateness (a failed session: its slot) and kind (analysis). */
  lateSessions: Array<{
    id: string;
    leadMinutes: number;
    latenessMinutes: number;
    kind?: string | undefined;
  }>;
  /** Late sessions booked less than look-ahead window before their start. */
  lateShortNotice: number;
  failed: number;
  p50LatenessMinutes: number;
  p95LatenessMinutes: number;
  maxLatenessMinutes: number;
  launches: number;
  /** Launches that never served: InsufficientInstanceCapacity, or a boot that timed out. */
  failedLaunches: number;
  cancelled: number;
  /** Session status changes plus workflow retry waits (a proxy for Step Functions transitions). */
  stateTransitions: number;
  warmStarts: number;
  drains: number;
  stoppedTerminations: number;
  peakHosts: number;
  /** Cost split by what the billed hosts were doing (sums to runningCost). */
  costBreakdown: {
    booting: number;
    idle: number;
    busy: number;
    draining: number;
    unusedOnBusy: number;
    /** Of `idle`: RUNNING hosts that have not held a session yet since they became RUNNING. */
    idleBeforeFirst: number;
    /** Of `idle`: RUNNING hosts emptied by their last session, until drained (or reused). */
    idleAfterLast: number;
    /** Of `busy`: the share of the dominant dimension held by no-shows after their timeslot start. */
    heldByNoShows: number;
    /** Of `booting`: launches whose host never became ready (billed until noticed). */
    failedBoots: number;
  };
  hostHoursByTemplate: Record<string, number>;
  scaleUpRuns: number;
  scaleDownRuns: number;
  simulatedWeeks: number;
  timeline?: Array<{
    minute: number;
    costPerHour: number;
    billedHosts: number;
    allocatedMemoryGb: number;
    runningMemoryGb: number;
  }>;
  wallMs: number;
  wallMsPerSimulatedWeek: number;
}

interface SimWorker {
  w: Worker;
  t: WorkerTemplate;
  sessions: number;
  /** Latest timeslot end (minute) of the sessions placed since the worker was last empty. */
  latestEnd: number | undefined;
  /** Whether the host held a session since it last became RUNNING (cost split only). */
  served: boolean;
  /** Whether its boot never completes (cost split only). */
  doomed: boolean;
  /** Capacity held on it by no-shows whose timeslot has started (cost split only). */
  noShowHeld: Capacity;
  runningSince: number | undefined;
  stoppedSince: number | undefined;
}

interface SimSession {
  r: Reservation;
  s: ScalingSession;
  req: PlacementRequest;
  need: Capacity;
  worker: SimWorker | undefined;
  own: SimWorker | undefined;
  readyAt: number | undefined;
  failed: boolean;
  /** Whether its capacity counts in its worker's noShowHeld (cost split only). */
  heldAsNoShow: boolean;
  /** Second of the next placement attempt, and the failed attempts so far (the backoff). */
  nextAtSec: number;
  failures: number;
  cancelled: boolean;
}

type Handler = () => void;
/** Order of events within one minute. */
const PRIORITY = { host: 0, release: 1, visible: 2, open: 3, ready: 4, end: 5 } as const;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

/**
 * The physical footprint of the trace's sessions as the simulator models it: instantiation
 * before the timeslot, teardown after (what the bounds of bounds.ts integrate).
 */
export function simDemandIntervals(trace: Trace, options: Partial<SimOptions> = {}): DemandInterval[] {
  const o = { ...DEFAULT_SIM_OPTIONS, ...options };
  if (isWorld(trace)) return worldDemandIntervals(trace, o.instantiateMinutes, o.teardownMinutes);
  return sessionIntervals(trace.reservations, trace.definitions, o.instantiateMinutes, o.teardownMinutes);
}

export function simulate(trace: Trace, policy: PolicyName, options: Partial<SimOptions> = {}): PolicyResult {
  const o: SimOptions = { ...DEFAULT_SIM_OPTIONS, ...options };
  const cfg = o.config;
  const began = performance.now();
  const epochMs = Date.parse(trace.epoch);
  const iso = (min: number): string => new Date(epochMs + min * 60_000).toISOString();
  const templates = trace.templates;
  const templateByName = new Map(templates.map((t) => [t.name, t]));
  const defs = new Map(trace.definitions.map((d) => [d.id, d]));
  const world = isWorld(trace) ? trace : undefined;
  const lc = o.lifecycle;
  const instantiateLead = lc.instantiateLeadSeconds / 60;
  /** Minute the session's placement window opens: production's placementWindowOpensAt. */
  const windowOpens = (r: Reservation): number =>
    Math.floor((placementWindowOpensAt(iso(r.start), lc) - epochMs) / 60_000);
  // Observed boots per template (minutes), for the planners' bootSeconds.
  const boots = new Map<string, number[]>();
  const bootSeconds = (): BootSeconds | undefined => {
    if (!o.observedBoots) return undefined;
    // Production's rule (fleet/rules/boot-durations.ts), as the scalers call it.
    const out: Record<string, number> = {};
    for (const t of templates) {
      const seen = (boots.get(t.name) ?? []).map((m) => m * 60);
      out[t.name] = observedBootSeconds(seen, t.bootMinutes * 60, { lastN: o.bootSamples });
    }
    return out;
  };
  // The widest window the planners may use (observed boots may exceed the templates' figures).
  const window = lookAheadMinutes(templates, cfg);
  const queryHorizon = window + 30;
  const rand = prng(o.seed);
  const jitter = prng(o.seed + 1);

  // ---- event queue: one bucket per minute ----
  const buckets = new Map<number, Array<{ p: number; fn: Handler }>>();
  const at = (min: number, p: number, fn: Handler): void => {
    const b = buckets.get(min);
    if (b) b.push({ p, fn });
    else buckets.set(min, [{ p, fn }]);
  };

  /** Placements run after the minute's events, so what they schedule for this minute runs at once. */
  const atOrNow = (now: number, min: number, p: number, fn: Handler): void => {
    if (min <= now) fn();
    else at(min, p, fn);
  };

  // ---- fleet ----
  const fleet = new Set<SimWorker>();
  const byId = new Map<string, SimWorker>();
  let running: Worker[] = [];
  const refreshRunning = (): void => {
    running = [];
    for (const sw of fleet) if (sw.w.status === 'RUNNING') running.push(sw.w);
  };
  let workerSeq = 0;
  let hostMinutesCost = 0;
  let hostMinutes = 0;
  let stoppedMinutes = 0;
  let ebsCost = 0;
  let launches = 0;
  let failedLaunches = 0;
  let launchIndex = 0;
  let transitions = 0;
  let warmStarts = 0;
  let drains = 0;
  let stoppedTerminations = 0;
  let peakHosts = 0;
  let scaleUpRuns = 0;
  let scaleDownRuns = 0;
  let lastScaleUpAt: string | undefined;
  const breakdown = {
    booting: 0,
    idle: 0,
    busy: 0,
    draining: 0,
    unusedOnBusy: 0,
    idleBeforeFirst: 0,
    idleAfterLast: 0,
    heldByNoShows: 0,
    failedBoots: 0,
  };
  const byTemplate = new Map<string, number>();
  const timeline: NonNullable<PolicyResult['timeline']> = [];

  const setStatus = (sw: SimWorker, to: WorkerStatus, now: number): void => {
    assertWorkerTransition(sw.w.status, to);
    sw.w.status = to;
    sw.w.updatedAt = iso(now);
  };
  const ebsPerMinute = (t: WorkerTemplate): number => (t.capacity.storageGb * o.ebsUsdPerGbMonth) / 730 / 60;
  const stopBilling = (sw: SimWorker, now: number): void => {
    if (sw.runningSince === undefined) return;
    const minutes = now - sw.runningSince;
    hostMinutes += minutes;
    hostMinutesCost += (minutes * sw.t.costPerHourUsd) / 60;
    sw.runningSince = undefined;
  };
  const stopEbs = (sw: SimWorker, now: number): void => {
    if (sw.stoppedSince === undefined) return;
    stoppedMinutes += now - sw.stoppedSince;
    ebsCost += (now - sw.stoppedSince) * ebsPerMinute(sw.t);
    sw.stoppedSince = undefined;
  };
  const countHosts = (): void => {
    let n = 0;
    for (const sw of fleet) if (sw.runningSince !== undefined) n++;
    if (n > peakHosts) peakHosts = n;
  };
  const becomeRunning = (sw: SimWorker, now: number): void => {
    setStatus(sw, 'RUNNING', now);
    sw.w.serviceStatus = 'AVAILABLE';
    sw.w.license = { type: sw.t.licenseType, status: 'REGISTERED' };
    if (sw.sessions === 0) sw.w.idleSince = iso(now);
    sw.served = sw.sessions > 0;
    refreshRunning();
  };

  /** Cheapest enabled template other than `t` that holds at least `t`'s capacity (the launch fallback). */
  const fallbackOf = (t: WorkerTemplate, tried: ReadonlySet<string>): WorkerTemplate | undefined =>
    [...templates]
      .filter(
        (u) =>
          u.enabled !== false &&
          !tried.has(u.name) &&
          (['cpuCores', 'memoryGb', 'storageGb', 'maxNodes'] as const).every(
            (d) => u.capacity[d] >= t.capacity[d],
          ),
      )
      .sort((a, b) => a.costPerHourUsd - b.costPerHourUsd)[0];

  const launch = (t0: WorkerTemplate, now: number): SimWorker | undefined => {
    let t = t0;
    let boot = t.bootMinutes;
    let ok = true;
    if (world) {
      // InsufficientInstanceCapacity fails the launch call itself (nothing billed); provisioning
      // then tries the next-cheapest template that holds as much (issue 10, item 5).
      const tried = new Set<string>();
      for (;;) {
        const out = launchOutcome(world, launchIndex++, t.name, now);
        if (out.result !== 'insufficient-capacity') {
          boot = out.bootMinutes;
          ok = out.result === 'ready';
          break;
        }
        failedLaunches++;
        tried.add(t.name);
        const next = fallbackOf(t, tried);
        if (!next) return undefined;
        t = next;
      }
    } else if (o.bootJitterMinutes > 0) boot += Math.floor(jitter() * (o.bootJitterMinutes + 1));
    const w = newWorkerFromTemplate(t, `w-${String(++workerSeq).padStart(5, '0')}`, iso(now));
    w.amiName = 'cml-2.9.1-lcm-2026-01';
    const sw: SimWorker = {
      w,
      t,
      sessions: 0,
      latestEnd: undefined,
      served: false,
      doomed: !ok || boot > t.bootMinutes + o.fleet.cmlReadyMarginMinutes,
      noShowHeld: { cpuCores: 0, memoryGb: 0, storageGb: 0, maxNodes: 0 },
      runningSince: now,
      stoppedSince: undefined,
    };
    fleet.add(sw);
    byId.set(w.id, sw);
    setStatus(sw, 'PROVISIONING', now);
    w.launchedAt = iso(now);
    launches++;
    countHosts();
    // The provisioning bound (fleet/deps.ts): boot minutes + cmlReadyMarginMinutes; a host not
    // ready by then ends FAILED with its instance terminated, and the scaler launches again.
    const bound = t.bootMinutes + o.fleet.cmlReadyMarginMinutes;
    if (!ok || boot > bound) {
      at(now + bound, PRIORITY.host, () => {
        if (sw.w.status !== 'PROVISIONING') return;
        setStatus(sw, 'FAILED', now + bound);
        stopBilling(sw, now + bound);
        fleet.delete(sw);
        failedLaunches++;
      });
      return sw;
    }
    at(now + boot, PRIORITY.host, () => {
      if (sw.w.status !== 'PROVISIONING') return;
      setStatus(sw, 'STARTING', now + boot);
      becomeRunning(sw, now + boot);
      const seen = boots.get(t.name) ?? [];
      seen.push(boot);
      boots.set(t.name, seen);
    });
    return sw;
  };
  const startStopped = (sw: SimWorker, now: number): void => {
    setStatus(sw, 'STARTING', now);
    stopEbs(sw, now);
    sw.runningSince = now;
    sw.w.launchedAt = iso(now);
    sw.w.desiredStatus = undefined;
    warmStarts++;
    countHosts();
    at(now + o.warmStartMinutes, PRIORITY.host, () => {
      if (sw.w.status === 'STARTING') becomeRunning(sw, now + o.warmStartMinutes);
    });
  };
  const drain = (sw: SimWorker, then: 'STOP' | 'TERMINATE', now: number): void => {
    if (sw.w.status !== 'RUNNING' || sw.sessions > 0) {
      throw new Error(`invariant: drain of ${sw.w.id} (${sw.w.status}, ${sw.sessions} sessions)`);
    }
    setStatus(sw, 'DRAINING', now);
    sw.w.desiredStatus = then === 'STOP' ? 'STOPPED' : 'TERMINATED';
    drains++;
    refreshRunning();
    // The drain workflow finds no sessions and proceeds at once.
    if (then === 'STOP') {
      setStatus(sw, 'STOPPING', now);
      at(now + o.stopMinutes, PRIORITY.host, () => {
        const t = now + o.stopMinutes;
        setStatus(sw, 'STOPPED', t);
        stopBilling(sw, t);
        sw.stoppedSince = t;
      });
    } else {
      setStatus(sw, 'SHUTTING_DOWN', now);
      at(now + o.terminateMinutes, PRIORITY.host, () => {
        const t = now + o.terminateMinutes;
        setStatus(sw, 'TERMINATED', t);
        stopBilling(sw, t);
        fleet.delete(sw);
      });
    }
  };
  const terminateStopped = (sw: SimWorker, now: number): void => {
    setStatus(sw, 'SHUTTING_DOWN', now);
    setStatus(sw, 'TERMINATED', now);
    stopEbs(sw, now);
    stoppedTerminations++;
    fleet.delete(sw);
  };

  // ---- sessions ----
  const all: SimSession[] = [];
  const visible = new Set<SimSession>();
  const placing = new Set<SimSession>();
  const setSession = (ss: SimSession, to: SessionStatus): void => {
    assertSessionTransition(ss.s.status, to);
    ss.s.status = to;
    transitions++;
  };

  const release = (ss: SimSession, now: number, terminate = true): void => {
    const sw = ss.worker;
    if (terminate) setSession(ss, 'TERMINATED');
    visible.delete(ss);
    if (sw) {
      if (ss.heldAsNoShow) {
        sw.noShowHeld = subtractCapacity(sw.noShowHeld, ss.need);
        ss.heldAsNoShow = false;
      }
      sw.w.allocatedCapacity = subtractCapacity(sw.w.allocatedCapacity, ss.need);
      sw.w.leasedPortCount -= ss.req.portsNeeded;
      sw.sessions--;
      sw.w.lastActivityAt = iso(now);
      if (sw.sessions === 0) {
        sw.w.idleSince = iso(now);
        // As the placement store does when a release empties the worker.
        sw.latestEnd = undefined;
        sw.w.latestSessionEnd = undefined;
      }
    }
    if (policy === 'one-per-session' && ss.own) {
      const own = ss.own;
      if (own.w.status === 'RUNNING') drain(own, 'TERMINATE', now);
      else if (own.w.status === 'PROVISIONING' || own.w.status === 'STARTING') {
        setStatus(own, 'SHUTTING_DOWN', now);
        setStatus(own, 'TERMINATED', now);
        stopBilling(own, now);
        fleet.delete(own);
        drains++;
      }
    }
  };

  const tryPlace = (ss: SimSession, now: number): void => {
    const r = ss.r;
    let candidates: readonly Worker[] = running;
    if (policy === 'one-per-session') candidates = ss.own?.w.status === 'RUNNING' ? [ss.own.w] : [];
    const result = choosePlacement(ss.req, candidates);
    transitions += 3; // PlaceSession task, its Choice and the Wait (or the next state)
    if (!result.placed) {
      ss.s.placementRejections = result.rejections;
      if (now >= r.end) {
        // The timeslot is lost: NO_CAPACITY (teardown has nothing to release).
        placing.delete(ss);
        ss.failed = true;
        release(ss, now);
        return;
      }
      // PlaceSession's retry delay (production's rule): backoff, never past the instantiation due
      // time nor the timeslot end.
      const attemptSec = Math.max(ss.nextAtSec, now * 60);
      const delay = placementRetryDelaySeconds(
        ss.failures,
        epochMs + attemptSec * 1000,
        { startMs: epochMs + r.start * 60_000, endMs: epochMs + r.end * 60_000 },
        lc,
      );
      ss.failures++;
      ss.nextAtSec = attemptSec + delay;
      return;
    }
    const sw = byId.get(result.workerId)!;
    sw.w.allocatedCapacity = addCapacity(sw.w.allocatedCapacity, ss.need);
    sw.w.leasedPortCount += ss.req.portsNeeded;
    sw.sessions++;
    sw.served = true;
    sw.w.idleSince = undefined;
    sw.w.lastActivityAt = iso(now);
    if (o.endTimeAware && (sw.latestEnd === undefined || r.end > sw.latestEnd)) {
      // As the placement transaction does: latestSessionEnd = max(current, timeslot end).
      sw.latestEnd = r.end;
      sw.w.latestSessionEnd = iso(r.end);
    }
    ss.worker = sw;
    ss.s.workerId = sw.w.id;
    ss.s.placementRejections = undefined;
    setSession(ss, 'SCHEDULED');
    placing.delete(ss);
    // Instantiation starts instantiateLeadSeconds before the timeslot (or at once when later).
    const instantiateAt = Math.max(now, Math.ceil(r.start - instantiateLead));
    const readyAt = instantiateAt + o.instantiateMinutes;
    atOrNow(now, instantiateAt, PRIORITY.ready, () => {
      if (!ss.cancelled) setSession(ss, 'INSTANTIATING');
    });
    atOrNow(now, readyAt, PRIORITY.ready, () => {
      if (ss.cancelled) return;
      setSession(ss, 'READY');
      setSession(ss, 'RUNNING');
      ss.readyAt = readyAt;
    });
    if ((r as Partial<WorldReservation>).noShow) {
      // Cost split: from its start a no-show's capacity serves nobody.
      atOrNow(now, Math.max(readyAt, r.start), PRIORITY.ready, () => {
        if (ss.cancelled || ss.worker !== sw) return;
        sw.noShowHeld = addCapacity(sw.noShowHeld, ss.need);
        ss.heldAsNoShow = true;
      });
    }
    // The learner ends the session (early, or with the slot); a no-show's session ends NO_SHOW at
    // production's login deadline (loginDeadlineMs: noShowAfterSeconds after the start, at most the end).
    const noShowEnds = Math.ceil(
      (loginDeadlineMs({ start: iso(r.start), end: iso(r.end) }, lc) - epochMs) / 60_000,
    );
    const ends = Math.max(
      readyAt,
      (r as Partial<WorldReservation>).noShow
        ? noShowEnds
        : ((r as Partial<WorldReservation>).actualEnd ?? r.end),
    );
    at(ends, PRIORITY.end, () => {
      if (ss.cancelled) return;
      setSession(ss, 'STOPPING');
      at(ends + o.teardownMinutes, PRIORITY.release, () => release(ss, ends + o.teardownMinutes));
    });
  };

  /** A cancellation (world.ts): a placed session releases at once, an instantiating one after teardown. */
  const cancel = (ss: SimSession, now: number): void => {
    const st = ss.s.status;
    if (st === 'PENDING') {
      ss.cancelled = true;
      placing.delete(ss);
      release(ss, now);
    } else if (st === 'SCHEDULED') {
      ss.cancelled = true;
      release(ss, now);
    } else if (st === 'INSTANTIATING') {
      ss.cancelled = true;
      setSession(ss, 'TERMINATED');
      visible.delete(ss);
      at(now + o.teardownMinutes, PRIORITY.release, () => release(ss, now + o.teardownMinutes, false));
    } else if (st === 'RUNNING') {
      // READY before its start and cancelled in the last minutes: the teardown runs as at an end.
      ss.cancelled = true;
      setSession(ss, 'STOPPING');
      at(now + o.teardownMinutes, PRIORITY.release, () => release(ss, now + o.teardownMinutes));
    }
  };

  let lastEnd = 0;
  for (const r of trace.reservations) {
    const def = defs.get(r.definitionId)!;
    const ss: SimSession = {
      r,
      s: {
        id: r.id,
        status: 'PENDING',
        timeslot: { start: iso(r.start), end: iso(r.end) },
        requirements: def.requirements,
        licenseAffinity: [],
        podType: 'CML_ON_AWS',
        portTemplate: def.portTemplate,
      },
      req: {
        requirements: def.requirements,
        licenseAffinity: [],
        podType: 'CML_ON_AWS',
        portsNeeded: def.portTemplate.length,
        ...(o.endTimeAware ? { sessionEnd: iso(r.end) } : {}),
      },
      need: requirementsAsCapacity(def.requirements),
      worker: undefined,
      own: undefined,
      readyAt: undefined,
      failed: false,
      heldAsNoShow: false,
      nextAtSec: 0,
      failures: 0,
      cancelled: false,
    };
    all.push(ss);
    const booked = Math.max(0, r.bookedAt);
    at(Math.max(booked, r.start - queryHorizon), PRIORITY.visible, () => {
      if (!ss.cancelled) visible.add(ss);
    });
    const opens = Math.max(booked, windowOpens(r));
    at(opens, PRIORITY.open, () => {
      if (ss.s.status !== 'PENDING' || ss.cancelled) return;
      ss.nextAtSec = opens * 60;
      placing.add(ss);
    });
    const cancelledAt = (r as Partial<WorldReservation>).cancelledAt;
    if (cancelledAt !== undefined)
      at(Math.max(booked, cancelledAt), PRIORITY.end, () => cancel(ss, cancelledAt));
    if (r.end > lastEnd) lastEnd = r.end;
  }
  const stopAt = lastEnd + o.teardownMinutes + 120;

  const cheapestFitting = (ss: SimSession): WorkerTemplate | undefined => {
    const sorted = [...templates]
      .filter((t) => t.enabled)
      .sort((a, b) => a.costPerHourUsd - b.costPerHourUsd);
    return sorted.find(
      (t) =>
        choosePlacement(ss.req, [
          {
            id: 'probe',
            status: 'RUNNING',
            license: { type: t.licenseType, status: 'REGISTERED' },
            podType: t.podType,
            declaredCapacity: t.capacity,
            allocatedCapacity: { cpuCores: 0, memoryGb: 0, storageGb: 0, maxNodes: 0 },
            portRange: t.portRange,
            leasedPortCount: 0,
          },
        ]).placed,
    );
  };

  const plannerSessions = (): ScalingSession[] => {
    const out: ScalingSession[] = [];
    for (const ss of visible) {
      // Reactive sees a session only once it holds capacity or has failed to place.
      if (
        (policy === 'reactive' || policy === 'reactive-headroom') &&
        ss.s.status === 'PENDING' &&
        ss.s.placementRejections === undefined
      )
        continue;
      out.push(ss.s);
    }
    return out;
  };
  const plannerWorkers = (): Worker[] => [...fleet].map((sw) => sw.w);

  /** Accounts the minute [now, now + 1) after all of its actions: cost split, samples. */
  const accountMinute = (now: number): void => {
    const sample = o.timelineEveryMinutes > 0 && now % o.timelineEveryMinutes === 0;
    const point = { minute: now, costPerHour: 0, billedHosts: 0, allocatedMemoryGb: 0, runningMemoryGb: 0 };
    for (const sw of fleet) {
      if (sw.runningSince === undefined) continue;
      if (sample) {
        point.costPerHour += sw.t.costPerHourUsd;
        point.billedHosts++;
        point.allocatedMemoryGb += sw.w.allocatedCapacity.memoryGb;
        if (sw.w.status === 'RUNNING') point.runningMemoryGb += sw.w.declaredCapacity.memoryGb;
      }
      const perMinute = sw.t.costPerHourUsd / 60;
      byTemplate.set(sw.t.name, (byTemplate.get(sw.t.name) ?? 0) + 1 / 60);
      const st = sw.w.status;
      if (st === 'RUNNING' && sw.sessions > 0) {
        breakdown.busy += perMinute;
        const d = sw.w.declaredCapacity;
        const a = sw.w.allocatedCapacity;
        const util = Math.max(
          a.cpuCores / d.cpuCores,
          a.memoryGb / d.memoryGb,
          a.storageGb / d.storageGb,
          a.maxNodes / d.maxNodes,
        );
        breakdown.unusedOnBusy += perMinute * (1 - util);
        const n = sw.noShowHeld;
        breakdown.heldByNoShows +=
          perMinute *
          Math.max(
            n.cpuCores / d.cpuCores,
            n.memoryGb / d.memoryGb,
            n.storageGb / d.storageGb,
            n.maxNodes / d.maxNodes,
          );
      } else if (st === 'RUNNING') {
        breakdown.idle += perMinute;
        if (sw.served) breakdown.idleAfterLast += perMinute;
        else breakdown.idleBeforeFirst += perMinute;
      } else if (st === 'PROVISIONING' || st === 'STARTING' || st === 'PENDING') {
        breakdown.booting += perMinute;
        if (sw.doomed) breakdown.failedBoots += perMinute;
      } else breakdown.draining += perMinute;
    }

    if (sample) timeline.push(point);
  };

  /** Empty hosts that serve or will: RUNNING without sessions, and booting ones. */
  const spareHosts = (): number => {
    let n = 0;
    for (const sw of fleet) {
      const st = sw.w.status;
      if (
        (st === 'RUNNING' && sw.sessions === 0) ||
        st === 'PENDING' ||
        st === 'PROVISIONING' ||
        st === 'STARTING'
      )
        n++;
    }
    return n;
  };
  /** The enabled template with the most memory per dollar (memory dominates these labs). */
  const bestValue = [...templates]
    .filter((t) => t.enabled !== false && t.costPerHourUsd > 0)
    .sort((a, b) => b.capacity.memoryGb / b.costPerHourUsd - a.capacity.memoryGb / a.costPerHourUsd)[0]!;

  // ---- scheduled: a fixed fleet size per hour of the week, from the previous week's peak ----
  const HOURS_PER_WEEK = MINUTES_PER_WEEK / 60;
  const hourPeak = new Map<number, number>(); // absolute hour index → hosts of bestValue at the peak
  if (policy === 'scheduled') {
    for (const step of instants(simDemandIntervals(trace, o))) {
      const hosts = Math.max(
        ...(['cpuCores', 'memoryGb', 'storageGb', 'maxNodes'] as const).map((d) =>
          Math.ceil(step.demand[d] / bestValue.capacity[d]),
        ),
      );
      for (let h = Math.floor(step.from / 60); h * 60 < step.to; h++) {
        if (hosts > (hourPeak.get(h) ?? 0)) hourPeak.set(h, hosts);
      }
    }
  }
  /** The target for hour `h`: the peak of the same hour a week earlier (week 0 uses its own). */
  const scheduledTarget = (h: number): number =>
    hourPeak.get(h >= HOURS_PER_WEEK ? h - HOURS_PER_WEEK : h) ?? 0;
  const runScheduled = (now: number): void => {
    const lead = bestValue.bootMinutes + cfg.lookAheadMarginMinutes;
    const wanted = Math.max(
      scheduledTarget(Math.floor(now / 60)),
      scheduledTarget(Math.floor((now + lead) / 60)),
    );
    let serving = 0;
    for (const sw of fleet)
      if (['PENDING', 'PROVISIONING', 'STARTING', 'RUNNING'].includes(sw.w.status)) serving++;
    if (now % o.scaleUpEveryMinutes === 0) for (; serving < wanted; serving++) launch(bestValue, now);
    if (now % o.scaleDownEveryMinutes === 0 && serving > wanted) {
      for (const sw of fleet) {
        if (serving <= wanted) break;
        const launchedAgo = now - Math.floor((Date.parse(sw.w.launchedAt ?? iso(0)) - epochMs) / 60_000);
        if (sw.w.status === 'RUNNING' && sw.sessions === 0 && launchedAgo >= cfg.postLaunchGraceMinutes) {
          drain(sw, 'TERMINATE', now);
          serving--;
        }
      }
    }
  };

  for (let now = 0; now <= stopAt; now++) {
    const bucket = buckets.get(now);
    if (bucket) {
      buckets.delete(now);
      bucket.sort((a, b) => a.p - b.p);
      for (const e of bucket) e.fn();
      // Handlers may schedule into this same minute (zero-length steps); run those too.
      for (let more = buckets.get(now); more; more = buckets.get(now)) {
        buckets.delete(now);
        more.sort((a, b) => a.p - b.p);
        for (const e of more) e.fn();
      }
    }

    if (placing.size > 0) {
      const order = [...placing].filter((ss) => ss.nextAtSec < (now + 1) * 60);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      for (const ss of order) tryPlace(ss, now);
    }

    if (policy === 'one-per-session') {
      for (const ss of visible) {
        if (ss.s.status !== 'PENDING' || ss.r.start - now > window) continue;
        if (ss.own && ss.own.w.status !== 'FAILED') continue;
        const t = cheapestFitting(ss);
        if (t) ss.own = launch(t, now);
      }
      accountMinute(now);
      continue;
    }

    if (policy === 'scheduled') {
      runScheduled(now);
      accountMinute(now);
      continue;
    }

    if (now % o.scaleDownEveryMinutes === 0) {
      scaleDownRuns++;
      const plan = planScaleDown({
        now: iso(now),
        sessions: plannerSessions(),
        workers: plannerWorkers(),
        templates,
        config: cfg,
        bootSeconds: bootSeconds(),
      });
      let spare = policy === 'reactive-headroom' ? spareHosts() : Number.POSITIVE_INFINITY;
      for (const a of plan.actions) {
        const sw = byId.get(a.workerId)!;
        if (a.kind === 'DRAIN') {
          // reactive-headroom never drains below its spare hosts.
          if (spare <= o.headroomHosts) continue;
          spare--;
          drain(sw, a.then, now);
        } else terminateStopped(sw, now);
      }
    }
    if (now % o.scaleUpEveryMinutes === 0) {
      scaleUpRuns++;
      const plan = planScaleUp({
        now: iso(now),
        sessions: plannerSessions(),
        workers: plannerWorkers(),
        templates,
        config: cfg,
        lastScaleUpAt,
        bootSeconds: bootSeconds(),
      });
      for (const a of plan.actions) {
        if (a.kind === 'LAUNCH') launch(templateByName.get(a.templateName)!, now);
        else startStopped(byId.get(a.workerId)!, now);
      }
      if (plan.actions.length > 0) lastScaleUpAt = iso(now);
      if (policy === 'reactive-headroom') {
        for (let n = spareHosts(); n < o.headroomHosts; n++) launch(bestValue, now);
      }
    }
    accountMinute(now);
  }
  // The loop accounted minute stopAt too, i.e. up to stopAt + 1.
  for (const sw of fleet) {
    stopBilling(sw, stopAt + 1);
    stopEbs(sw, stopAt + 1);
  }

  // ---- metrics ----
  const lateness: number[] = [];
  const lateSessions: PolicyResult['lateSessions'] = [];
  const noteLate = (ss: SimSession, l: number): void => {
    lateSessions.push({
      id: ss.r.id,
      leadMinutes: ss.r.start - ss.r.bookedAt,
      latenessMinutes: l,
      kind: (ss.r as Partial<WorldReservation>).kind,
    });
  };
  let onTime = 0;
  let late = 0;
  let lateShortNotice = 0;
  let failed = 0;
  let cancelled = 0;
  for (const ss of all) {
    if (ss.cancelled) {
      cancelled++;
      continue;
    }
    if (ss.failed || ss.readyAt === undefined) {
      failed++;
      late++;
      lateness.push(ss.r.end - ss.r.start);
      noteLate(ss, ss.r.end - ss.r.start);
      if (ss.r.start - ss.r.bookedAt < window) lateShortNotice++;
      continue;
    }
    const l = Math.max(0, ss.readyAt - ss.r.start);
    lateness.push(l);
    if (l === 0) onTime++;
    else {
      late++;
      noteLate(ss, l);
      if (ss.r.start - ss.r.bookedAt < window) lateShortNotice++;
    }
  }
  lateness.sort((a, b) => a - b);
  const lb = singleTemplateBound(simDemandIntervals(trace, o), templates);
  const lbSlots = singleTemplateBound(
    sessionIntervals(trace.reservations, trace.definitions, 0, 0),
    templates,
  );
  const runningCost = hostMinutesCost;
  const cost = runningCost + ebsCost;
  const wallMs = performance.now() - began;
  return {
    policy,
    sessions: all.length,
    hostHours: hostMinutes / 60,
    stoppedHostHours: stoppedMinutes / 60,
    cost,
    runningCost,
    ebsCost,
    singleTemplateBoundCost: lb.cost,
    singleTemplateBoundHostHours: lb.hostHours,
    costRatioSingleTemplate: cost / lb.cost,
    timeslotSingleTemplateBoundCost: lbSlots.cost,
    costRatioSingleTemplateToTimeslots: cost / lbSlots.cost,
    onTimeShare: onTime / (all.length - cancelled),
    late,
    lateSessions,
    lateShortNotice,
    failed,
    p50LatenessMinutes: percentile(lateness, 0.5),
    p95LatenessMinutes: percentile(lateness, 0.95),
    maxLatenessMinutes: lateness[lateness.length - 1] ?? 0,
    launches,
    failedLaunches,
    cancelled,
    stateTransitions: transitions,
    warmStarts,
    drains,
    stoppedTerminations,
    peakHosts,
    costBreakdown: breakdown,
    hostHoursByTemplate: Object.fromEntries(byTemplate),
    scaleUpRuns,
    scaleDownRuns,
    simulatedWeeks: trace.weeks,
    ...(o.timelineEveryMinutes > 0 ? { timeline } : {}),
    wallMs,
    wallMsPerSimulatedWeek: wallMs / trace.weeks,
  };
}
