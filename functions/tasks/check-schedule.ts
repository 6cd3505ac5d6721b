import { lifecycleTask } from '@lcm/shared/commands/lifecycle/handler';
import { checkScheduleStep } from '@lcm/shared/commands/lifecycle/place';

/** Session workflow task CheckSchedule: is it time to instantiate; sees termination while waiting (lifecycle/place.ts). */
export const handler = lifecycleTask('CheckSchedule', checkScheduleStep);
