import { sessionTask } from '@lcm/shared/app';
import { placeStep } from '@lcm/shared/sessions';

/** Session workflow task PlaceSession: place on a worker or say when to try again (packages/shared/src/sessions/steps/place.ts). */
export const handler = sessionTask('PlaceSession', placeStep);
