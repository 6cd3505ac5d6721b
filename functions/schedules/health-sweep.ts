import { fleetJob } from '@lcm/shared/commands/worker-lifecycle/handler';
import { healthSweepJob } from '@lcm/shared/commands/worker-lifecycle/jobs';

/**
 * Every 5 minutes: reconciliation with EC2, then the health and metrics sweep
 * (packages/shared/src/commands/worker-lifecycle/reconcile.ts and health.ts).
 */
export const handler = fleetJob('health-sweep', healthSweepJob);
