import { sessionTask } from '@lcm/shared/app';
import { checkScheduleStep } from '@lcm/shared/sessions';

/** Session workflow task CheckSchedule: is it time to instantiate; sees termination while waiting (lifecycle/place.ts). */
export const handler = sessionTask('CheckSchedule', checkScheduleStep);
