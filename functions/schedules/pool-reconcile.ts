import { fleetJob, poolReconcileJob } from '@lcm/shared/app';

/** Every minute: hot-start pools kept at their depth of converged labs (packages/shared/src/sessions/pools.ts). */
export const handler = fleetJob('pool-reconcile', poolReconcileJob);
