import { fleetTask } from '@lcm/shared/commands/worker-lifecycle/handler';
import { checkCml } from '@lcm/shared/commands/worker-lifecycle/provisioning';

/** Worker provisioning task CheckCml: Whether CML system_information reports ready (bounded by boot minutes + margin) (packages/shared/src/commands/worker-lifecycle/provisioning.ts). */
export const handler = fleetTask('CheckCml', checkCml);
