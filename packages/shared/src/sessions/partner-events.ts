import {
  INBOUND_EVENT_TYPES,
  type InboundCloudEvent,
  type InboundEventType,
  parseInboundEvent,
  scoreReportFromEvent,
} from '../events/index.ts';
import { isDomainError, NotFoundError } from '../kernel/index.ts';
import { type Log, nowIso } from '../platform/index.ts';
import type { ProcessedEventStore } from './processed-event-store.ts';
import { type ObserveOutcome, observeGradingResult, observeLearnerEvent, type WaitDeps } from './waits.ts';

/**
 * What the EventBridge rule targets (functions/events/*.ts) do with a partner event, DESIGN §7:
 *
 *   running            → observeLearnerEvent LOGIN  (READY → RUNNING: resolves the LOGIN wait)
 *   ended, user-finished → observeLearnerEvent END (RUNNING → COLLECTING: resolves the END wait)
 *   paused             → observeLearnerEvent PAUSED (recorded)
 *   (an LDS event whose ldsSessionId is not the session's stored LDS session → `mismatch`:
 *    acknowledged, logged at WARN, not applied; POST /v1/events had already answered 202)
 *   grading completed  → observeGradingResult {completed: ScoreReport} (resolves GRADING)
 *   grading failed     → observeGradingResult {failed} (FAULTED; the GRADING wait is failed and
 *                        the workflow continues to teardown)
 *
 * Idempotent on (source, id): the handler claims the event with a conditional put that expires
 * by TTL (processedEvents.markProcessed) and skips a repeat. If handling then fails in a way a
 * retry may fix (throttling, a conflict that outlasted its retries, the workflow engine), the
 * claim is released and the error rethrown, so Lambda's async retries (bounded; then the
 * function's on-failure destination) run it again. What a retry cannot fix is acknowledged and
 * logged, never retried: an invalid detail, an unknown session, a moment already passed.
 */

/** How long a processed (source, id) is remembered: longer than any partner or EventBridge retry. */
export const PROCESSED_EVENT_TTL_SECONDS = 7 * 24 * 3600;

/** The logging the handlers need (Powertools Logger fits). */
export type InboundLog = Log;

export interface InboundDeps extends WaitDeps {
  /** Claims (markProcessed) and, on a failure a retry may fix, forgets (release) an event. */
  processedEvents: ProcessedEventStore;
  log?: InboundLog;
  ttlSeconds?: number;
}

export type InboundOutcome =
  | ObserveOutcome
  /** The same (source, id) was handled before. */
  | 'already-processed'
  /** The event names a session LCM does not have. */
  | 'unknown-session'
  /** The detail is not a valid inbound event (or cannot be applied): acknowledged, logged. */
  | 'invalid'
  /** A valid event of a type this target does not handle (a rule/target mismatch). */
  | 'ignored';

export interface InboundResult {
  outcome: InboundOutcome;
  source?: string | undefined;
  id?: string | undefined;
  type?: string | undefined;
  sessionId?: string | undefined;
}

/** The EventBridge event as a rule target receives it (detail = the CloudEvent). */
export interface BusEvent {
  source?: string;
  'detail-type'?: string;
  detail?: unknown;
  id?: string;
}

export const LEARNER_EVENT_TYPES: readonly InboundEventType[] = [
  INBOUND_EVENT_TYPES.ldsSessionRunning,
  INBOUND_EVENT_TYPES.ldsSessionPaused,
  INBOUND_EVENT_TYPES.ldsSessionEnded,
  INBOUND_EVENT_TYPES.ldsSessionUserFinished,
];
export const GRADING_EVENT_TYPES: readonly InboundEventType[] = [
  INBOUND_EVENT_TYPES.gradingSessionCompleted,
  INBOUND_EVENT_TYPES.gradingSessionFailed,
];

const timeOf = (event: InboundCloudEvent): string | undefined =>
  typeof event.time === 'string' ? event.time : undefined;

/** The partner's own correlation ids of an event, for the log. */
const correlationOf = (event: InboundCloudEvent): Record<string, string> =>
  'ldsSessionId' in event.data
    ? { ldsSessionId: event.data.ldsSessionId }
    : 'gradingSessionId' in event.data
      ? { gradingSessionId: event.data.gradingSessionId }
      : {};

