import { fleetTask } from '@lcm/shared/fleet/steps/handler';
import { markRunning } from '@lcm/shared/fleet/steps/provisioning';

/** Worker provisioning task MarkWorkerRunning: STARTING -> RUNNING (packages/shared/src/fleet/steps/provisioning.ts). */
export const handler = fleetTask('MarkWorkerRunning', markRunning);
