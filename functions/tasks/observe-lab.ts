import { observeLabStep } from '@lcm/shared/sessions/steps/collect';
import { lifecycleTask } from '@lcm/shared/sessions/steps/handler';

/** Session workflow task ObserveLab: resource observation with port drift (lifecycle/collect.ts). */
export const handler = lifecycleTask('ObserveLab', observeLabStep);
