import { Logger } from '@aws-lambda-powertools/logger';
import type { OutboxDeps } from '../events/index.ts';
import { eventPublisherFromEnv } from '../events/index.ts';
import { NotFoundError } from '../kernel/index.ts';
import { createDocumentClient, workflowEngine } from '../platform/index.ts';
import type { InboundDeps } from '../sessions/index.ts';
import { DynamoSessionStore } from '../sessions/index.ts';
import { createStores } from './stores.ts';

/**
 * What the event and stream handlers (functions/events, functions/streams) share per cold
 * start: the Powertools logger, the stores on TABLE_NAME (AWS_ENDPOINT_URL_DYNAMODB for DynamoDB
 * Local) and the workflow engine chosen by WORKFLOW_ENGINE. Built lazily, so tests and the
 * local stack can set the environment before the first event.
 */

export const eventsLogger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'lcm-events',
});

let cached: { key: string; deps: InboundDeps } | undefined;

export function inboundDepsFromEnv(): InboundDeps {
  const tableName = process.env.TABLE_NAME;
  if (!tableName) throw new Error('TABLE_NAME is not set');
  const key = `${tableName}@${process.env.AWS_ENDPOINT_URL_DYNAMODB ?? ''}@${process.env.WORKFLOW_ENGINE ?? ''}`;
  if (cached?.key === key) return cached.deps;
  const cfg = { client: createDocumentClient(), tableName };
  const stores = createStores(cfg);
  const deps: InboundDeps = {
    sessions: stores.sessions,
    processedEvents: stores.processedEvents,
    engine: workflowEngine(),
    log: eventsLogger,
  };
  cached = { key, deps };
  return deps;
}

let outboxCached: { key: string; deps: OutboxDeps } | undefined;

/** EVENT_BUS_NAME, TABLE_NAME (+ the SDK endpoints) from the environment, once per cold start. */
export function outboxDepsFromEnv(): OutboxDeps {
  const tableName = process.env.TABLE_NAME;
  if (!tableName) throw new Error('TABLE_NAME is not set');
  const key = [
    tableName,
    process.env.EVENT_BUS_NAME,
    process.env.AWS_ENDPOINT_URL_DYNAMODB,
    process.env.AWS_ENDPOINT_URL_EVENTBRIDGE,
  ].join('@');
  if (outboxCached?.key === key) return outboxCached.deps;
  const sessions = new DynamoSessionStore({ client: createDocumentClient(), tableName });
  const deps: OutboxDeps = {
    publisher: eventPublisherFromEnv(),
    loginUrlOf: async (sessionId) => {
      try {
        return (await sessions.get(sessionId)).userSession?.loginUrl;
      } catch (e) {
        if (e instanceof NotFoundError) return undefined;
        throw e;
      }
    },
    log: eventsLogger,
  };
  outboxCached = { key, deps };
  return deps;
}
