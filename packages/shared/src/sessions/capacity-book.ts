import * as z from 'zod';
import type { DefinitionStore } from '../catalogue/index.ts';
import {
  type BookedSession,
  buildCapacityBook,
  type CapacityBookConfig,
  checkBookings,
  DEFAULT_RELEASE_MARGIN_SECONDS,
  DEFAULT_SCALING_CONFIG,
  type Overflow,
  type SlotAvailability,
  slotAvailability,
  type WorkerTemplateStore,
} from '../fleet/index.ts';
import type { LabletSession, SessionStatus } from '../kernel/index.ts';
import {
  ACTIVE_SESSION_STATUSES,
  CapacityFullError,
  ConflictError,
  IsoDateTime,
  newSession,
  ValidationError,
} from '../kernel/index.ts';
import { allPages } from '../platform/index.ts';
import type { SessionStore } from './session-store.ts';
import { DEFAULT_LIFECYCLE_CONFIG, type LifecycleConfig } from './steps/deps.ts';

/**
 * The capacity book's reads and answers (issue 10, item 3): the booked sessions that may hold
 * capacity in a window, read from the table, and the pure rule `fleet/rules/capacity-book.ts`
 * applied to them. POST /v1/sessions refuses a booking that would overflow (409 `capacity-full`,
 * unless an operator forces it); GET /v1/availability answers per slot.
 */

/** Sessions booked and not yet released: PENDING (waiting for placement) through STOPPING. */
export const BOOKED_SESSION_STATUSES: readonly SessionStatus[] = ['PENDING', ...ACTIVE_SESSION_STATUSES];

/** A timeslot lasts at most this long (LabletDefinitionSchema.maxDurationMinutes' bound). */
const MAX_TIMESLOT_MS = 7 * 24 * 60 * 60_000;

export interface CapacityDeps {
  sessions: Pick<SessionStore, 'listByStatus'>;
  templates: Pick<WorkerTemplateStore, 'list'>;
  /** maxWorkers and the timing the book counts with; defaults: capacityBookConfigOf() of the defaults. */
  capacity?: CapacityBookConfig | undefined;
  /**
   * What the hot-start pools hold over [fromMs, toMs) (pools.ts `readPoolHolds`: `warmPoolDepth`
   * labs of every ACTIVE pooled definition for the whole window). Absent: no pools count.
   */
  poolHolds?: ((fromMs: number, toMs: number) => Promise<BookedSession[]>) | undefined;
}

const poolHoldsOf = (deps: Pick<CapacityDeps, 'poolHolds'>, fromMs: number, toMs: number) =>
  deps.poolHolds ? deps.poolHolds(fromMs, toMs) : Promise.resolve([]);

/**
 * The book's configuration from the scaling ceiling and the session workflow's timing: a session
 * takes capacity when its placement window opens (the larger of the placement and instantiate
 * leads, as `placementWindowOpensAt`) and holds it until the release margin after its timeslot.
 */
export function capacityBookConfigOf(
  maxWorkers: number,
  lifecycle: Pick<LifecycleConfig, 'placementLeadSeconds' | 'instantiateLeadSeconds'>,
  releaseMarginSeconds = DEFAULT_RELEASE_MARGIN_SECONDS,
): CapacityBookConfig {
  return {
    maxWorkers,
    leadSeconds: Math.max(lifecycle.placementLeadSeconds, lifecycle.instantiateLeadSeconds),
    releaseMarginSeconds,
  };
}

export const DEFAULT_CAPACITY_BOOK_CONFIG: CapacityBookConfig = capacityBookConfigOf(
  DEFAULT_SCALING_CONFIG.maxWorkers,
  DEFAULT_LIFECYCLE_CONFIG,
);

const configOf = (deps: Pick<CapacityDeps, 'capacity'>): CapacityBookConfig =>
  deps.capacity ?? DEFAULT_CAPACITY_BOOK_CONFIG;

/**
 * The booked sessions that may hold capacity within [fromMs, toMs): one GSI1 query per booked
 * status (PENDING … STOPPING), by timeslot start from a timeslot's longest length (plus the
 * release margin) before the window to the lead after it, then only those whose hold interval
 * overlaps the window. Terminated and released sessions are never read.
 */
export async function bookedSessionsBetween(
  deps: CapacityDeps,
  fromMs: number,
  toMs: number,
): Promise<LabletSession[]> {
  const cfg = configOf(deps);
  const startFrom = new Date(fromMs - MAX_TIMESLOT_MS - cfg.releaseMarginSeconds * 1000).toISOString();
  const startTo = new Date(toMs + cfg.leadSeconds * 1000).toISOString();
  const pages = await Promise.all(
    BOOKED_SESSION_STATUSES.map((status) =>
      allPages((p) => deps.sessions.listByStatus(status, { ...p, startFrom, startTo })),
    ),
  );
  return pages
    .flat()
    .filter(
      (s) =>
        Date.parse(s.timeslot.start) - cfg.leadSeconds * 1000 < toMs &&
        Date.parse(s.timeslot.end) + cfg.releaseMarginSeconds * 1000 > fromMs,
    );
}

