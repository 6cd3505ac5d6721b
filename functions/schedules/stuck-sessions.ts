import { fleetJob, sessionTeardownOf, stuckSessionsJob } from '@lcm/shared/app';

/** Every 5 minutes: sessions whose workflow is gone are torn down (packages/shared/src/sessions/stuck-sessions.ts). */
export const handler = fleetJob('stuck-sessions', stuckSessionsJob, { sessionTeardown: sessionTeardownOf });
