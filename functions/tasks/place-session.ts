import { lifecycleTask } from '@lcm/shared/commands/lifecycle/handler';
import { placeStep } from '@lcm/shared/commands/lifecycle/place';

/** Session workflow task PlaceSession: place on a worker or say when to try again (packages/shared/src/commands/lifecycle/place.ts). */
export const handler = lifecycleTask('PlaceSession', placeStep);
