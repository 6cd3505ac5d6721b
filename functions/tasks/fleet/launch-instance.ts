import { fleetTask } from '@lcm/shared/commands/worker-lifecycle/handler';
import { launchInstance } from '@lcm/shared/commands/worker-lifecycle/provisioning';

/** Worker provisioning task LaunchInstance: RunInstances (ClientToken = worker id, tags, network, profile, user data); PROVISIONING (packages/shared/src/commands/worker-lifecycle/provisioning.ts). */
export const handler = fleetTask('LaunchInstance', launchInstance);
