import { fleetTask } from '@lcm/shared/commands/worker-lifecycle/handler';
import { prepareProvisioning } from '@lcm/shared/commands/worker-lifecycle/provisioning';

/** Worker provisioning task PrepareProvisioning: Read the worker: LAUNCH, START or nothing to do (packages/shared/src/commands/worker-lifecycle/provisioning.ts). */
export const handler = fleetTask('PrepareProvisioning', prepareProvisioning);
