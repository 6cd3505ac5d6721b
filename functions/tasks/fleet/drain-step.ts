import { ec2Compute, fleetTask } from '@lcm/shared/app';
import { drainStep } from '@lcm/shared/fleet';

/** Worker drain task DrainStep: One step of a drain: wait for sessions, stop or terminate, STOPPED / TERMINATED (packages/shared/src/fleet/steps/drain.ts). */
export const handler = fleetTask('DrainStep', drainStep, { compute: ec2Compute });
