import { type RetryOptions, retryOnConflict } from '../platform/index.ts';
import type { PlacementStore, ReleaseResult } from './placement-store.ts';

export interface ReleaseSessionDeps {
  placement: Pick<PlacementStore, 'release'>;
  clock?: () => Date;
}

/**
 * Gives back a session's capacity and ports (the mirror of placeSession). Idempotent: a
 * session that holds no placement (never placed, or already released) → { released: false }.
 * A lost race with another writer of the worker re-reads and retries.
 */
export async function releaseSession(
  deps: ReleaseSessionDeps,
  sessionId: string,
  opts: RetryOptions = {},
): Promise<ReleaseResult & { attempts: number }> {
  const { value, attempts } = await retryOnConflict(() => deps.placement.release(sessionId), opts);
  return { ...value, attempts };
}
