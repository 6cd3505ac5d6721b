import { lifecycleTask } from '@lcm/shared/app';
import { collectEvidenceStep } from '@lcm/shared/sessions';

/** Session workflow task CollectEvidence: RUNNING → COLLECTING, device configurations to the evidence store (lifecycle/collect.ts). */
export const handler = lifecycleTask('CollectEvidence', collectEvidenceStep);
