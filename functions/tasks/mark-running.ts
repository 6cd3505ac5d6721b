import { lifecycleTask } from '@lcm/shared/commands/lifecycle/handler';
import { markRunningStep } from '@lcm/shared/commands/lifecycle/running';

/** Session workflow task MarkRunning: READY → RUNNING after the login (lifecycle/running.ts). */
export const handler = lifecycleTask('MarkRunning', markRunningStep);
