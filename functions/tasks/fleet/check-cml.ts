import { fleetTask } from '@lcm/shared/app';
import { checkCml } from '@lcm/shared/fleet';

/** Worker provisioning task CheckCml: Whether CML system_information reports ready (bounded by boot minutes + margin) (packages/shared/src/fleet/steps/provisioning.ts). */
export const handler = fleetTask('CheckCml', checkCml);
