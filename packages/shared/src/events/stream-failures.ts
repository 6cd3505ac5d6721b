import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DynamoDBRecord } from 'aws-lambda';
import { ulid } from 'ulid';
import * as z from 'zod';
import { NotFoundError, ValidationError } from '../kernel/index.ts';

/**
 * Stream records a consumer could not handle after its retries (issue 11, item 5): never dropped,
 * never blocking the shard. The consumer moves past the record and the record goes to the
 * consumer's failure destination:
 *
 * - in AWS, the event source mapping's on-failure SQS queue (`…OutboxConsumerDlq`,
 *   `…TriggersConsumerDlq`, infra/lib/events-stack.ts; alarm `Stream<Consumer>FailureQueueDepth`).
 *   Lambda writes a description of the batch there (shard, first and last sequence number), not
 *   the records: they are read back from the stream (kept 24 hours) to replay them;
 * - locally, a file-backed queue under the state dir (`<stateDir>/stream-failures/<id>.json`,
 *   FileStreamFailureQueue), written by the local stream poller with the records themselves.
 *
 * Replaying hands the records to the same consumer again. The consumers are idempotent (outbox
 * event ids are deterministic, `sessions/<id>/v<version>/…`; the triggers' tasks re-check their
 * request), so a replay of something already applied is harmless. Order: records of the same item
 * that came after the failed one were handled when the consumer moved on, so a replayed outbox
 * event arrives after newer ones of its item; its id and `data` carry the item version it was
 * made from, which is how subscribers order them (docs/integrations.md).
 */

export const StreamFailureStatusSchema = z
  .enum(['PENDING', 'REPLAYED'])
  .describe('PENDING: not replayed yet (or its last replay failed); REPLAYED: a replay was handled.');

export const StreamFailureReplaySchema = z.object({
  at: z.string().describe('When the replay ran (ISO 8601).'),
  by: z.string().describe('Who asked for it.'),
  outcome: z.enum(['HANDLED', 'FAILED']).describe('HANDLED: the consumer handled every record.'),
  error: z.string().optional().describe('Why the replay failed (FAILED only).'),
});

export const StreamFailureSchema = z.object({
  id: z.string().describe('The failure id (time-ordered).'),
  consumer: z.string().describe('The stream consumer that failed (events/streams.ts: outbox, triggers).'),
  shardId: z.string().describe('The stream shard of the records.'),
  startSequenceNumber: z.string().describe('Sequence number of the first failed record.'),
  endSequenceNumber: z.string().describe('Sequence number of the last failed record.'),
  attempts: z.number().int().nonnegative().describe('How often the consumer was given the records.'),
  error: z.string().describe('The last error the consumer reported.'),
  failedAt: z.string().describe('When the consumer gave up and moved on (ISO 8601).'),
  status: StreamFailureStatusSchema,
  recordCount: z.number().int().nonnegative().describe('How many stream records the failure holds.'),
  replays: z.array(StreamFailureReplaySchema).describe('Every replay, oldest first.'),
});
export type StreamFailure = z.infer<typeof StreamFailureSchema>;

/** A failure as kept in the queue: the description and, where known, the records themselves. */
export interface StoredStreamFailure extends StreamFailure {
  /** The stream records in the shape Lambda delivers them (absent: read them back from the stream). */
  records?: DynamoDBRecord[];
}

/** What a replay reads and writes: the failure, and the outcome recorded on it (sync or async). */
export interface StreamFailureLedger {
  get(id: string): StoredStreamFailure | undefined | Promise<StoredStreamFailure | undefined>;
  recordReplay(
    id: string,
    replay: z.infer<typeof StreamFailureReplaySchema>,
  ): StoredStreamFailure | Promise<StoredStreamFailure>;
}

export interface StreamFailureQueue extends StreamFailureLedger {
  add(
    failure: Omit<StreamFailure, 'id' | 'status' | 'replays' | 'recordCount'> & {
      records?: DynamoDBRecord[];
    },
  ): StoredStreamFailure;
  list(): StoredStreamFailure[];
  get(id: string): StoredStreamFailure | undefined;
  recordReplay(id: string, replay: z.infer<typeof StreamFailureReplaySchema>): StoredStreamFailure;
}

