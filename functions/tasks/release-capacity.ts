import { sessionTask } from '@lcm/shared/app';
import { releaseCapacityStep } from '@lcm/shared/sessions';

/** Session workflow task ReleaseCapacity: the placement release transaction, STOPPED (lifecycle/teardown.ts). */
export const handler = sessionTask('ReleaseCapacity', releaseCapacityStep);
