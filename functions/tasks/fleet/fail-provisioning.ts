import { ec2Compute, fleetTask } from '@lcm/shared/app';
import { failProvisioning } from '@lcm/shared/fleet';

/** Worker provisioning task FailProvisioning: Terminate every instance of the worker; FAILED (or TERMINATED when its termination was requested) (packages/shared/src/fleet/steps/provisioning.ts). */
export const handler = fleetTask('FailProvisioning', failProvisioning, { compute: ec2Compute });
