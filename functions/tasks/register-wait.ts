import { lifecycleTask } from '@lcm/shared/sessions/steps/handler';
import { awaitStep } from '@lcm/shared/sessions/steps/running';

/** Session workflow tasks AwaitLogin/AwaitEnd/AwaitGrading (.waitForTaskToken): store the token on the session (sessions/waits.ts). */
export const handler = lifecycleTask('RegisterWait', awaitStep);
