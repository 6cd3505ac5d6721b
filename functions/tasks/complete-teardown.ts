import { lifecycleTask } from '@lcm/shared/sessions/steps/handler';
import { completeTeardownStep } from '@lcm/shared/sessions/steps/teardown';

/** Session workflow task CompleteTeardown: TERMINATED once everything is released (lifecycle/teardown.ts). */
export const handler = lifecycleTask('CompleteTeardown', completeTeardownStep);
