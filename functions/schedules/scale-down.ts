import { fleetJob } from '@lcm/shared/commands/worker-lifecycle/handler';
import { scaleDownJob } from '@lcm/shared/commands/worker-lifecycle/jobs';

/** Every 5 minutes: scale-down evaluation (packages/shared/src/commands/scaling.ts runScaleDown). */
export const handler = fleetJob('scale-down', scaleDownJob);
