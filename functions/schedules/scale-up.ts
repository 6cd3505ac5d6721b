import { fleetJob } from '@lcm/shared/commands/worker-lifecycle/handler';
import { scaleUpJob } from '@lcm/shared/commands/worker-lifecycle/jobs';

/** Every minute: scale-up evaluation (packages/shared/src/commands/scaling.ts runScaleUp). */
export const handler = fleetJob('scale-up', scaleUpJob);
