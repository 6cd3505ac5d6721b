import { fleetTask } from '@lcm/shared/app';
import { prepareProvisioning } from '@lcm/shared/fleet';

/** Worker provisioning task PrepareProvisioning: Read the worker: LAUNCH, START or nothing to do (packages/shared/src/fleet/steps/provisioning.ts). */
export const handler = fleetTask('PrepareProvisioning', prepareProvisioning);
