import { drainStep } from '@lcm/shared/commands/worker-lifecycle/drain';
import { fleetTask } from '@lcm/shared/commands/worker-lifecycle/handler';

/** Worker drain task DrainStep: One step of a drain: wait for sessions, stop or terminate, STOPPED / TERMINATED (packages/shared/src/commands/worker-lifecycle/drain.ts). */
export const handler = fleetTask('DrainStep', drainStep);
