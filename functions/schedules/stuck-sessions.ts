import { stuckSessionsJob } from '@lcm/shared/fleet/jobs';
import { fleetJob } from '@lcm/shared/fleet/steps/handler';

/** Every 5 minutes: sessions whose workflow is gone are torn down (worker-lifecycle/stuck-sessions.ts). */
export const handler = fleetJob('stuck-sessions', stuckSessionsJob);
