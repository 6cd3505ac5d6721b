import { observeTask } from '@lcm/shared/app';

/**
 * Manual observation worker: performs the pending observation request of one session
 * (packages/shared/src/app/triggered.ts). Started by the table stream (functions/streams/triggers.ts)
 * and invocable directly with `{ "sessionId": "..." }`.
 */
export const handler = observeTask();