async function bookFor(deps: CapacityDeps, fromMs: number, toMs: number, exceptId?: string) {
  const [booked, templates, pooled] = await Promise.all([
    bookedSessionsBetween(deps, fromMs, toMs),
    allPages((p) => deps.templates.list(p)),
    poolHoldsOf(deps, fromMs, toMs),
  ]);
  const others = exceptId === undefined ? booked : booked.filter((s) => s.id !== exceptId);
  return buildCapacityBook([...others, ...pooled], templates, configOf(deps));
}

/** The window in which a booking holds capacity. */
function holdWindow(session: Pick<LabletSession, 'timeslot'>, cfg: CapacityBookConfig) {
  return {
    fromMs: Date.parse(session.timeslot.start) - cfg.leadSeconds * 1000,
    toMs: Date.parse(session.timeslot.end) + cfg.releaseMarginSeconds * 1000,
  };
}

/** Who forces a booking past a full book (an operator or admin), and why. */
export interface CapacityOverride {
  by: string;
}

/** What the capacity check of a booking found: nothing to note, or a forced overflow to record. */
export type CapacityVerdict = { forced: false } | { forced: true; overflow: Overflow; note: string };

/**
 * Would this new session overflow the book? No → `{ forced: false }`. Yes → CapacityFullError
 * (409 `capacity-full`, with the first minute that overflows), unless `override` is given, in
 * which case the booking goes ahead and the verdict says what to record in its history.
 */
export async function checkBookingCapacity(
  deps: CapacityDeps,
  session: LabletSession,
  override?: CapacityOverride,
): Promise<CapacityVerdict> {
  const cfg = configOf(deps);
  const { fromMs, toMs } = holdWindow(session, cfg);
  const book = await bookFor(deps, fromMs, toMs, session.id);
  const verdict = checkBookings(book, [session]);
  if (verdict.fits) return { forced: false };
  const o = verdict.overflow;
  const why =
    o.unplaced > 0
      ? `no host of an enabled template has room for it at ${o.minute}`
      : `at ${o.minute} the ${o.sessions} sessions holding capacity would need ${o.hostsNeeded} hosts; maxWorkers is ${o.maxWorkers}`;
  if (override !== undefined) {
    return {
      forced: true,
      overflow: o,
      note: `booked past a full capacity book, forced by ${override.by}: ${why}`,
    };
  }
  throw new CapacityFullError(
    `the capacity book is full for this timeslot: ${why} (an operator may force the booking)`,
    {
      firstOverflow: o.minute,
      hostsNeeded: o.hostsNeeded,
      maxWorkers: o.maxWorkers,
      sessionsHolding: o.sessions,
    },
  );
}

// ---------------------------------------------------------------------------------------------
// GET /v1/availability

export const MAX_AVAILABILITY_SLOTS = 96;
export const MAX_AVAILABILITY_RANGE_DAYS = 7;

/** GET /v1/availability query. */
export const AvailabilityInputSchema = z
  .object({
    definitionId: z
      .string()
      .min(1)
      .max(128)
      .meta({ description: 'The lab definition (its latest version).' }),
    from: IsoDateTime.meta({ description: 'First slot start (ISO 8601).' }),
    to: IsoDateTime.meta({
      description: `End of the range (exclusive): slots start in [from, to); after from, at most ${MAX_AVAILABILITY_RANGE_DAYS} days later.`,
    }),
    stepMinutes: z.coerce
      .number()
      .int()
      .min(5)
      .max(1440)
      .default(30)
      .meta({
        description: `Minutes between slot starts (default 30); at most ${MAX_AVAILABILITY_SLOTS} slots.`,
      }),
    durationMinutes: z.coerce
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 60)
      .optional()
      .meta({ description: "Each slot's length; default and ceiling: the definition's maxDurationMinutes." }),
    maxAdditional: z.coerce.number().int().min(1).max(50).default(10).meta({
      description: 'Count more bookings up to this many (default 10); `capped` says it was reached.',
    }),
  })
  .superRefine((v, ctx) => {
    const from = Date.parse(v.from);
    const to = Date.parse(v.to);
    if (!(to > from)) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
      return;
    }
    if (to - from > MAX_AVAILABILITY_RANGE_DAYS * 86_400_000) {
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: `must be at most ${MAX_AVAILABILITY_RANGE_DAYS} days after from`,
      });
      return;
    }
    if (!(v.stepMinutes >= 5)) return; // its own check has said so
    const slots = Math.ceil((to - from) / (v.stepMinutes * 60_000));
    if (slots > MAX_AVAILABILITY_SLOTS) {
      ctx.addIssue({
        code: 'custom',
        path: ['stepMinutes'],
        message: `gives ${slots} slots; at most ${MAX_AVAILABILITY_SLOTS} (a larger step or a shorter range)`,
      });
    }
  });
