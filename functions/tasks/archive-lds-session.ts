import { sessionTask } from '@lcm/shared/app';
import { archiveLdsStep } from '@lcm/shared/sessions';

/** Session workflow task ArchiveLdsSession: archive the LDS session, ARCHIVED (lifecycle/teardown.ts). */
export const handler = sessionTask('ArchiveLdsSession', archiveLdsStep);
