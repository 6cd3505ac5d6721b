/**
 * When PlaceSession tries again after a failed placement (issue 10: on time at the lowest cost),
 * pure. The backoff (base doubling to the ceiling) spares the store while the session is early,
 * but a host that the scaler launched for the session often becomes RUNNING a few minutes before
 * the lab must be instantiated: a retry that the backoff puts later makes the session late by the
 * rest of that delay (the fleet benchmark's late sessions were mostly 3 or 8 minutes late for this
 * reason alone). So the delay never carries the next attempt past the instant the lab is due to be
 * instantiated (timeslot start − instantiateLeadSeconds), and from that instant on every minute of
 * waiting is a minute of lateness: the delay is a quarter of the lateness already accrued, at least
 * the base and at most the ceiling (a session that cannot be placed for hours costs, as before, at
 * most one attempt per ceiling). Never past the timeslot end, and at least 1 s (Step Functions).
 */
export interface PlacementRetryTiming {
  instantiateLeadSeconds: number;
  placementRetryBaseSeconds: number;
  placementRetryMaxSeconds: number;
}

/** Share of the lateness already accrued that the next delay may add. */
export const LATE_RETRY_SHARE = 0.25;

export function placementRetryDelaySeconds(
  /** Failed attempts so far (0 after the first one failed: the first delay is the base). */
  failures: number,
  nowMs: number,
  timeslot: { startMs: number; endMs: number },
  config: PlacementRetryTiming,
): number {
  const base = config.placementRetryBaseSeconds;
  const cap = Math.max(base, config.placementRetryMaxSeconds);
  const backoff = Math.min(cap, base * 2 ** Math.min(Math.max(0, failures), 20));
  const dueMs = timeslot.startMs - config.instantiateLeadSeconds * 1000;
  let delay: number;
  if (nowMs < dueMs) delay = Math.min(backoff, Math.ceil((dueMs - nowMs) / 1000));
  else delay = Math.min(backoff, Math.max(base, Math.ceil((LATE_RETRY_SHARE * (nowMs - dueMs)) / 1000)));
  const untilEnd = Math.ceil((timeslot.endMs - nowMs) / 1000);
  return Math.max(1, Math.min(delay, untilEnd));
}
