import { submitGradingStep } from '@lcm/shared/sessions/steps/grading';
import { lifecycleTask } from '@lcm/shared/sessions/steps/handler';

/** Session workflow task SubmitGrading: COLLECTING → GRADING, submission to the Grading Engine (lifecycle/grading.ts). */
export const handler = lifecycleTask('SubmitGrading', submitGradingStep);
