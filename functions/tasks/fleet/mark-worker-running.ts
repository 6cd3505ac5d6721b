import { fleetTask } from '@lcm/shared/commands/worker-lifecycle/handler';
import { markRunning } from '@lcm/shared/commands/worker-lifecycle/provisioning';

/** Worker provisioning task MarkWorkerRunning: STARTING -> RUNNING (packages/shared/src/commands/worker-lifecycle/provisioning.ts). */
export const handler = fleetTask('MarkWorkerRunning', markRunning);
