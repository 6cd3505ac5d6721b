import { scaleDownJob } from '@lcm/shared/fleet/jobs';
import { fleetJob } from '@lcm/shared/fleet/steps/handler';

/** Every 5 minutes: scale-down evaluation (packages/shared/src/fleet/scalers.ts runScaleDown). */
export const handler = fleetJob('scale-down', scaleDownJob);
