import { fleetTask } from '@lcm/shared/app';
import { markRunning } from '@lcm/shared/fleet';

/** Worker provisioning task MarkWorkerRunning: STARTING -> RUNNING (packages/shared/src/fleet/steps/provisioning.ts). */
export const handler = fleetTask('MarkWorkerRunning', markRunning);
