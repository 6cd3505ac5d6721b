import { collectEvidenceStep } from '@lcm/shared/sessions/steps/collect';
import { lifecycleTask } from '@lcm/shared/sessions/steps/handler';

/** Session workflow task CollectEvidence: RUNNING → COLLECTING, device configurations to the evidence store (lifecycle/collect.ts). */
export const handler = lifecycleTask('CollectEvidence', collectEvidenceStep);
