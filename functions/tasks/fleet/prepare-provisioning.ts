import { fleetTask } from '@lcm/shared/fleet/steps/handler';
import { prepareProvisioning } from '@lcm/shared/fleet/steps/provisioning';

/** Worker provisioning task PrepareProvisioning: Read the worker: LAUNCH, START or nothing to do (packages/shared/src/fleet/steps/provisioning.ts). */
export const handler = fleetTask('PrepareProvisioning', prepareProvisioning);
