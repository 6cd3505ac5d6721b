import { lifecycleTask } from '@lcm/shared/commands/lifecycle/handler';
import { provisionLdsStep } from '@lcm/shared/commands/lifecycle/provision';

/** Session workflow task ProvisionLds: LDS session with devices, then READY (lifecycle/provision.ts). */
export const handler = lifecycleTask('ProvisionLds', provisionLdsStep);
