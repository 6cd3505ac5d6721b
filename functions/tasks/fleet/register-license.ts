import { fleetTask } from '@lcm/shared/commands/worker-lifecycle/handler';
import { registerLicense } from '@lcm/shared/commands/worker-lifecycle/provisioning';

/** Worker provisioning task RegisterLicense: CML licensing as the template asks (packages/shared/src/commands/worker-lifecycle/provisioning.ts). */
export const handler = fleetTask('RegisterLicense', registerLicense);
