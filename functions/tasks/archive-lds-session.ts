import { lifecycleTask } from '@lcm/shared/app';
import { archiveLdsStep } from '@lcm/shared/sessions';

/** Session workflow task ArchiveLdsSession: archive the LDS session, ARCHIVED (lifecycle/teardown.ts). */
export const handler = lifecycleTask('ArchiveLdsSession', archiveLdsStep);
