/**
 * The realistic world of the fleet benchmark: a seeded, deterministic trace plus what happens
 * to it and to the hosts launched for it.
 *
 * Bookings: two time zones (Europe/Paris and America/New_York working days, weekends by local
 * date, daylight saving from the IANA zone data), class cohorts (many sessions of one definition
 * at one start), individual bookings with lead times from minutes to days, and walk-in bursts
 * (a group booking within a few minutes, each 5–30 min ahead).
 * What learners do: cancellations (some within the last hour), no-shows, early finishes.
 * What hosts do: boot durations from a lognormal, failed boots, and one InsufficientCapacity
 * episode (a window in which launches of one template fail).
 *
 * Everything is data: each reservation says when it was booked, whether and when it was
 * cancelled, whether the learner shows up and when the learner ends it; `launchOutcome` answers
 * what the n-th launch of the run does, drawn from a stream keyed by that index (so a policy
 * that launches more or in another order does not reshuffle anybody else's draws). Each aspect
 * draws from its own stream, so changing one parameter leaves the others' draws alone.
 *
 * A world is a Trace: the simulator of sim.ts runs on it as on the default trace (it does not
 * yet read the new fields: see docs/benchmarks.md, "Fleet bounds and world").
 */
import type { WorkerTemplate } from '@lcm/shared/kernel';
import type { DemandInterval } from './lower-bound.ts';
import { cmlTemplates } from './templates.ts';
import {
  individualLead,
  int,
  logUniform,
  MINUTES_PER_DAY,
  prng,
  type Rand,
  type Reservation,
  SIM_DEFINITIONS,
  subSeed,
  type Trace,
  weighted,
} from './trace.ts';

export type BookingKind = 'cohort' | 'individual' | 'walk-in';

export interface WorldReservation extends Reservation {
  kind: BookingKind;
  region: string;
  /** Minute the booking is cancelled, always in (bookedAt, start): the session never runs. */
  cancelledAt?: number | undefined;
  /** The learner never connects (the system cannot know before the start). */
  noShow: boolean;
  /**
   * Minute the learner ends the session: `end` for those who use the whole slot, earlier for an
   * early finish; `end` for a no-show or a cancelled booking (nobody ends it).
   */
  actualEnd: number;
}

export interface CapacityEpisode {
  templateName: string;
  /** Launches of the template in [from, to) fail with InsufficientInstanceCapacity. */
  from: number;
  to: number;
}

export type LaunchResult = 'ready' | 'boot-failed' | 'insufficient-capacity';

export interface LaunchOutcome {
  index: number;
  result: LaunchResult;
  /**
   * Minutes from launch until the host would be ready (whole minutes, rounded up): when it is,
   * for `ready`; when it should have been, for `boot-failed` (the instance runs and is billed, but
   * CML never becomes ready: the provisioning's timeout notices); 0 for `insufficient-capacity`
   * (the launch call itself fails, nothing is billed).
   */
  bootMinutes: number;
}

export interface Region {
  name: string;
  timeZone: string;
  share: number;
  /** Local minutes after midnight: cohorts start on the half hour within [first, last]. */
  cohortStart: [number, number];
  /** Individual bookings start on the quarter hour within [first, last]. */
  individualStart: [number, number];
  /** Walk-in bursts begin within [first, last]. */
  walkInWindow: [number, number];
}

export interface WorldOptions {
  seed: number;
  weeks: number;
  /** ISO instant of minute 0 (a Monday, 00:00 UTC). */
  epoch: string;
  regions: Region[];
  cohortsPerWeekday: [number, number];
  cohortSize: [number, number];
  /** Cohort durations to choose from (minutes). */
  cohortDurations: number[];
  /** Cohorts are booked this many days ahead (log-uniform). */
  cohortLeadDays: [number, number];
  individualsPerWeekday: [number, number];
  /** Weekend (local) volume of individual bookings, as a share of a weekday's. */
  weekendShare: number;
  /** Walk-in bursts per weekday over all regions, and their size. */
  walkInBurstsPerWeekday: [number, number];
  walkInBurstSize: [number, number];
  /** A burst's bookings arrive within this many minutes. */
  walkInSpreadMinutes: number;
  /** Each walk-in starts this many minutes after it is booked (uniform, whole minutes). */
  walkInLeadMinutes: [number, number];
  walkInDurations: number[];
  /** Share of bookings cancelled before their start. */
  cancelShare: number;
  /** Of the cancellations, the share within the last hour before the start. */
  lastHourCancelShare: number;
  /** Share of the bookings that stand whose learner never connects. */
  noShowShare: number;
  /** Share of the learners who show up that end early, and by how much of their slot. */
  earlyFinishShare: number;
  earlyFinishFraction: [number, number];
  /** Host boot (launch to ready): lognormal with this median and 95th percentile. */
  bootMedianMinutes: number;
  bootP95Minutes: number;
  /** Share of launches whose host never becomes ready. */
  bootFailureShare: number;
  /** The InsufficientInstanceCapacity episode: which template, and how long (hours, uniform). */
  capacityEpisodeTemplate: string;
  capacityEpisodeHours: [number, number];
  templates: WorkerTemplate[];
}

