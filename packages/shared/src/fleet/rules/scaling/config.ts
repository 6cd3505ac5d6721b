import { ValidationError } from '../../../kernel/index.ts';
import type { ScalingTemplate } from './model.ts';

/** How the scalers size the fleet (defaults below; validated by every planner run). */
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
   * The look-ahead window is the longest enabled template's boot time (observed p95 when the caller
   * passes `bootSeconds`) plus this margin, and a launch is deferred until its first session starts
   * within its boot time plus this margin. The margin covers the session workflow's placement window
   * (15 min before the timeslot, retried with a backoff of up to 300 s) and one scaler period.
   * Default 25: on the fleet benchmark's realistic world (boots lognormal, p95 25 min, 5 % failed,
   * walk-ins booked 5–30 min ahead) 10 left ~3 % of sessions late for ~4 % less cost, and 20 left
   * 0.54 % late against 0.43 % with 25 for ~1 % less (10 seeds, with scaleDownIdleMinutes 5;
   * docs/benchmarks.md, "## Fleet"): the hosts launched earlier also take walk-ins.
   */
  lookAheadMarginMinutes: number;
  /**
   * A worker must have been idle (no session) this long before it may be drained. Default 2: the
   * look-ahead check already keeps hosts that upcoming reservations need, so a longer wait only pays
   * for empty hosts (bench/fleet, 10 seeds: 5 min cost ~1 % more than 2 with the on-time share
   * within noise; 10 min ~1 % more again).
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
  /**
   * Room a placed session gives back counts as free for upcoming demand that starts at least this
   * long after the session's booked end (scale-up, issue 10): a host whose sessions end before the
   * next wave is reused instead of launching another. It covers the teardown (room is released
   * when it completes) and leaves the freed room in place before the waiting session's placement
   * window opens. Default 30: on the fleet benchmark's realistic world, counting freed room cut the
   * cost by about 0.6 % over 10 seeds (6 of them cheaper; 99.58 % on time against 99.60 %), and on
   * its busy 8-hour excerpt by 7 % (docs/benchmarks.md, "## Fleet"); 20 min cut as much on 3 seeds
   * with 0.1 point more late sessions. An early finish frees room sooner, an extension moves the
   * booked end, and each scaler run reads the ends anew.
   */
  freedRoomLeadMinutes: number;
}

export const DEFAULT_SCALING_CONFIG: Readonly<ScalingConfig> = Object.freeze({
  minWorkers: 0,
  maxWorkers: 100,
  maxConcurrentLaunches: 20,
  cooldownSeconds: 45,
  lookAheadMarginMinutes: 25,
  scaleDownIdleMinutes: 2,
  postLaunchGraceMinutes: 20,
  maxDrainShare: 0.5,
  warmStoppedPerTemplate: 0,
  warmStartMinutes: 8,
  freedRoomLeadMinutes: 30,
});

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
  'freedRoomLeadMinutes',
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

/**
 * Observed boot duration per template name, in seconds (issue 10, item 5): the caller's figure,
 * e.g. the 95th percentile of the template's last boots with its `bootMinutes` as the prior.
 * A template without an entry boots in its `bootMinutes`.
 */
export type BootSeconds = Readonly<Record<string, number>>;

/** Throws a ValidationError naming the first bad entry of a BootSeconds map. */
export function validateBootSeconds(bootSeconds: BootSeconds | undefined): void {
  if (bootSeconds === undefined) return;
  for (const [name, v] of Object.entries(bootSeconds)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new ValidationError(`bootSeconds.${name}`, `must be a finite number >= 0, got ${String(v)}`);
    }
  }
}

/** Minutes a launch of `t` takes to be RUNNING: its observed figure when given, else its `bootMinutes`. */
export function bootMinutesOf(t: ScalingTemplate, bootSeconds?: BootSeconds): number {
  const observed = bootSeconds?.[t.name];
  return observed === undefined ? t.bootMinutes : observed / 60;
}

/**
 * Minutes ahead the planners look: the longest enabled template's boot time (observed when
 * `bootSeconds` has it) plus the margin.
 */
export function lookAheadMinutes(
  templates: readonly ScalingTemplate[],
  config: ScalingConfig,
  bootSeconds?: BootSeconds,
): number {
  let boot = 0;
  for (const t of templates) {
    if (t.enabled === false) continue;
    const m = bootMinutesOf(t, bootSeconds);
    if (m > boot) boot = m;
  }
  return boot + config.lookAheadMarginMinutes;
}
