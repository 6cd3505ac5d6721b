import { sessionTask } from '@lcm/shared/app';
import { checkTimeslotEndStep } from '@lcm/shared/sessions';

/**
 * Session workflow task CheckTimeslotEnd: after the LOGIN or END wait timed out, whether the
 * timeslot was extended and how long to wait again (sessions/steps/extension.ts).
 */
export const handler = sessionTask('CheckTimeslotEnd', checkTimeslotEndStep);
