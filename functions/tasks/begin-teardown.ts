import { lifecycleTask } from '@lcm/shared/app';
import { beginTeardownStep } from '@lcm/shared/sessions';

/** Session workflow task BeginTeardown: failure reason, STOPPING (lifecycle/teardown.ts). */
export const handler = lifecycleTask('BeginTeardown', beginTeardownStep);
