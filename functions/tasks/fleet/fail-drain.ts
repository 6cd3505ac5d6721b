import { failDrain } from '@lcm/shared/commands/worker-lifecycle/drain';
import { fleetTask } from '@lcm/shared/commands/worker-lifecycle/handler';

/** Worker drain task FailDrain: A drain that failed: FAILED and the instance terminated, unless sessions remain (packages/shared/src/commands/worker-lifecycle/drain.ts). */
export const handler = fleetTask('FailDrain', failDrain);
