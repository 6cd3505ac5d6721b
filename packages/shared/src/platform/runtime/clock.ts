/**
 * The one clock. Use cases read the time through `nowOf(deps)` (or `nowIso(deps)`): the `clock`
 * a test passes in their dependencies, else the system clock.
 */
export type Clock = () => Date;

/** The system clock. */
export const clock: Clock = () => new Date();

/** What a use case's dependencies may carry: a clock of their own (tests). */
export interface Clocked {
  clock?: Clock | undefined;
}

export const nowOf = (deps: Clocked): Date => (deps.clock ?? clock)();

/**
 * The time as an ISO-8601 timestamp, the form stored on items: of the deps' clock, or of a clock
 * itself (the stores pass their config's), else the system's.
 */
export const nowIso = (source?: Clocked | Clock): string =>
  (typeof source === 'function' ? source() : nowOf(source ?? {})).toISOString();
