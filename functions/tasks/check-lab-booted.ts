import { sessionTask } from '@lcm/shared/app';
import { checkLabBootedStep } from '@lcm/shared/sessions';

/** Session workflow task CheckLabBooted: has the lab converged (lifecycle/instantiate.ts). */
export const handler = sessionTask('CheckLabBooted', checkLabBootedStep);
