import { lifecycleTask } from '@lcm/shared/commands/lifecycle/handler';
import { awaitStep } from '@lcm/shared/commands/lifecycle/running';

/** Session workflow tasks AwaitLogin/AwaitEnd/AwaitGrading (.waitForTaskToken): store the token on the session (commands/waits.ts). */
export const handler = lifecycleTask('RegisterWait', awaitStep);
