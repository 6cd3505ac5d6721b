import { lifecycleTask } from '@lcm/shared/commands/lifecycle/handler';
import { beginTeardownStep } from '@lcm/shared/commands/lifecycle/teardown';

/** Session workflow task BeginTeardown: failure reason, STOPPING (lifecycle/teardown.ts). */
export const handler = lifecycleTask('BeginTeardown', beginTeardownStep);
