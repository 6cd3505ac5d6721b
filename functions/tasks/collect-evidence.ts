import { collectEvidenceStep } from '@lcm/shared/commands/lifecycle/collect';
import { lifecycleTask } from '@lcm/shared/commands/lifecycle/handler';

/** Session workflow task CollectEvidence: RUNNING → COLLECTING, device configurations to the evidence store (lifecycle/collect.ts). */
export const handler = lifecycleTask('CollectEvidence', collectEvidenceStep);
