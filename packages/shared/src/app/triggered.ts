import type { Context } from 'aws-lambda';
import {
  type ContentSyncDeps,
  defaultContentStore,
  runContentSync,
  type SyncRunResult,
} from '../catalogue/index.ts';
import { cachedDeps, lazy, logger, traced, traceSubjectsOf } from '../platform/index.ts';
import { type ObservationRunResult, type ObserveDeps, runObservationRequest } from '../sessions/index.ts';
import { CONTENT_SYNC_ENV } from './env.ts';
import { sessionTaskDeps } from './session-env.ts';
import { tableStores } from './stores.ts';

/**
 * The work the table stream triggers (functions/streams/triggers.ts), also invocable directly
 * as the functions functions/tasks/content-sync.ts and functions/tasks/observe.ts (a re-drive):
 *
 * - content sync (catalogue/content/sync.ts): the pending sync of one definition: download from
 *   its contentUri, SHA-256, extract and validate, new version or recorded no-op or FAILED with a
 *   diagnostic. CONTENT_SYNC_ENV: TABLE_NAME; the package is read from S3 (AWS_ENDPOINT_URL_S3
 *   when set).
 * - manual observation (sessions/observations.ts): the pending observation request of one
 *   session: reads the lab from CML, records the observation with the requesting principal as
 *   observer, port drift and lease conflicts, then clears the request (or marks it FAILED). The
 *   session tasks' environment (TABLE_NAME, CML credentials; app/session-env.ts).
 */

// --- content sync ----------------------------------------------------------------------------

export const contentSyncDeps = /* @__PURE__ */ cachedDeps('stream-consumer', CONTENT_SYNC_ENV, (env) => {
  const stores = tableStores(env.TABLE_NAME);
  return lazy<ContentSyncDeps>({ definitions: () => stores().definitions, content: defaultContentStore });
});

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
  if (summary.outcome === 'failed') logger.warn('content sync failed', { ...summary });
  else logger.info(`content sync ${summary.outcome}`, { ...summary });
  return summary;
}

export const contentSyncTask = (deps: () => ContentSyncDeps = contentSyncDeps) =>
  workerHandler<ContentSyncEvent, ContentSyncDeps, ContentSyncSummary>(
    'content-sync',
    'definitionId',
    performContentSync,
    deps,
  );

// --- manual observation ----------------------------------------------------------------------

/** The observation worker's dependencies: the session tasks' stores and CML clients. */
export function observeDeps(): ObserveDeps {
  const deps = sessionTaskDeps();
  return { ...deps.stores, cml: deps.cml, ...(deps.clock ? { clock: deps.clock } : {}) };
}

export interface ObserveEvent {
  sessionId: string;
}

export type ObserveSummary = { sessionId: string; outcome: ObservationRunResult['outcome'] } & Record<
  string,
  unknown
>;

/** Runs one session's pending observation request and logs the outcome. */
export async function performObservation(deps: ObserveDeps, sessionId: string): Promise<ObserveSummary> {
  const result = await runObservationRequest(deps, sessionId);
  const summary: ObserveSummary =
    result.outcome === 'observed'
      ? {
          sessionId,
          outcome: result.outcome,
          observedAt: result.observation.observedAt,
          observer: result.observation.observer,
          hasDrift: result.observation.drift?.hasDrift === true,
          conflicts: result.observation.drift?.conflicts.length ?? 0,
        }
      : result.outcome === 'failed'
        ? { sessionId, outcome: result.outcome, error: result.error }
        : { sessionId, outcome: result.outcome, reason: result.reason };
  if (result.outcome === 'failed') logger.warn('observation request failed', summary);
  else logger.info(`observation request ${result.outcome}`, summary);
  return summary;
}

export const observeTask = (deps: () => ObserveDeps = observeDeps) =>
  workerHandler<ObserveEvent, ObserveDeps, ObserveSummary>('observe', 'sessionId', performObservation, deps);

/** A worker also invocable directly with `{ "<field>": "<id>" }`. */
function workerHandler<E, D, S>(
  name: string,
  field: keyof E & string,
  perform: (deps: D, id: string) => Promise<S>,
  deps: () => D,
): (event: E, context?: Context) => Promise<S> {
  return (event, context) =>
    traced(
      name,
      async () => {
        if (context) logger.addContext(context);
        const id = (event as Record<string, unknown> | undefined)?.[field];
        if (typeof id !== 'string' || id === '') throw new Error(`${name} expects { "${field}": "<id>" }`);
        return perform(deps(), id);
      },
      traceSubjectsOf(event),
    );
}