/** The public view of a kept failure (without the records' images). */
export const streamFailureView = ({ records: _records, ...failure }: StoredStreamFailure): StreamFailure =>
  failure;

const ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** One JSON file per failure under `dir`, written whole (temp file + rename), listed oldest first. */
export class FileStreamFailureQueue implements StreamFailureQueue {
  constructor(readonly dir: string) {}

  private path(id: string): string {
    if (!ID.test(id)) throw new Error(`not a stream failure id: ${id}`);
    return join(this.dir, `${id}.json`);
  }

  private write(failure: StoredStreamFailure): void {
    mkdirSync(this.dir, { recursive: true });
    const path = this.path(failure.id);
    const temp = `${path}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify(failure, null, 2)}\n`);
    renameSync(temp, path);
  }

  add(
    failure: Omit<StreamFailure, 'id' | 'status' | 'replays' | 'recordCount'> & {
      records?: DynamoDBRecord[];
    },
  ): StoredStreamFailure {
    const stored: StoredStreamFailure = {
      id: ulid(),
      ...failure,
      status: 'PENDING',
      recordCount: failure.records?.length ?? 0,
      replays: [],
    };
    this.write(stored);
    return stored;
  }

  list(): StoredStreamFailure[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    return names
      .filter((n) => n.endsWith('.json') && ID.test(n.slice(0, -5)))
      .sort()
      .map((n) => this.get(n.slice(0, -5)))
      .filter((f): f is StoredStreamFailure => f !== undefined);
  }

  get(id: string): StoredStreamFailure | undefined {
    if (!ID.test(id)) return undefined;
    try {
      return JSON.parse(readFileSync(this.path(id), 'utf8')) as StoredStreamFailure;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  recordReplay(id: string, replay: z.infer<typeof StreamFailureReplaySchema>): StoredStreamFailure {
    const failure = this.get(id);
    if (!failure) throw new Error(`no stream failure ${id}`);
    const updated: StoredStreamFailure = {
      ...failure,
      status: replay.outcome === 'HANDLED' ? 'REPLAYED' : failure.status,
      replays: [...failure.replays, replay],
    };
    this.write(updated);
    return updated;
  }
}

/** What a consumer answered for a batch: the records it could not handle (Lambda's partial batch response). */
export interface ConsumerReply {
  batchItemFailures?: Array<{ itemIdentifier?: string }>;
}

export class StreamFailureReplayError extends Error {
  constructor(
    readonly failure: StoredStreamFailure,
    message: string,
  ) {
    super(message);
    this.name = 'StreamFailureReplayError';
  }
}

/** Why a replay could not even hand the records over: they are gone from the stream (kept 24 hours). */
export class StreamRecordsExpiredError extends Error {
  constructor(
    readonly failure: StoredStreamFailure,
    message: string,
  ) {
    super(message);
    this.name = 'StreamRecordsExpiredError';
  }
}

/**
 * Replays one failure: its records go to `invoke` (the consumer, as Lambda would call it); the
 * outcome is recorded on the failure. A consumer that fails again leaves the failure PENDING and
 * throws StreamFailureReplayError (nothing is lost: it can be replayed again); records the stream
 * no longer holds (AWS: older than 24 hours) are recorded as a FAILED replay and throw
 * StreamRecordsExpiredError (replaying again cannot help). An unknown id is a NotFoundError.
 */
export async function replayStreamFailure(
  deps: {
    queue: StreamFailureLedger;
    /** The records of a failure that does not hold them (AWS: read back from the stream). */
    readRecords?: (failure: StoredStreamFailure) => Promise<DynamoDBRecord[]>;
    invoke: (consumer: string, event: { Records: DynamoDBRecord[] }) => Promise<ConsumerReply | undefined>;
    clock?: () => Date;
  },
  id: string,
  by: string,
): Promise<StoredStreamFailure> {
  const failure = await deps.queue.get(id);
  if (!failure) throw new NotFoundError('StreamFailure', id);
  const at = (deps.clock?.() ?? new Date()).toISOString();
  let error: string | undefined;
  let expired = false;
  try {
    const records = failure.records ?? (await deps.readRecords?.(failure));
    if (!records || records.length === 0) throw new Error('the failure holds no records to replay');
    const reply = await deps.invoke(failure.consumer, { Records: records });
    const failed = reply?.batchItemFailures ?? [];
    if (failed.length > 0) {
      error = `the consumer failed ${failed.length} of ${records.length} records again (${failed
        .map((f) => f.itemIdentifier)
        .join(', ')})`;
    }
  } catch (e) {
    expired = e instanceof StreamRecordsExpiredError;
    error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  }
  const updated = await deps.queue.recordReplay(id, {
    at,
    by,
    outcome: error === undefined ? 'HANDLED' : 'FAILED',
    ...(error === undefined ? {} : { error }),
  });
  if (error !== undefined) {
    throw expired
      ? new StreamRecordsExpiredError(updated, error)
      : new StreamFailureReplayError(updated, error);
  }
  return updated;
}

// --- the operator's port (GET /v1/stream-failures, POST /v1/stream-failures/{id}/replay) --------

export interface StreamFailureListQuery {
  status?: StreamFailureStatus | undefined;
  /** 1..1000 (default 50). */
  limit?: number | undefined;
  cursor?: string | undefined;
}

export type StreamFailureStatus = z.infer<typeof StreamFailureStatusSchema>;

export interface StreamFailurePage {
  items: StreamFailure[];
  nextCursor?: string | undefined;
}

/**
 * What the operator API needs of a deployment's failure destination: list the failures (oldest
 * first) and replay one by id. Locally the file-backed queue and the in-process consumers
 * (localStreamFailureOperations); in AWS the on-failure queues, a table item per failure, the
 * stream and the consumer functions (stream-failures-aws.ts).
 */
export interface StreamFailureOperations {
  list(query: StreamFailureListQuery): Promise<StreamFailurePage>;
  /** Throws NotFoundError, StreamRecordsExpiredError or StreamFailureReplayError. */
  replay(id: string, by: string): Promise<StreamFailure>;
}

export const STREAM_FAILURE_PAGE_DEFAULT = 50;

/** Opaque cursor of a listing by id: base64url of the last id returned. */
export const streamFailureCursor = {
  encode: (lastId: string): string => Buffer.from(`after:${lastId}`, 'utf8').toString('base64url'),
  decode(cursor: string | undefined): string | undefined {
    if (cursor === undefined) return undefined;
    const text = /^[A-Za-z0-9_-]{1,200}$/.test(cursor)
      ? Buffer.from(cursor, 'base64url').toString('utf8')
      : '';
    if (!text.startsWith('after:') || !ID.test(text.slice(6))) {
      throw new ValidationError('cursor', 'invalid cursor (not a cursor of this listing)');
    }
    return text.slice(6);
  },
};

/** One page of failures (already oldest first), filtered by status, after the cursor's id. */
export function pageOfStreamFailures(
  all: readonly StreamFailure[],
  query: StreamFailureListQuery,
): StreamFailurePage {
  const after = streamFailureCursor.decode(query.cursor);
  const limit = query.limit ?? STREAM_FAILURE_PAGE_DEFAULT;
  const matching = all.filter(
    (f) => (query.status === undefined || f.status === query.status) && (after === undefined || f.id > after),
  );
  const items = matching.slice(0, limit);
  return {
    items,
    ...(matching.length > limit ? { nextCursor: streamFailureCursor.encode(items.at(-1)!.id) } : {}),
  };
}

/** The local stack's operations: the file-backed queue, replayed through the poller's consumers. */
export const localStreamFailureOperations = (
  queue: StreamFailureQueue,
  replay: (id: string, by: string) => Promise<StoredStreamFailure>,
): StreamFailureOperations => ({
  list: async (query) => pageOfStreamFailures(queue.list().map(streamFailureView), query),
  async replay(id, by) {
    if (!queue.get(id)) throw new NotFoundError('StreamFailure', id);
    return streamFailureView(await replay(id, by));
  },
});
