import { ENTITY, TABLE } from '../platform/index.ts';
import type { ChangeRecord } from './outbox.ts';
import type { EventPattern } from './pattern.ts';
import type { StreamConsumer } from './streams.ts';

/**
 * The asynchronous work the table stream starts (functions/streams/triggers.ts): a request is
 * recorded on an item by the API, and the stream hands the item to a task.
 *
 * | item | when | task |
 * |---|---|---|
 * | LATEST definition (`LabletDefinition`) | `sync.status` = PENDING | content sync (catalogue/content/sync.ts) |
 * | `LabletSession` | `observationRequest.status` = PENDING | observation (sessions/observations.ts) |
 *
 * Both tasks claim or re-check the request before doing anything, so a record delivered twice,
 * or a later change of the item while the request is still pending, does the work once.
 */

/** LATEST definition items whose sync was requested (creation with a contentUri, POST .../sync). */
export const CONTENT_SYNC_FILTER: EventPattern = {
  eventName: ['INSERT', 'MODIFY'],
  dynamodb: {
    NewImage: {
      [TABLE.entityAttribute]: { S: [ENTITY.definitionLatest] },
      sync: { M: { status: { S: ['PENDING'] } } },
    },
  },
};

/** Sessions with a pending manual observation request (POST /v1/sessions/{id}/observe). */
export const OBSERVATION_REQUEST_FILTER: EventPattern = {
  eventName: ['MODIFY'],
  dynamodb: {
    NewImage: {
      [TABLE.entityAttribute]: { S: [ENTITY.session] },
      observationRequest: { M: { status: { S: ['PENDING'] } } },
    },
  },
};

export const TRIGGERS_CONSUMER: StreamConsumer = {
  name: 'triggers',
  module: 'functions/streams/triggers.ts',
  filters: [CONTENT_SYNC_FILTER, OBSERVATION_REQUEST_FILTER],
  // Each record is real work (a download, CML calls): small batches, and a failing record is
  // isolated by bisecting rather than holding the others back.
  batchSize: 5,
  maximumBatchingWindowSeconds: 0,
  maximumRetryAttempts: 3,
  bisectBatchOnError: true,
  startingPosition: 'TRIM_HORIZON',
  reportBatchItemFailures: true,
};

/** What a matching record asks for. */
export type TriggeredTask =
  | { kind: 'content-sync'; definitionId: string }
  | { kind: 'observe'; sessionId: string }
  | undefined;

const pendingOf = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && (v as { status?: unknown }).status === 'PENDING';

/** The task a change record triggers (undefined for records the filters would not deliver). */
export function triggeredTask(record: ChangeRecord): TriggeredTask {
  if (record.eventName === 'REMOVE') return undefined;
  const item = record.newImage;
  if (!item || typeof item.id !== 'string') return undefined;
  const entity = item[TABLE.entityAttribute];
  if (entity === ENTITY.definitionLatest && pendingOf(item.sync)) {
    return { kind: 'content-sync', definitionId: item.id };
  }
  if (entity === ENTITY.session && record.eventName === 'MODIFY' && pendingOf(item.observationRequest)) {
    return { kind: 'observe', sessionId: item.id };
  }
  return undefined;
}
