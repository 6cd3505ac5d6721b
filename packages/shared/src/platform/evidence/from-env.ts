import type { RawEnv } from '../runtime/env.ts';
import { S3EvidenceStore } from './s3.ts';
import { type EvidenceStore, FileEvidenceStore } from './store.ts';

/**
 * The evidence store named by the environment: EVIDENCE_BUCKET (the S3 bucket, in AWS) or
 * EVIDENCE_DIR (a directory, the local stack).
 */
export function createEvidenceStore(env: RawEnv): EvidenceStore {
  if (env.EVIDENCE_BUCKET) return new S3EvidenceStore(env.EVIDENCE_BUCKET);
  if (env.EVIDENCE_DIR) return new FileEvidenceStore(env.EVIDENCE_DIR);
  throw new Error('neither EVIDENCE_BUCKET nor EVIDENCE_DIR is set');
}
