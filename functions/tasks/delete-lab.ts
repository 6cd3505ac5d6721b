import { lifecycleTask } from '@lcm/shared/commands/lifecycle/handler';
import { deleteLabStep } from '@lcm/shared/commands/lifecycle/teardown';

/** Session workflow task DeleteLab: stop, wipe and delete the CML lab (lifecycle/teardown.ts). */
export const handler = lifecycleTask('DeleteLab', deleteLabStep);
