import { VersionConflictError } from '../../kernel/index.ts';

/** Jittered exponential backoff for optimistic-concurrency retries. */
export interface RetryOptions {
  /** Total attempts including the first (default 100). */
  maxAttempts?: number;
  /** First delay ceiling in ms (default 10); doubles per attempt up to maxDelayMs. */
  baseDelayMs?: number;
  /** Ceiling of a single delay in ms (default 1000). */
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** [0, 1) source for the jitter (tests pass a seeded one). */
  random?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** "Full jitter" (AWS Architecture Blog): uniform in [0, min(cap, base * 2^attempt)). */
export function backoffDelay(attempt: number, opts: RetryOptions = {}): number {
  const base = opts.baseDelayMs ?? 10;
  const cap = opts.maxDelayMs ?? 1000;
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 20));
  return Math.floor((opts.random ?? Math.random)() * ceiling);
}

/**
 * Runs `attempt` until it returns without a VersionConflictError, re-running it (it must
 * re-read what it depends on) after a jittered delay; after maxAttempts the last conflict is
 * rethrown. Any other error is rethrown at once.
 */
export async function retryOnConflict<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  opts: RetryOptions = {},
): Promise<{ value: T; attempts: number }> {
  const maxAttempts = opts.maxAttempts ?? 100;
  const sleep = opts.sleep ?? defaultSleep;
  for (let n = 1; ; n++) {
    try {
      return { value: await attempt(n), attempts: n };
    } catch (e) {
      if (!(e instanceof VersionConflictError) || n >= maxAttempts) throw e;
      await sleep(backoffDelay(n - 1, opts));
    }
  }
}
