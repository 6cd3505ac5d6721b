import { contentSyncTask } from '@lcm/shared/app';

/**
 * Content sync worker: performs the pending sync of one definition (packages/shared/src/app/triggered.ts).
 * Started by the table stream (functions/streams/triggers.ts) and invocable directly with
 * `{ "definitionId": "..." }` (a re-drive). Needs s3:GetObject on the content bucket and the table.
 */
export const handler = contentSyncTask();
