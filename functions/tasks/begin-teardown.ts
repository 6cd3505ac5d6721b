import { sessionTask } from '@lcm/shared/app';
import { beginTeardownStep } from '@lcm/shared/sessions';

/** Session workflow task BeginTeardown: failure reason, STOPPING (lifecycle/teardown.ts). */
export const handler = sessionTask('BeginTeardown', beginTeardownStep);
