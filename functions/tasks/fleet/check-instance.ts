import { ec2Compute, fleetTask } from '@lcm/shared/app';
import { checkInstance } from '@lcm/shared/fleet';

/** Worker provisioning task CheckInstance: Whether the instance runs with an IP; STARTING with ipAddress and cmlBaseUrl (packages/shared/src/fleet/steps/provisioning.ts). */
export const handler = fleetTask('CheckInstance', checkInstance, { compute: ec2Compute });
