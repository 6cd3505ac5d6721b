import { sessionEngine, sessionTask } from '@lcm/shared/app';
import { awaitStep } from '@lcm/shared/sessions';

/** Session workflow tasks AwaitLogin/AwaitEnd/AwaitGrading (.waitForTaskToken): store the token on the session (sessions/waits.ts). */
export const handler = sessionTask('RegisterWait', awaitStep, { engine: sessionEngine });
