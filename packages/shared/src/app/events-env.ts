import type { IngestDeps, OutboxDeps } from '../events/index.ts';
import { eventPublisherFromEnv, partnerRegistryFromEnv } from '../events/index.ts';
import { cachedDeps, createWorkflowEngine, lazy, logger } from '../platform/index.ts';
import type { InboundDeps } from '../sessions/index.ts';
import { INGEST_ENV, OUTBOX_ENV, RULE_TARGET_ENV, sessionEngineEnv } from './env.ts';
import { tableStores } from './stores.ts';

/**
 * What the event handlers share per cold start: the rule targets (functions/events), the outbox
 * stream consumer (functions/streams/outbox.ts) and POST /v1/events (functions/api/events.ts),
 * each from its kind's environment (app/env.ts), built on first use so tests and the local
 * stack can set the environment before the first event.
 */

/** Partner events into the session workflow: sessions, processed events, the workflow engine. */
export const inboundDeps = /* @__PURE__ */ cachedDeps('rule-target', RULE_TARGET_ENV, (env) => {
  const stores = tableStores(env.TABLE_NAME);
  return lazy<InboundDeps>({
    sessions: () => stores().sessions,
    processedEvents: () => stores().processedEvents,
    engine: () => createWorkflowEngine(sessionEngineEnv(env)),
    // No `repair` (waits.ts) yet: the rule targets are not granted the session workflow
    // (StartExecution, DescribeExecution). An event whose token is gone is recorded on the session
    // and applied when the stuck-session sweep re-drives it (the new wait finds the fact).
    log: () => logger,
  });
});

/** The outbox publisher: the bus (EVENT_BUS_NAME); it reads nothing from the table. */
export const outboxDeps = /* @__PURE__ */ cachedDeps('stream-consumer', OUTBOX_ENV, (env) =>
  lazy<OutboxDeps>({
    publisher: () => eventPublisherFromEnv(env),
    log: () => logger,
  }),
);

/** Partners' CloudEvents onto the bus: the partner registry and the publisher. */
export const ingestDeps = /* @__PURE__ */ cachedDeps('api', INGEST_ENV, (env) =>
  lazy<IngestDeps>({
    partners: () => partnerRegistryFromEnv(env),
    publisher: () => eventPublisherFromEnv(env),
    log: () => (message: string, extra: Record<string, unknown>) => logger.warn(message, extra),
  }),
);
