import { fleetTask } from '@lcm/shared/app';
import { registerLicense } from '@lcm/shared/fleet';

/** Worker provisioning task RegisterLicense: CML licensing as the template asks (packages/shared/src/fleet/steps/provisioning.ts). */
export const handler = fleetTask('RegisterLicense', registerLicense);
