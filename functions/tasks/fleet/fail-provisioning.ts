import { fleetTask } from '@lcm/shared/commands/worker-lifecycle/handler';
import { failProvisioning } from '@lcm/shared/commands/worker-lifecycle/provisioning';

/** Worker provisioning task FailProvisioning: Terminate every instance of the worker; FAILED (or TERMINATED when its termination was requested) (packages/shared/src/commands/worker-lifecycle/provisioning.ts). */
export const handler = fleetTask('FailProvisioning', failProvisioning);
