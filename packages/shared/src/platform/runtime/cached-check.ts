/**
 * A check whose answer is reused for a while: `GET /v1/health` asks DynamoDB at most once per
 * `okTtlMs` while it answers (and once per `failTtlMs` while it does not) per warm Lambda, however
 * many callers ask, so an unauthenticated route cannot be turned into a stream of DescribeTable
 * calls. Concurrent callers during a refresh share the one call in flight.
 */
export interface CachedCheckOptions {
  /** How long a passing answer is reused (ms). */
  okTtlMs: number;
  /** How long a failing answer is reused (ms); shorter, so recovery shows quickly. */
  failTtlMs: number;
  /** Milliseconds since the epoch (tests pass their own). */
  now?: () => number;
}

export type CheckOutcome = { ok: true } | { ok: false; error: unknown };

export function cachedCheck(
  check: () => Promise<void>,
  opts: CachedCheckOptions,
): () => Promise<CheckOutcome> {
  const now = opts.now ?? (() => Date.now());
  let last: { outcome: CheckOutcome; at: number } | undefined;
  let inFlight: Promise<CheckOutcome> | undefined;
  return async () => {
    if (last) {
      const ttl = last.outcome.ok ? opts.okTtlMs : opts.failTtlMs;
      if (now() - last.at < ttl) return last.outcome;
    }
    if (!inFlight) {
      inFlight = check()
        .then(
          (): CheckOutcome => ({ ok: true }),
          (error: unknown): CheckOutcome => ({ ok: false, error }),
        )
        .then((outcome) => {
          last = { outcome, at: now() };
          inFlight = undefined;
          return outcome;
        });
    }
    return inFlight;
  };
}
