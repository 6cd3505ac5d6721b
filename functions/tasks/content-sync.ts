import { Logger } from '@aws-lambda-powertools/logger';
import { createStores } from '@lcm/shared/app';
import {
  type ContentSyncDeps,
  defaultContentStore,
  runContentSync,
  type SyncRunResult,
} from '@lcm/shared/catalogue';
import { createDocumentClient } from '@lcm/shared/platform';
import type { Context } from 'aws-lambda';

/**
 * Content sync worker (catalogue/content/sync.ts): performs the pending sync of one definition —
 * download from its contentUri, SHA-256, extract and validate, new version or recorded no-op or
 * FAILED with a diagnostic. Started by the table stream (functions/streams/triggers.ts) and
 * invocable directly with `{ "definitionId": "..." }` (a re-drive). Environment: TABLE_NAME
 * (+ AWS_ENDPOINT_URL_DYNAMODB locally); the package is read from S3 (AWS_ENDPOINT_URL_S3 when
 * set). Needs s3:GetObject on the content bucket and read/write on the table.
 */

export const contentLogger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'lcm-content',
});

let cached: { key: string; deps: ContentSyncDeps } | undefined;

/** The worker's dependencies from the environment, once per cold start (rebuilt if it changes). */
export function contentSyncDepsFromEnv(): ContentSyncDeps {
  const tableName = process.env.TABLE_NAME;
  if (!tableName) throw new Error('TABLE_NAME is not set');
  const key = `${tableName}@${process.env.AWS_ENDPOINT_URL_DYNAMODB ?? ''}`;
  if (cached?.key !== key) {
    const stores = createStores({ client: createDocumentClient(), tableName });
    cached = { key, deps: { definitions: stores.definitions, content: defaultContentStore() } };
  }
  return cached.deps;
}

export interface ContentSyncEvent {
  definitionId: string;
}

/** What the worker reports (the definition itself is on the table). */
export interface ContentSyncSummary {
  definitionId: string;
  outcome: SyncRunResult['outcome'];
  version: number;
  contentHash?: string;
  diagnostic?: string;
  reason?: string;
}

export function summarise(definitionId: string, result: SyncRunResult): ContentSyncSummary {
  return {
    definitionId,
    outcome: result.outcome,
    version: result.definition.version,
    ...('contentHash' in result ? { contentHash: result.contentHash } : {}),
    ...('diagnostic' in result ? { diagnostic: result.diagnostic } : {}),
    ...('reason' in result ? { reason: result.reason } : {}),
  };
}

/** Runs one definition's pending sync and logs the outcome. */
export async function performContentSync(
  deps: ContentSyncDeps,
  definitionId: string,
): Promise<ContentSyncSummary> {
  const summary = summarise(definitionId, await runContentSync(deps, definitionId));
  if (summary.outcome === 'failed') contentLogger.warn('content sync failed', { ...summary });
  else contentLogger.info(`content sync ${summary.outcome}`, { ...summary });
  return summary;
}

export function contentSyncTask(deps: () => ContentSyncDeps = contentSyncDepsFromEnv) {
  return async (event: ContentSyncEvent, context?: Context): Promise<ContentSyncSummary> => {
    if (context) contentLogger.addContext(context);
    if (typeof event?.definitionId !== 'string' || event.definitionId === '') {
      throw new Error('content-sync expects { "definitionId": "<id>" }');
    }
    return performContentSync(deps(), event.definitionId);
  };
}

export const handler = contentSyncTask();
