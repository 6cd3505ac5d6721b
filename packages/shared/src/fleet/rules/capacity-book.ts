import { ValidationError } from '../../kernel/index.ts';
import { choosePlacement } from './placement.ts';
import type { ScalingSession, ScalingTemplate } from './scaling/index.ts';
import {
  collectDemand,
  type Demand,
  demandOrder,
  pack,
  referenceCapacity,
  virtualFromTemplate,
} from './scaling/packing.ts';

/**
 * The capacity book (issue 10, item 3), pure: from the booked sessions and the enabled templates,
 * does a new booking still fit under `maxWorkers` at every instant it would hold capacity?
 *
 * A booking holds capacity from its placement window (timeslot start minus the placement lead,
 * as the session workflow places it: LifecycleConfig) until its teardown has released it
 * (timeslot end plus a release margin for collection, grading and teardown). At any instant the
 * sessions holding capacity are packed onto fresh hosts by `pack` (scaling/packing.ts), the very
 * packing the scale-up planner runs, in its order (`demandOrder`), each single placement decided
 * by `choosePlacement`; the instant fits when that packing needs at most `maxWorkers` hosts and
 * leaves none of the new bookings unplaced. (A booked session no enabled template can hold is left
 * out: it will never hold capacity.)
 *
 * The set of sessions holding capacity only changes where a hold interval starts or ends, so the
 * book evaluates each distinct set once, at those event points, not every minute; the first
 * event point where a new booking's set overflows is reported, as the minute it falls in.
 *
 * The book packs each instant from scratch; the live fleet packs incrementally (sessions placed
 * earlier stay where they are), so it can need more hosts than the book (docs/architecture.md,
 * "Capacity book").
 */

/** What the book reads of a booked session: what placement reads, and its timeslot. */
export type BookedSession = Pick<
  ScalingSession,
  'id' | 'timeslot' | 'requirements' | 'licenseAffinity' | 'podType' | 'amiRequirement' | 'portTemplate'
>;

export interface CapacityBookConfig {
  /** The fleet ceiling (ScalingConfig.maxWorkers). */
  maxWorkers: number;
  /** How long before its timeslot a session takes capacity (max(placementLead, instantiateLead)), seconds. */
  leadSeconds: number;
  /** How long after its timeslot end a session still holds capacity (collection, grading, teardown), seconds. */
  releaseMarginSeconds: number;
}

/** The release margin when none is configured: collection, a grading round and the teardown. */
export const DEFAULT_RELEASE_MARGIN_SECONDS = 600;

const MINUTE = 60_000;

/** A booking in the book: its packing demand and the interval it holds capacity, [fromMs, toMs). */
interface Hold {
  demand: Demand;
  fromMs: number;
  toMs: number;
}

export interface CapacityBook {
  readonly config: Readonly<CapacityBookConfig>;
  readonly templates: readonly ScalingTemplate[];
  /** Holds in packing order (demandOrder), so any subset filtered from it is in packing order too. */
  readonly holds: readonly Hold[];
}

export interface Overflow {
  /** The first instant (an event point) the set overflows, as an ISO instant. */
  at: string;
  /** That instant's minute (ISO, seconds zeroed): "the first minute that overflows". */
  minute: string;
  /** Hosts the packing needs there (including the new bookings that it could place). */
  hostsNeeded: number;
  maxWorkers: number;
  /** Sessions holding capacity there, the new bookings included. */
  sessions: number;
  /** New bookings the packing could not place on any host of an enabled template. */
  unplaced: number;
}

export type BookingCheck =
  | { readonly fits: true; readonly evaluated: number }
  | { readonly fits: false; readonly overflow: Overflow; readonly evaluated: number };

function validateConfig(c: CapacityBookConfig): void {
  if (!Number.isInteger(c.maxWorkers) || c.maxWorkers < 0) {
    throw new ValidationError('maxWorkers', `must be an integer >= 0, got ${String(c.maxWorkers)}`);
  }
  for (const f of ['leadSeconds', 'releaseMarginSeconds'] as const) {
    if (!Number.isFinite(c[f]) || c[f] < 0) {
      throw new ValidationError(f, `must be a finite number >= 0, got ${String(c[f])}`);
    }
  }
}

/** The demand of sessions as the scaler packs them (collectDemand), in packing order. */
function demandsOf(sessions: readonly BookedSession[], templates: readonly ScalingTemplate[]): Demand[] {
  const ref = referenceCapacity(templates.filter((t) => t.enabled !== false));
  const asPending: ScalingSession[] = sessions.map((s) => ({
    id: s.id,
    status: 'PENDING',
    timeslot: s.timeslot,
    requirements: s.requirements,
    licenseAffinity: s.licenseAffinity,
    podType: s.podType,
    amiRequirement: s.amiRequirement,
    portTemplate: s.portTemplate,
  }));
  return collectDemand(asPending, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, ref);
}

function holdOf(d: Demand, config: CapacityBookConfig): Hold {
  const endMs = Date.parse(d.session.timeslot.end);
  return {
    demand: d,
    fromMs: d.startMs - config.leadSeconds * 1000,
    toMs: endMs + config.releaseMarginSeconds * 1000,
  };
}

