import { evidenceStore, sessionTask } from '@lcm/shared/app';
import { collectEvidenceStep } from '@lcm/shared/sessions';

/** Session workflow task CollectEvidence: RUNNING → COLLECTING, device configurations to the evidence store (sessions/steps/collect.ts). */
export const handler = sessionTask('CollectEvidence', collectEvidenceStep, { evidence: evidenceStore });
