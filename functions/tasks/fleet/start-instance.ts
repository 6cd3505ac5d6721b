import { fleetTask } from '@lcm/shared/commands/worker-lifecycle/handler';
import { startInstance } from '@lcm/shared/commands/worker-lifecycle/provisioning';

/** Worker provisioning task StartInstance: StartInstances for a stopped worker (already STARTING) (packages/shared/src/commands/worker-lifecycle/provisioning.ts). */
export const handler = fleetTask('StartInstance', startInstance);
