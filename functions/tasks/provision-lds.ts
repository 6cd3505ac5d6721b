import { sessionTask } from '@lcm/shared/app';
import { provisionLdsStep } from '@lcm/shared/sessions';

/** Session workflow task ProvisionLds: LDS session with devices, then READY (lifecycle/provision.ts). */
export const handler = sessionTask('ProvisionLds', provisionLdsStep);
