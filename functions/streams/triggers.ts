import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { contentSyncDeps, observeDeps, performContentSync, performObservation } from '@lcm/shared/app';
import type { ContentSyncDeps } from '@lcm/shared/catalogue';
import { changeRecordOf, triggeredTask } from '@lcm/shared/events';
import { traced } from '@lcm/shared/platform';
import type { ObserveDeps } from '@lcm/shared/sessions';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

/**
 * Stream-triggered work (consumer TRIGGERS_CONSUMER in packages/shared/src/events/triggers.ts:
 * filters, batch and retry settings): a definition whose sync is PENDING gets its content
 * synced, a session with a PENDING observation request gets observed. Each record is one task,
 * in stream order; a task that throws fails its record (Powertools BatchProcessor reports it,
 * Lambda retries from there). Package problems and unreachable labs are outcomes recorded on the
 * item, not errors, so only infrastructure failures are retried.
 */

export interface TriggerDeps {
  contentSync?: () => ContentSyncDeps;
  observe?: () => ObserveDeps;
}

export type TriggerOutcome = Awaited<
  ReturnType<typeof performContentSync | typeof performObservation>
> | null;

/** The work of one stream record (null when it asks for nothing). */
export function triggerRecordHandler(
  deps: TriggerDeps = {},
): (record: DynamoDBRecord) => Promise<TriggerOutcome> {
  return async (record) => {
    const task = triggeredTask(changeRecordOf(record));
    if (!task) return null;
    if (task.kind === 'content-sync') {
      return performContentSync((deps.contentSync ?? contentSyncDeps)(), task.definitionId);
    }
    return performObservation((deps.observe ?? observeDeps)(), task.sessionId);
  };
}

export function triggersHandler(deps: TriggerDeps = {}) {
  return (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> =>
    traced('stream-triggers', () => {
      // One processor per invocation: its state must not be shared by concurrent invocations.
      const processor = new BatchProcessor(EventType.DynamoDBStreams);
      return processPartialResponse(event, triggerRecordHandler(deps), processor, {
        context,
        processInParallel: false,
      });
    });
}

export const handler = triggersHandler();
