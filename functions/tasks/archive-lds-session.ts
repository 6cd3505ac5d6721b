import { lifecycleTask } from '@lcm/shared/commands/lifecycle/handler';
import { archiveLdsStep } from '@lcm/shared/commands/lifecycle/teardown';

/** Session workflow task ArchiveLdsSession: archive the LDS session, ARCHIVED (lifecycle/teardown.ts). */
export const handler = lifecycleTask('ArchiveLdsSession', archiveLdsStep);
