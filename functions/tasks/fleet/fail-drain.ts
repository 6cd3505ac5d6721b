import { ec2Compute, fleetTask } from '@lcm/shared/app';
import { failDrain } from '@lcm/shared/fleet';

/** Worker drain task FailDrain: A drain that failed: FAILED and the instance terminated, unless sessions remain (packages/shared/src/fleet/steps/drain.ts). */
export const handler = fleetTask('FailDrain', failDrain, { compute: ec2Compute });
