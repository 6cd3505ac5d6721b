import { fleetTask } from '@lcm/shared/commands/worker-lifecycle/handler';
import { checkInstance } from '@lcm/shared/commands/worker-lifecycle/provisioning';

/** Worker provisioning task CheckInstance: Whether the instance runs with an IP; STARTING with ipAddress and cmlBaseUrl (packages/shared/src/commands/worker-lifecycle/provisioning.ts). */
export const handler = fleetTask('CheckInstance', checkInstance);
