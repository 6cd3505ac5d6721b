import { fleetTask } from '@lcm/shared/commands/worker-lifecycle/handler';
import { resolveImage } from '@lcm/shared/commands/worker-lifecycle/provisioning';

/** Worker provisioning task ResolveImage: The template's AMI: explicit id, or the newest image matching its name pattern (packages/shared/src/commands/worker-lifecycle/provisioning.ts). */
export const handler = fleetTask('ResolveImage', resolveImage);
