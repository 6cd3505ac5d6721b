import type { DynamoDBRecord } from 'aws-lambda';
import { type Log, type MetricPoint, recordMetrics } from '../platform/index.ts';
import { outboxEventsFor } from './outbox.ts';
import { metricsFor } from './outbox-metrics.ts';
import type { EventPublisher } from './publisher.ts';
import { changeRecordOf } from './streams.ts';

/**
 * The outbox publisher's per-record work (functions/streams/outbox.ts wraps it in Powertools'
 * BatchProcessor): map the stream record to CloudEvents (outbox.ts), PutEvents. It reads nothing
 * from the table: the events carry only what the record holds (no login URL, see outbox.ts). Records are handled in stream order; once one fails, the rest of the
 * batch is failed too without publishing, so events of one item never overtake each other
 * (Lambda resumes the shard at the first failed record; the deterministic ids make the records
 * published before it harmless to publish again). A record's business metrics (outbox-metrics.ts)
 * and its events' OutboxLagSeconds are recorded once its events are published, and printed when
 * the invocation returns (functions/streams/outbox.ts), so a failed record counts nothing.
 */

export interface OutboxDeps {
  publisher: EventPublisher;
  log?: Log;
  /** Now, for OutboxLagSeconds (tests); default the system clock. */
  clock?: () => Date;
}

/** Seconds from the table write (the record's ApproximateCreationDateTime) to now, per event. */
function lagPoints(created: string | undefined, events: number, now: Date): MetricPoint[] {
  const at = created === undefined ? Number.NaN : Date.parse(created);
  if (Number.isNaN(at)) return [];
  const value = Math.max(0, (now.getTime() - at) / 1000);
  return Array.from({ length: events }, () => ({ key: 'outboxLagSeconds' as const, value }));
}

export class EarlierRecordFailedError extends Error {
  constructor(sequenceNumber: string | undefined) {
    super(`not published: an earlier record of this batch failed (kept in order; ${sequenceNumber ?? '?'})`);
    this.name = 'EarlierRecordFailedError';
  }
}

/** A record handler for one batch (it remembers whether a record of this batch failed). */
export function outboxRecordHandler(deps: OutboxDeps): (record: DynamoDBRecord) => Promise<number> {
  let failed = false;
  return async (record) => {
    const sequenceNumber = record.dynamodb?.SequenceNumber;
    if (failed) throw new EarlierRecordFailedError(sequenceNumber);
    try {
      const change = changeRecordOf(record);
      const events = outboxEventsFor(change);
      if (events.length === 0) {
        recordMetrics(metricsFor(change));
        return 0;
      }
      const complete = events;
      await deps.publisher.publish(complete);
      recordMetrics(metricsFor(change));
      recordMetrics(lagPoints(change.approximateCreationTime, complete.length, deps.clock?.() ?? new Date()));
      deps.log?.info('outbox published', {
        sequenceNumber,
        events: complete.map((e) => ({ id: e.id, type: e.type })),
      });
      return complete.length;
    } catch (e) {
      failed = true;
      deps.log?.error('outbox record failed; the shard resumes here', { sequenceNumber, error: e });
      throw e;
    }
  };
}
