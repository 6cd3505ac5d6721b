import { lifecycleTask } from '@lcm/shared/commands/lifecycle/handler';
import { importLabStep } from '@lcm/shared/commands/lifecycle/instantiate';

/** Session workflow task ImportLab: import the topology with the allocated ports and start it (lifecycle/instantiate.ts). */
export const handler = lifecycleTask('ImportLab', importLabStep);
