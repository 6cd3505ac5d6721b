import { sessionTask } from '@lcm/shared/app';
import { submitGradingStep } from '@lcm/shared/sessions';

/** Session workflow task SubmitGrading: COLLECTING → GRADING, submission to the Grading Engine (lifecycle/grading.ts). */
export const handler = sessionTask('SubmitGrading', submitGradingStep);
