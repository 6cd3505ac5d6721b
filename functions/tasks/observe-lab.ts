import { sessionTask } from '@lcm/shared/app';
import { observeLabStep } from '@lcm/shared/sessions';

/** Session workflow task ObserveLab: resource observation with port drift (lifecycle/collect.ts). */
export const handler = sessionTask('ObserveLab', observeLabStep);
