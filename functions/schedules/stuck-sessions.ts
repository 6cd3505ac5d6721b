import { fleetJob, stuckSessionsJob } from '@lcm/shared/app';

/** Every 5 minutes: sessions whose workflow is gone are torn down (worker-lifecycle/stuck-sessions.ts). */
export const handler = fleetJob('stuck-sessions', stuckSessionsJob);
