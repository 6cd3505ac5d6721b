import { fleetJob, scaleUpJob } from '@lcm/shared/app';

/** Every minute: scale-up evaluation (packages/shared/src/fleet/scalers.ts runScaleUp). */
export const handler = fleetJob('scale-up', scaleUpJob);