/**
 * Whether any enabled template, as a fresh host, could hold the demand on its own; memoised per
 * placement request in `seen` (bookings of one definition ask the same).
 */
function placeableOnSome(
  d: Demand,
  enabled: readonly ScalingTemplate[],
  seen: Map<string, boolean> = new Map(),
): boolean {
  const key = JSON.stringify(d.req);
  let v = seen.get(key);
  if (v === undefined) {
    v = enabled.some((t) => choosePlacement(d.req, [virtualFromTemplate(t, t.name)]).placed);
    seen.set(key, v);
  }
  return v;
}

/**
 * The book of the booked sessions: each one's demand and hold interval, in packing order. Sessions
 * no enabled template can hold are left out (they never hold capacity).
 */
export function buildCapacityBook(
  booked: readonly BookedSession[],
  templates: readonly ScalingTemplate[],
  config: CapacityBookConfig,
): CapacityBook {
  validateConfig(config);
  const enabled = templates.filter((t) => t.enabled !== false);
  const seen = new Map<string, boolean>();
  const holds = demandsOf(booked, enabled)
    .filter((d) => placeableOnSome(d, enabled, seen))
    .map((d) => holdOf(d, config));
  return { config: { ...config }, templates: enabled, holds };
}

/** Merges two lists each in packing order into one in packing order. */
function merged(a: readonly Demand[], b: readonly Demand[]): Demand[] {
  if (b.length === 0) return a as Demand[];
  const out: Demand[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(demandOrder(a[i]!, b[j]!) <= 0 ? a[i++]! : b[j++]!);
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

interface SegmentResult {
  hosts: number;
  unplacedNew: number;
}

/**
 * Packs the sessions holding capacity in one segment (the base set plus the new ones). When every
 * one of them is placeable on some template and there are no more of them than `maxWorkers`, the
 * packing fits without being run: each host `pack` opens holds at least the session it was opened
 * for, so it never opens more hosts than it is given sessions (`hosts` is then that bound).
 */
function packSegment(
  book: CapacityBook,
  base: readonly Demand[],
  added: readonly Demand[],
  addedPlaceable = false,
): SegmentResult {
  const size = base.length + added.length;
  if (size === 0) return { hosts: 0, unplacedNew: 0 };
  if (addedPlaceable && size <= book.config.maxWorkers) return { hosts: size, unplacedNew: 0 };
  const demand = merged(base, added);
  const p = pack(demand, [], [], book.templates, true);
  let unplacedNew = 0;
  if (added.length > 0 && p.unplaced.length > 0) {
    const isNew = new Set(added);
    for (const d of p.unplaced) if (isNew.has(d)) unplacedNew++;
  }
  return { hosts: p.launched.length + p.started.length, unplacedNew };
}

/**
 * The distinct sets of booked sessions holding capacity within [fromMs, toMs): one per event
 * point (a hold starting or ending) in the window, the window's start included. Each set is in
 * packing order.
 */
function segments(book: CapacityBook, fromMs: number, toMs: number): { atMs: number; base: Demand[] }[] {
  const points = new Set<number>([fromMs]);
  const overlapping: Hold[] = [];
  for (const h of book.holds) {
    if (h.toMs <= fromMs || h.fromMs >= toMs) continue;
    overlapping.push(h);
    if (h.fromMs > fromMs) points.add(h.fromMs);
    if (h.toMs < toMs) points.add(h.toMs);
  }
  const sorted = [...points].sort((a, b) => a - b);
  return sorted.map((atMs) => ({
    atMs,
    base: overlapping.filter((h) => h.fromMs <= atMs && atMs < h.toMs).map((h) => h.demand),
  }));
}

const minuteOf = (ms: number): string => new Date(Math.floor(ms / MINUTE) * MINUTE).toISOString();

/**
 * Would the book still fit with `candidates` added (each a new booking)? Evaluated at every event
 * point within the candidates' hold intervals; the first overflowing one is reported.
 */
export function checkBookings(book: CapacityBook, candidates: readonly BookedSession[]): BookingCheck {
  const added = demandsOf(candidates, book.templates).map((d) => holdOf(d, book.config));
  if (added.length === 0) return { fits: true, evaluated: 0 };
  const fromMs = Math.min(...added.map((h) => h.fromMs));
  const toMs = Math.max(...added.map((h) => h.toMs));
  // The candidates' own boundaries are event points too.
  const extra: Hold[] = added;
  const withCandidates: CapacityBook = { ...book, holds: [...book.holds, ...extra] };
  let evaluated = 0;
  const isNew = new Set(added.map((h) => h.demand));
  const seen = new Map<string, boolean>();
  const placeable = added.every((h) => placeableOnSome(h.demand, book.templates, seen));
  for (const seg of segments(withCandidates, fromMs, toMs)) {
    const newHere = seg.base.filter((d) => isNew.has(d));
    if (newHere.length === 0) continue;
    const base = seg.base.filter((d) => !isNew.has(d));
    const r = packSegment(book, base, newHere, placeable);
    evaluated++;
    if (r.hosts > book.config.maxWorkers || r.unplacedNew > 0) {
      return {
        fits: false,
        evaluated,
        overflow: {
          at: new Date(seg.atMs).toISOString(),
          minute: minuteOf(seg.atMs),
          hostsNeeded: r.hosts,
          maxWorkers: book.config.maxWorkers,
          sessions: seg.base.length,
          unplaced: r.unplacedNew,
        },
      };
    }
  }
  return { fits: true, evaluated };
}

/** One slot of an availability answer. */
export interface SlotAvailability {
  /** Slot start (ISO). */
  start: string;
  end: string;
  /** Whether one more booking of the definition for this slot fits (the booking check's verdict). */
  fits: boolean;
  /**
   * How many more bookings of the definition for this slot fit: this many do and one more does
   * not (or, when `capped`, at least this many do).
   */
  additional: number;
  /** `additional` reached the asked maximum: more may fit. */
  capped: boolean;
  /** When not even one more fits: the first minute that overflows with it. */
  firstOverflow?: string | undefined;
}

/**
 * Per slot, whether one more booking of `session` (the definition's requirements, the slot as its
 * timeslot) fits, and how many more would: the largest n ≤ maxAdditional + 1 such that 1, 2, …, n
 * such bookings each fit at every event point of the slot's hold interval (each verdict the
 * packer's, as in checkBookings), so booking them one after another is admitted each time.
 *
 * Slots of one range overlap, so packings are shared: n copies of one booking form one block in
 * packing order, and `pack` reads the demand's sequence only, so a verdict depends on the set
 * holding capacity, where the block falls in it, and n; each is computed once per answer.
 */
export function slotAvailability(
  book: CapacityBook,
  session: Omit<BookedSession, 'id' | 'timeslot'>,
  slots: readonly { start: string; end: string }[],
  maxAdditional: number,
): SlotAvailability[] {
  if (!Number.isInteger(maxAdditional) || maxAdditional < 1) {
    throw new ValidationError('maxAdditional', `must be an integer >= 1, got ${String(maxAdditional)}`);
  }
  const index = new Map<Demand, number>();
  for (const [i, h] of book.holds.entries()) index.set(h.demand, i);
  const verdicts = new Map<string, boolean>();
  const top = maxAdditional + 1;

  return slots.map((slot) => {
    const startMs = Date.parse(slot.start);
    const endMs = Date.parse(slot.end);
    if (!Number.isFinite(startMs) || !Number.isFinite(endMs) || endMs <= startMs) {
      throw new ValidationError('slot', `not a timeslot: ${slot.start} to ${slot.end}`);
    }
    const copies = demandsOf(
      Array.from({ length: top }, (_, i) => ({
        ...session,
        id: `~slot-${String(i).padStart(6, '0')}`,
        timeslot: slot,
      })),
      book.templates,
    );
    const first = copies[0]!;
    const placeable = placeableOnSome(first, book.templates);
    const segs = segments(
      book,
      startMs - book.config.leadSeconds * 1000,
      endMs + book.config.releaseMarginSeconds * 1000,
    ).map((seg) => {
      // Where the block of copies falls in the set's packing order.
      let at = 0;
      while (at < seg.base.length && demandOrder(seg.base[at]!, first) <= 0) at++;
      return { ...seg, key: `${seg.base.map((d) => index.get(d)).join(',')}@${at}` };
    });
    const fitsWith = (seg: (typeof segs)[number], n: number): boolean => {
      const key = `${seg.key}#${n}`;
      let v = verdicts.get(key);
      if (v === undefined) {
        const r = packSegment(book, seg.base, copies.slice(0, n), placeable);
        v = r.hosts <= book.config.maxWorkers && r.unplacedNew === 0;
        verdicts.set(key, v);
      }
      return v;
    };
    // The most loaded sets first: a count that does not fit fails there, early.
    const order = [...segs].sort((x, y) => y.base.length - x.base.length);
    const fitsAll = (n: number): boolean => order.every((seg) => fitsWith(seg, n));
    // The first count that does not fit, less one: what booking one after another admits. Not a
    // binary search: the packer is a heuristic and not monotone (on a fleet of 4, six more copies
    // can need 5 hosts while seven fit on 4 by choosing larger templates), so a count that fits
    // says nothing about the smaller ones.
    let n = 0;
    while (n < top && fitsAll(n + 1)) n++;
    const additional = Math.min(n, maxAdditional);
    let firstOverflow: string | undefined;
    if (additional === 0) {
      const one = checkBookings(book, [{ ...session, id: first.session.id, timeslot: slot }]);
      if (!one.fits) firstOverflow = one.overflow.minute;
    }
    return {
      start: slot.start,
      end: slot.end,
      fits: additional > 0,
      additional,
      capped: n > maxAdditional,
      ...(firstOverflow === undefined ? {} : { firstOverflow }),
    };
  });
}
