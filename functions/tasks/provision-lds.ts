import { lifecycleTask } from '@lcm/shared/sessions/steps/handler';
import { provisionLdsStep } from '@lcm/shared/sessions/steps/provision';

/** Session workflow task ProvisionLds: LDS session with devices, then READY (lifecycle/provision.ts). */
export const handler = lifecycleTask('ProvisionLds', provisionLdsStep);
