import { lifecycleTask } from '@lcm/shared/sessions/steps/handler';
import { checkScheduleStep } from '@lcm/shared/sessions/steps/place';

/** Session workflow task CheckSchedule: is it time to instantiate; sees termination while waiting (lifecycle/place.ts). */
export const handler = lifecycleTask('CheckSchedule', checkScheduleStep);
