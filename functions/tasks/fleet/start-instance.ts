import { fleetTask } from '@lcm/shared/fleet/steps/handler';
import { startInstance } from '@lcm/shared/fleet/steps/provisioning';

/** Worker provisioning task StartInstance: StartInstances for a stopped worker (already STARTING) (packages/shared/src/fleet/steps/provisioning.ts). */
export const handler = fleetTask('StartInstance', startInstance);
