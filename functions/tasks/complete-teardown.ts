import { sessionTask } from '@lcm/shared/app';
import { completeTeardownStep } from '@lcm/shared/sessions';

/** Session workflow task CompleteTeardown: TERMINATED once everything is released (lifecycle/teardown.ts). */
export const handler = sessionTask('CompleteTeardown', completeTeardownStep);
