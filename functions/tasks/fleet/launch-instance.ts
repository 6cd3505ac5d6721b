import { ec2Compute, fleetTask } from '@lcm/shared/app';
import { launchInstance } from '@lcm/shared/fleet';

/** Worker provisioning task LaunchInstance: RunInstances (ClientToken = worker id, tags, network, profile, user data); PROVISIONING (packages/shared/src/fleet/steps/provisioning.ts). */
export const handler = fleetTask('LaunchInstance', launchInstance, { compute: ec2Compute });
