import type { DynamoDBRecord } from 'aws-lambda';
import type { Log } from '../platform/index.ts';
import { outboxEventsFor, withLoginUrls } from './outbox.ts';
import type { EventPublisher } from './publisher.ts';
import { changeRecordOf } from './streams.ts';

/**
 * The outbox publisher's per-record work (functions/streams/outbox.ts wraps it in Powertools'
 * BatchProcessor): map the stream record to CloudEvents (outbox.ts), add login URLs to
 * session.ready, PutEvents. Records are handled in stream order; once one fails, the rest of the
 * batch is failed too without publishing, so events of one item never overtake each other
 * (Lambda resumes the shard at the first failed record; the deterministic ids make the records
 * published before it harmless to publish again).
 */

export interface OutboxDeps {
  publisher: EventPublisher;
  /** The login URL on a session's UserSession, if any. */
  loginUrlOf(sessionId: string): Promise<string | undefined>;
  log?: Log;
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
      const events = outboxEventsFor(changeRecordOf(record));
      if (events.length === 0) return 0;
      const complete = await withLoginUrls(events, (id) => deps.loginUrlOf(id));
      await deps.publisher.publish(complete);
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
