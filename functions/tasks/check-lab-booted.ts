import { lifecycleTask } from '@lcm/shared/commands/lifecycle/handler';
import { checkLabBootedStep } from '@lcm/shared/commands/lifecycle/instantiate';

/** Session workflow task CheckLabBooted: has the lab converged (lifecycle/instantiate.ts). */
export const handler = lifecycleTask('CheckLabBooted', checkLabBootedStep);
