import { submitGradingStep } from '@lcm/shared/commands/lifecycle/grading';
import { lifecycleTask } from '@lcm/shared/commands/lifecycle/handler';

/** Session workflow task SubmitGrading: COLLECTING → GRADING, submission to the Grading Engine (lifecycle/grading.ts). */
export const handler = lifecycleTask('SubmitGrading', submitGradingStep);
