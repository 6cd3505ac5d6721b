import { ec2Compute, fleetTask } from '@lcm/shared/app';
import { startInstance } from '@lcm/shared/fleet';

/** Worker provisioning task StartInstance: StartInstances for a stopped worker (already STARTING) (packages/shared/src/fleet/steps/provisioning.ts). */
export const handler = fleetTask('StartInstance', startInstance, { compute: ec2Compute });
