import { sessionTask } from '@lcm/shared/app';
import { markRunningStep } from '@lcm/shared/sessions';

/** Session workflow task MarkRunning: READY → RUNNING after the login (lifecycle/running.ts). */
export const handler = sessionTask('MarkRunning', markRunningStep);