/** The same local working day in both regions. */
const WORKING_DAY: Pick<Region, 'cohortStart' | 'individualStart' | 'walkInWindow'> = {
  cohortStart: [9 * 60, 15 * 60],
  individualStart: [8 * 60, 18 * 60],
  walkInWindow: [9 * 60, 17 * 60],
};

export const WORLD_REGIONS: Region[] = [
  { name: 'emea', timeZone: 'Europe/Paris', share: 0.55, ...WORKING_DAY },
  { name: 'amer', timeZone: 'America/New_York', share: 0.45, ...WORKING_DAY },
];

export const DEFAULT_WORLD_OPTIONS: WorldOptions = {
  seed: 1,
  weeks: 3,
  epoch: '2026-01-05T00:00:00.000Z',
  regions: WORLD_REGIONS,
  cohortsPerWeekday: [4, 8],
  cohortSize: [20, 40],
  cohortDurations: [120, 180, 240],
  cohortLeadDays: [1, 14],
  individualsPerWeekday: [150, 250],
  weekendShare: 0.15,
  walkInBurstsPerWeekday: [1, 3],
  walkInBurstSize: [8, 20],
  walkInSpreadMinutes: 15,
  walkInLeadMinutes: [5, 30],
  walkInDurations: [60, 90, 120],
  cancelShare: 0.1,
  lastHourCancelShare: 0.3,
  noShowShare: 0.05,
  earlyFinishShare: 1 / 3,
  earlyFinishFraction: [0.1, 0.4],
  bootMedianMinutes: 15,
  bootP95Minutes: 25,
  bootFailureShare: 0.05,
  capacityEpisodeTemplate: 'cml-m5-metal',
  capacityEpisodeHours: [3, 6],
  templates: cmlTemplates(),
};

/** Ten seeds for the benchmark's mean and interval (any other seeds work the same way). */
export const WORLD_SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] as const;

export interface World extends Trace {
  reservations: WorldReservation[];
  episode: CapacityEpisode;
  options: WorldOptions;
}

/** Offset of a time zone from UTC at an instant, in minutes (Paris in winter: 60). */
export function utcOffsetMinutes(timeZone: string, atMs: number): number {
  const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' })
    .formatToParts(atMs)
    .find((p) => p.type === 'timeZoneName')?.value;
  const m = /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(name ?? '');
  if (!m) throw new Error(`cannot read the UTC offset of ${timeZone}: ${name}`);
  if (m[1] === undefined) return 0;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === '-' ? -minutes : minutes;
}

/** Stream keys: one per aspect of the world, so each draws independently of the others. */
const STREAM = { bookings: 1, cancel: 2, noShow: 3, early: 4, episode: 5, launch: 6 } as const;

