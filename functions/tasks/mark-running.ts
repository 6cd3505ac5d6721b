import { lifecycleTask } from '@lcm/shared/sessions/steps/handler';
import { markRunningStep } from '@lcm/shared/sessions/steps/running';

/** Session workflow task MarkRunning: READY → RUNNING after the login (lifecycle/running.ts). */
export const handler = lifecycleTask('MarkRunning', markRunningStep);
