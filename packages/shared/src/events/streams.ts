import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { TABLE } from '../platform/index.ts';
import { type ChangeRecord, type Item, OUTBOX_ENTITIES } from './outbox.ts';
import type { EventPattern } from './pattern.ts';
import { TRIGGERS_CONSUMER } from './triggers.ts';

/**
 * The table-stream consumers, defined once: the CDK creates one DynamoDB event source mapping
 * per entry (filter criteria from `filters`, ReportBatchItemFailures, the batch and retry
 * settings below), and the local stream poller (packages/sandbox/src/streams) feeds the same
 * handler modules through the same filters. Filters use Lambda's event-filtering syntax, i.e.
 * EventBridge patterns over the stream record (pattern.ts).
 */

export interface StreamConsumer {
  readonly name: string;
  /** Lambda entry module relative to the repository root, exporting `handler`. */
  readonly module: string;
  /** Records matching any filter are delivered (Lambda FilterCriteria: OR of filters). */
  readonly filters: readonly EventPattern[];
  readonly batchSize: number;
  readonly maximumBatchingWindowSeconds: number;
  /** After this many retries of a failing record, it is skipped (and sent to the on-failure destination). */
  readonly maximumRetryAttempts: number;
  readonly bisectBatchOnError: boolean;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  /** The handler returns `{ batchItemFailures }` (Powertools BatchProcessor). */
  readonly reportBatchItemFailures: true;
}

/** The outbox publisher: inserts and modifications of the entities it maps (outbox.ts). */
export const OUTBOX_STREAM_FILTER: EventPattern = {
  eventName: ['INSERT', 'MODIFY'],
  dynamodb: { NewImage: { [TABLE.entityAttribute]: { S: [...OUTBOX_ENTITIES] } } },
};

export const OUTBOX_CONSUMER: StreamConsumer = {
  name: 'outbox',
  module: 'functions/streams/outbox.ts',
  filters: [OUTBOX_STREAM_FILTER],
  batchSize: 100,
  maximumBatchingWindowSeconds: 0,
  maximumRetryAttempts: 10,
  // A failed record is reported (batchItemFailures) and the shard resumes there, in order. A batch
  // that fails as a whole (a crash, a timeout) is halved until the record that causes it is alone,
  // so only that record, not its 99 neighbours, goes to the on-failure queue after the retries.
  bisectBatchOnError: true,
  startingPosition: 'TRIM_HORIZON',
  reportBatchItemFailures: true,
};

/** Every consumer of the table stream: the outbox, and the async tasks (content sync, manual observation). */
export const STREAM_CONSUMERS: readonly StreamConsumer[] = [OUTBOX_CONSUMER, TRIGGERS_CONSUMER];

/** Lambda's FilterCriteria (CreateEventSourceMapping / CfnEventSourceMapping). */
export const filterCriteriaOf = (consumer: Pick<StreamConsumer, 'filters'>) => ({
  Filters: consumer.filters.map((p) => ({ Pattern: JSON.stringify(p) })),
});

/** A Lambda DynamoDB stream record as the outbox mapper takes it (images unmarshalled). */
export function changeRecordOf(record: DynamoDBRecord): ChangeRecord {
  const ddb = record.dynamodb ?? {};
  const image = (i: unknown): Item | undefined =>
    i ? (unmarshall(i as Record<string, AttributeValue>) as Item) : undefined;
  const created = ddb.ApproximateCreationDateTime;
  return {
    eventName: (record.eventName ?? 'MODIFY') as ChangeRecord['eventName'],
    keys: image(ddb.Keys) ?? {},
    oldImage: image(ddb.OldImage),
    newImage: image(ddb.NewImage),
    // Seconds since the epoch (Lambda); DynamoDB Local may send milliseconds.
    approximateCreationTime:
      created === undefined ? undefined : new Date(created > 1e11 ? created : created * 1000).toISOString(),
  };
}
