import { Logger } from '@aws-lambda-powertools/logger';
import { createStores } from '../app/stores.ts';
import { createDocumentClient } from '../platform/dynamodb/client.ts';
import { workflowEngine } from '../platform/workflow/engine.ts';
import type { InboundDeps } from '../sessions/partner-events.ts';

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