export type AvailabilityInput = z.output<typeof AvailabilityInputSchema>;

export const SlotAvailabilitySchema = z.object({
  start: IsoDateTime.describe('The slot start (ISO 8601).'),
  end: IsoDateTime.describe('The slot end: start plus durationMinutes (ISO 8601).'),
  fits: z.boolean().meta({ description: 'Whether one more booking of the definition for this slot fits.' }),
  additional: z
    .number()
    .int()
    .meta({ description: 'How many more bookings for this slot fit: this many do, one more does not.' }),
  capped: z.boolean().meta({ description: 'additional reached maxAdditional: more may fit.' }),
  firstOverflow: IsoDateTime.optional().meta({
    description: 'When not even one more fits: the first minute that would overflow.',
  }),
}) satisfies z.ZodType<SlotAvailability>;

export const AvailabilitySchema = z.object({
  definitionId: z.string().describe('The lab definition asked about.'),
  definitionVersion: z.number().int().describe('Its latest version, whose requirements were used.'),
  durationMinutes: z.number().int().describe('The length of every slot, in minutes.'),
  maxWorkers: z.number().int().describe("The fleet's maxWorkers the bookings must pack under."),
  slots: z
    .array(SlotAvailabilitySchema)
    .describe('One entry per slot start in [from, to), stepMinutes apart.'),
  read: z
    .object({
      sessions: z
        .number()
        .int()
        .meta({ description: 'Booked sessions that may hold capacity in the range.' }),
      templates: z.number().int().describe('Enabled worker templates the packing could use.'),
    })
    .describe('What the answer was computed from.'),
});
export type Availability = z.output<typeof AvailabilitySchema>;

export interface AvailabilityDeps extends CapacityDeps {
  definitions: Pick<DefinitionStore, 'getLatest'>;
}

/**
 * Per slot start in [from, to) every `stepMinutes`: whether one more booking of the definition's
 * latest version fits in the capacity book, and how many more would (capacity-book.ts,
 * `slotAvailability`). Reads the booked sessions of the whole range once.
 */
export async function getAvailability(
  deps: AvailabilityDeps,
  input: AvailabilityInput,
): Promise<Availability> {
  const def = await deps.definitions.getLatest(input.definitionId);
  if (def.status !== 'ACTIVE') {
    throw new ConflictError(
      `definition ${def.id} is ${def.status}; only an ACTIVE definition takes new sessions`,
      {
        definitionId: def.id,
        status: def.status,
      },
    );
  }
  const duration = input.durationMinutes ?? def.maxDurationMinutes;
  if (duration > def.maxDurationMinutes) {
    throw new ValidationError(
      'durationMinutes',
      `must be at most the definition's maxDurationMinutes (${def.maxDurationMinutes})`,
    );
  }
  const cfg = configOf(deps);
  const fromMs = Date.parse(input.from);
  const toMs = Date.parse(input.to);
  const slots: { start: string; end: string }[] = [];
  for (let s = fromMs; s < toMs; s += input.stepMinutes * 60_000) {
    slots.push({ start: new Date(s).toISOString(), end: new Date(s + duration * 60_000).toISOString() });
  }
  const last = Date.parse(slots[slots.length - 1]!.end);
  const windowFrom = fromMs - cfg.leadSeconds * 1000;
  const windowTo = last + cfg.releaseMarginSeconds * 1000;
  const [booked, templates, pooled] = await Promise.all([
    bookedSessionsBetween(deps, windowFrom, windowTo),
    allPages((p) => deps.templates.list(p)),
    poolHoldsOf(deps, windowFrom, windowTo),
  ]);
  const book = buildCapacityBook([...booked, ...pooled], templates, cfg);
  // What the definition asks placement for, exactly as a booking of it would (newSession).
  const probe: BookedSession = newSession(
    def,
    {
      id: 'availability-probe',
      reservationId: 'availability-probe',
      owner: { userId: 'probe' },
      timeslot: slots[0]!,
    },
    new Date(fromMs).toISOString(),
  );
  const { id: _id, timeslot: _timeslot, ...session } = probe;
  return {
    definitionId: def.id,
    definitionVersion: def.version,
    durationMinutes: duration,
    maxWorkers: cfg.maxWorkers,
    slots: slotAvailability(book, session, slots, input.maxAdditional),
    read: { sessions: booked.length, templates: templates.length },
  };
}
