import { ec2Compute, fleetTask } from '@lcm/shared/app';
import { resolveImage } from '@lcm/shared/fleet';

/** Worker provisioning task ResolveImage: The template's AMI: explicit id, or the newest image matching its name pattern (packages/shared/src/fleet/steps/provisioning.ts). */
export const handler = fleetTask('ResolveImage', resolveImage, { compute: ec2Compute });
