import { lifecycleTask } from '@lcm/shared/sessions/steps/handler';
import { checkLabBootedStep } from '@lcm/shared/sessions/steps/instantiate';

/** Session workflow task CheckLabBooted: has the lab converged (lifecycle/instantiate.ts). */
export const handler = lifecycleTask('CheckLabBooted', checkLabBootedStep);
