import { lifecycleTask } from '@lcm/shared/sessions/steps/handler';
import { deleteLabStep } from '@lcm/shared/sessions/steps/teardown';

/** Session workflow task DeleteLab: stop, wipe and delete the CML lab (lifecycle/teardown.ts). */
export const handler = lifecycleTask('DeleteLab', deleteLabStep);
