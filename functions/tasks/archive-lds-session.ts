import { lifecycleTask } from '@lcm/shared/sessions/steps/handler';
import { archiveLdsStep } from '@lcm/shared/sessions/steps/teardown';

/** Session workflow task ArchiveLdsSession: archive the LDS session, ARCHIVED (lifecycle/teardown.ts). */
export const handler = lifecycleTask('ArchiveLdsSession', archiveLdsStep);
