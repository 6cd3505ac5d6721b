import type { FleetDeps } from '../fleet/index.ts';
import {
  deleteLeftoverLabs,
  failStuckProvisioning,
  type HealthSweepResult,
  healthSweep,
  type LeftoverLabsResult,
  type ReconcileResult,
  reconcileFleet,
  runScaleDown,
  runScaleUp,
  type ScalingRunResult,
  type StuckProvisioningResult,
} from '../fleet/index.ts';
import {
  type IdleSweepResult,
  type PoolReconcileResult,
  reconcilePools,
  type StuckSessionResult,
  sweepIdleSessions,
  sweepStuckSessions,
} from '../sessions/index.ts';
import type { FleetRuntimeDeps } from './fleet-env.ts';

/** The scheduled jobs (functions/schedules/*.ts), each over the fleet dependencies. */

/** Scale-up over the sessions' demand and the hot-start pools' unplaced labs. */
export const scaleUpJob = (deps: FleetRuntimeDeps): Promise<ScalingRunResult> =>
  runScaleUp({ ...deps, config: deps.scalingConfig, poolDemand: deps.poolDemand });

export const scaleDownJob = (deps: FleetDeps): Promise<ScalingRunResult> =>
  runScaleDown({ ...deps, config: deps.scalingConfig });

/**
 * Reconciliation with EC2 first (so the sweep does not probe a worker whose instance is gone), then
 * the provisionings past their bound (FAILED, instances terminated), then health, then the labs
 * force-released sessions left on live workers (deleted once CML answers).
 */
export async function healthSweepJob(deps: FleetDeps): Promise<{
  reconcile: ReconcileResult;
  stuckProvisioning: StuckProvisioningResult;
  health: HealthSweepResult;
  leftoverLabs: LeftoverLabsResult;
}> {
  const reconcile = await reconcileFleet(deps);
  const stuckProvisioning = await failStuckProvisioning(deps);
  const health = await healthSweep(deps);
  const leftoverLabs = await deleteLeftoverLabs(deps);
  return { reconcile, stuckProvisioning, health, leftoverLabs };
}

/** Dead workflows: resumable sessions re-driven from their stored state, the rest torn down. */
export const stuckSessionsJob = (deps: FleetRuntimeDeps): Promise<StuckSessionResult> =>
  sweepStuckSessions({ ...deps, teardown: deps.sessionTeardown, redrive: deps.sessionRedrive });

/** Paused learners past their definition's idle limit: warned, then finished (sessions/idle-sessions.ts). */
export const idleSessionsJob = (deps: FleetRuntimeDeps): Promise<IdleSweepResult> =>
  sweepIdleSessions(deps.idleSweep);

/**
 * The same sweep at the start of a stack on kept state (the local stack's `npm start`): nothing
 * of the previous run still runs there, so there is no grace period — every session whose
 * execution is gone is re-driven (or torn down) at once, before the first scheduled run.
 */
export const startupRecoveryJob = (deps: FleetRuntimeDeps): Promise<StuckSessionResult> =>
  sweepStuckSessions({
    sessions: deps.sessions,
    workflows: deps.workflows,
    teardown: deps.sessionTeardown,
    redrive: deps.sessionRedrive,
    config: { stuckSessionGraceSeconds: 0 },
  });

/** Every minute: the hot-start pools filled, refilled, trimmed, drained and emptied (sessions/pools.ts). */
export const poolReconcileJob = (deps: FleetRuntimeDeps): Promise<PoolReconcileResult> =>
  reconcilePools(deps.pools);
