import { observeLabStep } from '@lcm/shared/commands/lifecycle/collect';
import { lifecycleTask } from '@lcm/shared/commands/lifecycle/handler';

/** Session workflow task ObserveLab: resource observation with port drift (lifecycle/collect.ts). */
export const handler = lifecycleTask('ObserveLab', observeLabStep);