/** Standard normal from two uniforms (Box–Muller). */
function normal(rand: Rand): number {
  const u1 = 1 - rand();
  const u2 = rand();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** z of the 95th percentile of the standard normal. */
const Z95 = 1.6448536269514722;

/** Lognormal parameters from a median and a 95th percentile. */
export function lognormalFromMedianP95(median: number, p95: number): { mu: number; sigma: number } {
  return { mu: Math.log(median), sigma: Math.log(p95 / median) / Z95 };
}

export function generateWorld(options: Partial<WorldOptions> = {}): World {
  const o: WorldOptions = { ...DEFAULT_WORLD_OPTIONS, ...options };
  const epochMs = Date.parse(o.epoch);
  const rand = prng(subSeed(o.seed, STREAM.bookings));
  const defs = SIM_DEFINITIONS.map((d) => ({ weight: d.weight, value: d }));
  const regions = o.regions.map((r) => ({ weight: r.share, value: r }));
  type Booking = Omit<WorldReservation, 'id' | 'noShow' | 'actualEnd' | 'cancelledAt'>;
  const bookings: Booking[] = [];

  /** UTC minute of local midnight of the region's local day `day` (days after the epoch's date). */
  const localMidnight = (r: Region, day: number): number => {
    const noonUtc = epochMs + (day * MINUTES_PER_DAY + 12 * 60) * 60_000;
    return day * MINUTES_PER_DAY - utcOffsetMinutes(r.timeZone, noonUtc);
  };
  const isWeekday = (day: number): boolean => day % 7 < 5; // the epoch is a Monday

  for (let day = 0; day < o.weeks * 7; day++) {
    const weekday = isWeekday(day);
    if (weekday) {
      const cohorts = int(rand, o.cohortsPerWeekday[0], o.cohortsPerWeekday[1]);
      for (let c = 0; c < cohorts; c++) {
        const region = weighted(rand, regions);
        const slots = (region.cohortStart[1] - region.cohortStart[0]) / 30;
        const start = localMidnight(region, day) + region.cohortStart[0] + 30 * int(rand, 0, slots);
        const end = start + o.cohortDurations[int(rand, 0, o.cohortDurations.length - 1)]!;
        const def = weighted(rand, defs);
        const size = int(rand, o.cohortSize[0], o.cohortSize[1]);
        const lead = logUniform(
          rand,
          o.cohortLeadDays[0] * MINUTES_PER_DAY,
          o.cohortLeadDays[1] * MINUTES_PER_DAY,
        );
        const bookedAt = Math.round(start - lead);
        const cohort = `c-${day}-${c}`;
        for (let i = 0; i < size; i++)
          bookings.push({
            definitionId: def.id,
            bookedAt,
            start,
            end,
            cohort,
            kind: 'cohort',
            region: region.name,
          });
      }
      const bursts = int(rand, o.walkInBurstsPerWeekday[0], o.walkInBurstsPerWeekday[1]);
      for (let b = 0; b < bursts; b++) {
        const region = weighted(rand, regions);
        const begins = localMidnight(region, day) + int(rand, region.walkInWindow[0], region.walkInWindow[1]);
        const size = int(rand, o.walkInBurstSize[0], o.walkInBurstSize[1]);
        for (let i = 0; i < size; i++) {
          const bookedAt = begins + int(rand, 0, o.walkInSpreadMinutes);
          const start = bookedAt + int(rand, o.walkInLeadMinutes[0], o.walkInLeadMinutes[1]);
          const end = start + o.walkInDurations[int(rand, 0, o.walkInDurations.length - 1)]!;
          const def = weighted(rand, defs);
          bookings.push({ definitionId: def.id, bookedAt, start, end, kind: 'walk-in', region: region.name });
        }
      }
    }
    // Individual bookings follow each region's local calendar (its weekend, its working hours).
    const base = int(rand, o.individualsPerWeekday[0], o.individualsPerWeekday[1]);
    for (const region of o.regions) {
      const volume = Math.round(base * region.share * (weekday ? 1 : o.weekendShare));
      const slots = (region.individualStart[1] - region.individualStart[0]) / 15;
      for (let i = 0; i < volume; i++) {
        const start = localMidnight(region, day) + region.individualStart[0] + 15 * int(rand, 0, slots);
        const end = start + 30 * int(rand, 2, 8);
        const bookedAt = Math.round(start - individualLead(rand));
        const def = weighted(rand, defs);
        bookings.push({
          definitionId: def.id,
          bookedAt,
          start,
          end,
          kind: 'individual',
          region: region.name,
        });
      }
    }
  }

  // What learners do, each from its own stream, in booking-generation order.
  const cancel = prng(subSeed(o.seed, STREAM.cancel));
  const noShow = prng(subSeed(o.seed, STREAM.noShow));
  const early = prng(subSeed(o.seed, STREAM.early));
  const reservations: WorldReservation[] = bookings.map((b, i) => {
    const r: WorldReservation = {
      ...b,
      id: `s-${String(i + 1).padStart(6, '0')}`,
      noShow: false,
      actualEnd: b.end,
    };
    const cancels = cancel() < o.cancelShare;
    const lastHour = cancel() < o.lastHourCancelShare;
    const when = cancel();
    if (cancels) {
      // Within the last hour (or the whole lead, when booked less than an hour ahead), else before it.
      const hourBefore = Math.max(b.bookedAt, b.start - 60);
      const [lo, hi] =
        lastHour || hourBefore === b.bookedAt ? [hourBefore, b.start] : [b.bookedAt, hourBefore];
      r.cancelledAt = Math.min(b.start - 1, Math.max(b.bookedAt + 1, Math.floor(lo + when * (hi - lo))));
      if (r.cancelledAt <= b.bookedAt) r.cancelledAt = undefined; // booked a minute ahead: nothing to cancel
    }
    const absent = noShow() < o.noShowShare;
    const finishesEarly = early() < o.earlyFinishShare;
    const fraction =
      o.earlyFinishFraction[0] + early() * (o.earlyFinishFraction[1] - o.earlyFinishFraction[0]);
    if (r.cancelledAt === undefined) {
      if (absent) r.noShow = true;
      else if (finishesEarly) r.actualEnd = b.end - Math.round(fraction * (b.end - b.start));
    }
    return r;
  });
  reservations.sort((a, b) => a.bookedAt - b.bookedAt || a.start - b.start || (a.id < b.id ? -1 : 1));

  // One InsufficientInstanceCapacity episode, on a weekday, while both regions work.
  const ep = prng(subSeed(o.seed, STREAM.episode));
  const weekdays = Array.from({ length: o.weeks * 7 }, (_, d) => d).filter(isWeekday);
  const epDay = weekdays[int(ep, 0, weekdays.length - 1)]!;
  const epHours = o.capacityEpisodeHours[0] + ep() * (o.capacityEpisodeHours[1] - o.capacityEpisodeHours[0]);
  const epFrom = epDay * MINUTES_PER_DAY + int(ep, 12 * 60, 16 * 60);
  const episode: CapacityEpisode = {
    templateName: o.capacityEpisodeTemplate,
    from: epFrom,
    to: epFrom + Math.round(epHours * 60),
  };

  return {
    seed: o.seed,
    weeks: o.weeks,
    epoch: o.epoch,
    templates: o.templates.map((t) => structuredClone(t)),
    definitions: SIM_DEFINITIONS,
    reservations,
    episode,
    options: o,
  };
}

/**
 * What the `index`-th launch of a run (0, 1, 2, … in the order the policy launches) does when it
 * is made at minute `at` for template `templateName`. Pure: the same arguments give the same
 * outcome, and launch n's draws do not depend on any other launch.
 */
export function launchOutcome(world: World, index: number, templateName: string, at: number): LaunchOutcome {
  const o = world.options;
  const e = world.episode;
  if (templateName === e.templateName && at >= e.from && at < e.to)
    return { index, result: 'insufficient-capacity', bootMinutes: 0 };
  const rand = prng(subSeed(subSeed(o.seed, STREAM.launch), index));
  const { mu, sigma } = lognormalFromMedianP95(o.bootMedianMinutes, o.bootP95Minutes);
  const bootMinutes = Math.max(1, Math.ceil(Math.exp(mu + sigma * normal(rand))));
  const result: LaunchResult = rand() < o.bootFailureShare ? 'boot-failed' : 'ready';
  return { index, result, bootMinutes };
}

/**
 * The physical footprint any on-time policy must hold, for the bounds: a lab is instantiated
 * `instantiateMinutes` before its start and torn down in `teardownMinutes` after its learner ends
 * it; a booking cancelled before its instantiation would begin holds nothing (one cancelled later
 * holds until the cancellation plus teardown); a no-show's lab must be READY at the start, but no
 * policy needs to keep it beyond (so it holds until start plus teardown).
 */
export function worldDemandIntervals(
  world: World,
  instantiateMinutes: number,
  teardownMinutes: number,
): DemandInterval[] {
  const byId = new Map(world.definitions.map((d) => [d.id, d]));
  const out: DemandInterval[] = [];
  for (const r of world.reservations) {
    const from = r.start - instantiateMinutes;
    let until: number;
    if (r.cancelledAt !== undefined) {
      if (r.cancelledAt <= from) continue;
      until = r.cancelledAt;
    } else if (r.noShow) until = r.start;
    else until = r.actualEnd;
    const req = byId.get(r.definitionId)!.requirements;
    out.push({
      from,
      to: until + teardownMinutes,
      need: {
        cpuCores: req.cpuCores,
        memoryGb: req.memoryGb,
        storageGb: req.storageGb,
        maxNodes: req.nodeCount,
      },
    });
  }
  return out;
}
