import { lifecycleTask } from '@lcm/shared/sessions/steps/handler';
import { releaseCapacityStep } from '@lcm/shared/sessions/steps/teardown';

/** Session workflow task ReleaseCapacity: the placement release transaction, STOPPED (lifecycle/teardown.ts). */
export const handler = lifecycleTask('ReleaseCapacity', releaseCapacityStep);
