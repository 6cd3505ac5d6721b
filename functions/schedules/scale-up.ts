import { scaleUpJob } from '@lcm/shared/fleet/jobs';
import { fleetJob } from '@lcm/shared/fleet/steps/handler';

/** Every minute: scale-up evaluation (packages/shared/src/fleet/scalers.ts runScaleUp). */
export const handler = fleetJob('scale-up', scaleUpJob);
