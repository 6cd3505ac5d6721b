import { type StuckSessionResult, sweepStuckSessions } from '../sessions/stuck-sessions.ts';
import type { LifecycleDeps } from './deps.ts';
import { type HealthSweepResult, healthSweep } from './health-sweep.ts';
import { type ReconcileResult, reconcileFleet } from './reconcile.ts';
import { runScaleDown, runScaleUp, type ScalingRunResult } from './scalers.ts';

/** The scheduled jobs (functions/schedules/*.ts), each over the fleet dependencies. */

export const scaleUpJob = (deps: LifecycleDeps): Promise<ScalingRunResult> =>
  runScaleUp({ ...deps, config: deps.scalingConfig });

export const scaleDownJob = (deps: LifecycleDeps): Promise<ScalingRunResult> =>
  runScaleDown({ ...deps, config: deps.scalingConfig });

/** Reconciliation with EC2 first (so the sweep does not probe a worker whose instance is gone), then health. */
export async function healthSweepJob(
  deps: LifecycleDeps,
): Promise<{ reconcile: ReconcileResult; health: HealthSweepResult }> {
  const reconcile = await reconcileFleet(deps);
  const health = await healthSweep(deps);
  return { reconcile, health };
}

export const stuckSessionsJob = (deps: LifecycleDeps): Promise<StuckSessionResult> =>
  sweepStuckSessions({ ...deps, teardown: deps.sessionTeardown });
