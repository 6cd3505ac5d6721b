/**
 * The capacity book (`GET /v1/availability?definitionId&from&to&stepMinutes`): per slot
 * `{start, fits, additional}` — whether one more session of the definition fits then and how
 * many more would. The console draws a week of slots as a day × time-of-day heat-map.
 */
export interface Slot {
  readonly start: string;
  readonly fits: boolean;
  readonly additional: number;
}

export const AVAILABILITY_PATH = '/v1/availability';

/** The slots of a reply (`{slots}` or `{items}`), ignoring malformed entries. */
export function slotsOf(body: unknown): Slot[] {
  const b = body as { slots?: unknown; items?: unknown } | null;
  const list = Array.isArray(b?.slots) ? b.slots : Array.isArray(b?.items) ? b.items : [];
  return list.filter(
    (s): s is Slot =>
      typeof s === 'object' &&
      s !== null &&
      typeof s.start === 'string' &&
      typeof s.fits === 'boolean' &&
      typeof s.additional === 'number',
  );
}

export interface HeatMap {
  /** Row labels: the days (YYYY-MM-DD, UTC). */
  readonly days: string[];
  /** Column labels: the times of day (HH:MM, UTC). */
  readonly times: string[];
  /** cells[day][time]: the slot there, or null when the reply had none. */
  readonly cells: (Slot | null)[][];
  readonly maxAdditional: number;
}

export function heatMap(slots: readonly Slot[]): HeatMap {
  const days = [...new Set(slots.map((s) => s.start.slice(0, 10)))].sort();
  const times = [...new Set(slots.map((s) => s.start.slice(11, 16)))].sort();
  const at = new Map(slots.map((s) => [`${s.start.slice(0, 10)} ${s.start.slice(11, 16)}`, s]));
  return {
    days,
    times,
    cells: days.map((d) => times.map((t) => at.get(`${d} ${t}`) ?? null)),
    maxAdditional: Math.max(0, ...slots.map((s) => s.additional)),
  };
}

/** A cell's fill: red-ish when it does not fit, green shades by how many more fit. */
export function cellColour(slot: Slot | null, maxAdditional: number): string {
  if (!slot) return '#e5e7eb';
  if (!slot.fits) return '#b91c1c';
  const t = maxAdditional > 0 ? slot.additional / maxAdditional : 1;
  const light = Math.round(85 - t * 55);
  return `hsl(142 60% ${light}%)`;
}

/** Whether the OpenAPI document served by the API has the availability route. */
export function hasAvailabilityRoute(doc: unknown): boolean {
  const paths = (doc as { paths?: Record<string, unknown> } | null)?.paths;
  return !!paths && AVAILABILITY_PATH in paths;
}

/**
 * The most slots one `GET /v1/availability` answers (the API's MAX_AVAILABILITY_SLOTS,
 * sessions/capacity-book.ts; a unit test holds them equal). A week of 30- or 60-minute slots is
 * more, so the page asks in parts.
 */
export const MAX_SLOTS_PER_REQUEST = 96;

/** [from, to) cut into consecutive ranges of at most `maxSlots` slots of `stepMinutes` each. */
export function availabilityRanges(
  fromMs: number,
  toMs: number,
  stepMinutes: number,
  maxSlots = MAX_SLOTS_PER_REQUEST,
): { from: string; to: string }[] {
  const span = maxSlots * stepMinutes * 60_000;
  const out: { from: string; to: string }[] = [];
  for (let s = fromMs; s < toMs; s += span) {
    out.push({ from: new Date(s).toISOString(), to: new Date(Math.min(toMs, s + span)).toISOString() });
  }
  return out;
}
