import { healthSweepJob } from '@lcm/shared/fleet/jobs';
import { fleetJob } from '@lcm/shared/fleet/steps/handler';

/**
 * Every 5 minutes: reconciliation with EC2, then the health and metrics sweep
 * (packages/shared/src/fleet/reconcile.ts and health.ts).
 */
export const handler = fleetJob('health-sweep', healthSweepJob);
