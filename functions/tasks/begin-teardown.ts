import { lifecycleTask } from '@lcm/shared/sessions/steps/handler';
import { beginTeardownStep } from '@lcm/shared/sessions/steps/teardown';

/** Session workflow task BeginTeardown: failure reason, STOPPING (lifecycle/teardown.ts). */
export const handler = lifecycleTask('BeginTeardown', beginTeardownStep);
