import { sessionTask } from '@lcm/shared/app';
import { importLabStep } from '@lcm/shared/sessions';

/** Session workflow task ImportLab: import the topology with the allocated ports and start it (lifecycle/instantiate.ts). */
export const handler = sessionTask('ImportLab', importLabStep);
