import { fleetJob, scaleDownJob } from '@lcm/shared/app';

/** Every 5 minutes: scale-down evaluation (packages/shared/src/fleet/scalers.ts runScaleDown). */
export const handler = fleetJob('scale-down', scaleDownJob);
