import { Logger } from '@aws-lambda-powertools/logger';
import { taskDeps } from '@lcm/shared/app';
import { type ObservationRunResult, type ObserveDeps, runObservationRequest } from '@lcm/shared/sessions';
import type { Context } from 'aws-lambda';

/**
 * Manual observation worker (sessions/observations.ts): performs the pending observation
 * request of one session — reads the lab from CML, records the observation with the requesting
 * principal as observer, port drift and lease conflicts — then clears the request (or marks it
 * FAILED with the error). Started by the table stream (functions/streams/triggers.ts) and
 * invocable directly with `{ "sessionId": "..." }`. Environment: as the session workflow's tasks
 * (TABLE_NAME, CML credentials; app/session-env.ts).
 */

export const observeLogger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'lcm-observe',
});

/** The worker's dependencies: the session workflow tasks' stores and CML clients. */
export function observeDepsFromEnv(): ObserveDeps {
  const deps = taskDeps();
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
  if (result.outcome === 'failed') observeLogger.warn('observation request failed', summary);
  else observeLogger.info(`observation request ${result.outcome}`, summary);
  return summary;
}

export function observeTask(deps: () => ObserveDeps = observeDepsFromEnv) {
  return async (event: ObserveEvent, context?: Context): Promise<ObserveSummary> => {
    if (context) observeLogger.addContext(context);
    if (typeof event?.sessionId !== 'string' || event.sessionId === '') {
      throw new Error('observe expects { "sessionId": "<id>" }');
    }
    return performObservation(deps(), event.sessionId);
  };
}

export const handler = observeTask();
