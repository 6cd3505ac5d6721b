import { fleetJob } from '@lcm/shared/commands/worker-lifecycle/handler';
import { stuckSessionsJob } from '@lcm/shared/commands/worker-lifecycle/jobs';

/** Every 5 minutes: sessions whose workflow is gone are torn down (worker-lifecycle/stuck-sessions.ts). */
export const handler = fleetJob('stuck-sessions', stuckSessionsJob);
