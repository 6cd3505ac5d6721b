import { lifecycleTask } from '@lcm/shared/sessions/steps/handler';
import { importLabStep } from '@lcm/shared/sessions/steps/instantiate';

/** Session workflow task ImportLab: import the topology with the allocated ports and start it (lifecycle/instantiate.ts). */
export const handler = lifecycleTask('ImportLab', importLabStep);
