import { fleetJob, idleSessionsJob } from '@lcm/shared/app';

/** Every minute: paused learners past their idle limit warned, then finished (packages/shared/src/sessions/idle-sessions.ts). */
export const handler = fleetJob('idle-sessions', idleSessionsJob);
