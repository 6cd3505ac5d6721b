import { lifecycleTask } from '@lcm/shared/commands/lifecycle/handler';
import { completeTeardownStep } from '@lcm/shared/commands/lifecycle/teardown';

/** Session workflow task CompleteTeardown: TERMINATED once everything is released (lifecycle/teardown.ts). */
export const handler = lifecycleTask('CompleteTeardown', completeTeardownStep);