/** Applies one validated event to its session (no idempotency here; see handleInboundEvent). */
export async function applyInboundEvent(
  deps: WaitDeps,
  event: InboundCloudEvent,
  receivedAt: string,
): Promise<ObserveOutcome> {
  switch (event.type) {
    case INBOUND_EVENT_TYPES.ldsSessionRunning:
    case INBOUND_EVENT_TYPES.ldsSessionPaused:
    case INBOUND_EVENT_TYPES.ldsSessionEnded:
    case INBOUND_EVENT_TYPES.ldsSessionUserFinished: {
      const kind =
        event.type === INBOUND_EVENT_TYPES.ldsSessionRunning
          ? 'LOGIN'
          : event.type === INBOUND_EVENT_TYPES.ldsSessionPaused
            ? 'PAUSED'
            : 'END';
      const at = event.data.at ?? timeOf(event) ?? receivedAt;
      return (
        await observeLearnerEvent(deps, event.data.lcmSessionId, kind, at, {
          ldsSessionId: event.data.ldsSessionId,
        })
      ).outcome;
    }
    case INBOUND_EVENT_TYPES.gradingSessionCompleted: {
      const report = scoreReportFromEvent(event.data, timeOf(event) ?? receivedAt);
      const r = await observeGradingResult(deps, event.data.lcmSessionId, {
        completed: report,
        gradingSessionId: event.data.gradingSessionId,
      });
      return r.outcome;
    }
    case INBOUND_EVENT_TYPES.gradingSessionFailed: {
      const r = await observeGradingResult(deps, event.data.lcmSessionId, {
        failed: event.data.error,
        gradingSessionId: event.data.gradingSessionId,
      });
      return r.outcome;
    }
  }
}

/**
 * Handles one EventBridge event carrying an inbound CloudEvent, accepting only `accept` types.
 * Returns what happened; throws only when a retry may help (after releasing the claim).
 */
export async function handleInboundEvent(
  deps: InboundDeps,
  busEvent: BusEvent,
  accept: readonly InboundEventType[],
): Promise<InboundResult> {
  const parsed = parseInboundEvent(busEvent.detail);
  if (!parsed.ok) {
    deps.log?.warn('inbound event rejected: invalid detail', {
      busEventId: busEvent.id,
      reason: parsed.reason,
      issues: parsed.issues,
    });
    return { outcome: 'invalid', source: busEvent.source, type: busEvent['detail-type'] };
  }
  const event = parsed.event;
  // (The envelope attributes are validated strings; the InboundCloudEvent type loses that.)
  const source = event.source as string;
  const id = event.id as string;
  const ref = { source, id, type: event.type, sessionId: event.data.lcmSessionId };
  if (busEvent.source !== source || busEvent['detail-type'] !== event.type) {
    deps.log?.warn('inbound event rejected: envelope and CloudEvent disagree', {
      ...ref,
      busSource: busEvent.source,
      busDetailType: busEvent['detail-type'],
    });
    return { outcome: 'invalid', ...ref };
  }
  if (!accept.includes(event.type)) {
    deps.log?.warn('inbound event ignored: not a type this target handles', { ...ref, accept });
    return { outcome: 'ignored', ...ref };
  }

  const first = await deps.processedEvents.markProcessed(
    source,
    id,
    deps.ttlSeconds ?? PROCESSED_EVENT_TTL_SECONDS,
  );
  if (!first) {
    deps.log?.info('inbound event already processed', ref);
    return { outcome: 'already-processed', ...ref };
  }

  try {
    const outcome = await applyInboundEvent(deps, event, nowIso(deps));
    const log = outcome === 'stale' || outcome === 'mismatch' ? deps.log?.warn : deps.log?.info;
    log?.call(
      deps.log,
      outcome === 'stale'
        ? 'inbound event for a moment already passed: ignored'
        : outcome === 'mismatch'
          ? "inbound event's correlation ids disagree with the session: not applied"
          : 'inbound event applied',
      { ...ref, outcome, ...correlationOf(event) },
    );
    return { outcome, ...ref };
  } catch (e) {
    if (e instanceof NotFoundError) {
      deps.log?.warn('inbound event for an unknown session: ignored', { ...ref, error: e.message });
      return { outcome: 'unknown-session', ...ref };
    }
    if (isDomainError(e) && e.code === 'VALIDATION') {
      deps.log?.error('inbound event cannot be applied: ignored', { ...ref, error: e.message });
      return { outcome: 'invalid', ...ref };
    }
    try {
      await deps.processedEvents.release(source, id);
    } catch (releaseError) {
      deps.log?.error('could not release the processed-event claim; a retry will be skipped', {
        ...ref,
        error: releaseError,
      });
    }
    deps.log?.error('inbound event failed; it will be retried', { ...ref, error: e });
    throw e;
  }
}
