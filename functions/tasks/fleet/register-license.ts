import { fleetTask } from '@lcm/shared/fleet/steps/handler';
import { registerLicense } from '@lcm/shared/fleet/steps/provisioning';

/** Worker provisioning task RegisterLicense: CML licensing as the template asks (packages/shared/src/fleet/steps/provisioning.ts). */
export const handler = fleetTask('RegisterLicense', registerLicense);
