import { lifecycleTask } from '@lcm/shared/commands/lifecycle/handler';
import { releaseCapacityStep } from '@lcm/shared/commands/lifecycle/teardown';

/** Session workflow task ReleaseCapacity: the placement release transaction, STOPPED (lifecycle/teardown.ts). */
export const handler = lifecycleTask('ReleaseCapacity', releaseCapacityStep);
