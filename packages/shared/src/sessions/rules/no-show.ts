/**
 * The login deadline (issue 10: no-shows hold capacity), pure. A READY session waits for its
 * learner's login (the workflow's AwaitLogin); a learner who has not logged in `noShowAfterSeconds`
 * after the timeslot start is a no-show, and the session ends NO_SHOW with its lab torn down and
 * its capacity released, instead of holding the host until the timeslot end. On the fleet
 * benchmark's world (5 % no-shows) the held capacity was about 3 % of LCM's cost. 0 keeps the
 * wait until the timeslot end; the deadline is never later than the timeslot end (which an
 * extension may move).
 */
export function loginDeadlineMs(
  timeslot: { start: string; end: string },
  config: { noShowAfterSeconds: number },
): number {
  const endMs = Date.parse(timeslot.end);
  if (!(config.noShowAfterSeconds > 0)) return endMs;
  return Math.min(endMs, Date.parse(timeslot.start) + config.noShowAfterSeconds * 1000);
}
