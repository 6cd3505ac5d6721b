import { sessionTask } from '@lcm/shared/app';
import { deleteLabStep } from '@lcm/shared/sessions';

/** Session workflow task DeleteLab: stop, wipe and delete the CML lab (lifecycle/teardown.ts). */
export const handler = sessionTask('DeleteLab', deleteLabStep);
