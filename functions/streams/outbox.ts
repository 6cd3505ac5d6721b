import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { outboxDeps } from '@lcm/shared/app';
import { type OutboxDeps, outboxRecordHandler } from '@lcm/shared/events';
import { logger, publishMetricsAfter, traced } from '@lcm/shared/platform';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';

/**
 * The transactional outbox publisher: table stream (filter: streams.ts OUTBOX_CONSUMER) →
 * one CloudEvent per domain change (outbox.ts) → EventBridge. Powertools BatchProcessor reports
 * the failed records (ReportBatchItemFailures), in order. Environment: TABLE_NAME,
 * EVENT_BUS_NAME. Needs events:PutEvents on the bus; it reads nothing from the table (session.ready
 * carries no login URL).
 */
export function outboxHandler(deps: () => OutboxDeps = outboxDeps) {
  return (
    middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
      .use(injectLambdaContext(logger, { resetKeys: true }))
      // The business metrics of the published changes (events/outbox-metrics.ts), once per batch.
      .use(publishMetricsAfter())
      .handler((event, context) =>
        traced('stream-outbox', () => {
          // One processor per invocation: its state must not be shared by concurrent invocations.
          const processor = new BatchProcessor(EventType.DynamoDBStreams);
          return processPartialResponse(event, outboxRecordHandler(deps()), processor, {
            context,
            processInParallel: false,
            // Every record failed: report them all rather than throw (same retry, clearer logs).
            throwOnFullBatchFailure: false,
          });
        }),
      )
  );
}

export const handler = outboxHandler();
