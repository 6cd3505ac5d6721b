import { ec2Compute, fleetJob, healthSweepJob } from '@lcm/shared/app';

/**
 * Every 5 minutes: reconciliation with EC2, then the health and metrics sweep
 * (packages/shared/src/fleet/reconcile.ts and health.ts).
 */
export const handler = fleetJob('health-sweep', healthSweepJob, { compute: ec2Compute });
